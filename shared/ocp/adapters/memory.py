"""In-memory twins of the ports, for fast tests; `tests/contracts` holds them to the boto3 adapters' behaviour."""

from __future__ import annotations

import threading

from ocp.channels.base import ChannelCredentials
from ocp.domain.errors import ChannelNotConfigured, ConcurrentModification, OrderExists
from ocp.domain.order import Order
from ocp.ports import InboxMessage, QuarantineRecord


class MemoryOrderStore:
    def __init__(self) -> None:
        self._orders: dict[str, Order] = {}
        self._lock = threading.Lock()

    def get(self, order_id: str) -> Order | None:
        return self._orders.get(order_id)

    def find_by_channel_order(self, channel: str, channel_order_id: str) -> Order | None:
        return next(
            (o for o in self._orders.values()
             if o.channel.value == channel and o.channel_order_id == channel_order_id),
            None,
        )

    def create(self, order: Order) -> None:
        with self._lock:
            if order.order_id in self._orders:
                raise OrderExists(f"order {order.order_id} exists")
            self._orders[order.order_id] = order

    def replace(self, order: Order, expected_revision: int) -> None:
        with self._lock:
            current = self._orders.get(order.order_id)
            if current is None or current.revision != expected_revision:
                raise ConcurrentModification(f"order {order.order_id} changed since revision {expected_revision}")
            self._orders[order.order_id] = order


class MemoryRawArchive:
    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}

    def put(self, key: str, content: bytes) -> None:
        self.objects[key] = content

    def get(self, key: str) -> bytes:
        return self.objects[key]


class MemoryInbox:
    def __init__(self) -> None:
        self.messages: list[InboxMessage] = []

    def send(self, message: InboxMessage) -> None:
        self.messages.append(message)


class MemoryQuarantine:
    def __init__(self) -> None:
        self.records: dict[str, QuarantineRecord] = {}

    def put(self, record: QuarantineRecord) -> None:
        self.records[record.quarantine_id] = record


class StaticCredentials:
    def __init__(self, by_channel: dict[str, ChannelCredentials]) -> None:
        self._by_channel = by_channel

    def credentials(self, channel: str) -> ChannelCredentials:
        if channel not in self._by_channel:
            raise ChannelNotConfigured(f"no signing secret configured for channel {channel!r}")
        return self._by_channel[channel]
