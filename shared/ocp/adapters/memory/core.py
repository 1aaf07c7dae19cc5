"""In-memory twins of the ports, for fast tests; `tests/contracts` holds them to the boto3 adapters' behaviour."""

from __future__ import annotations

import threading
from datetime import datetime

from ocp.adapters.memory.inventory import MemoryInventory
from ocp.channels.base import ChannelApi, ChannelCredentials
from ocp.domain.errors import ChannelNotConfigured, ConcurrentModification, OrderExists
from ocp.domain.inventory.commit import CommitRejected, OrderCommit
from ocp.domain.inventory.reservation import ReservationState
from ocp.domain.order.model import Order, OrderStatus
from ocp.ports import InboxMessage, PollCursor, QuarantineRecord


class MemoryOrderStore:
    def __init__(self, inventory: MemoryInventory | None = None) -> None:
        self._orders: dict[str, Order] = {}
        # Inventory (issue #4): one lock with the stock twin, so `commit` is atomic across both.
        self.inventory = inventory or MemoryInventory()
        self._lock = self.inventory.lock

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

    def commit(self, change: OrderCommit) -> CommitRejected | None:
        return self.inventory.commit_order(self, change)

    def ids(self) -> list[str]:
        return list(self._orders)

    def put_unchecked(self, order: Order) -> None:
        with self._lock:
            self._orders[order.order_id] = order

    def expired_reservations(self, now: datetime, limit: int) -> list[str]:
        expired = [
            (o.reservation.expires_at, o.order_id) for o in list(self._orders.values())
            if o.reservation and o.reservation.state == ReservationState.active and o.reservation.expires_at
            and o.reservation.expires_at <= now and o.status == OrderStatus.pending_payment
        ]
        return [order_id for _, order_id in sorted(expired)[:limit]]


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


# ---- channels (issue #3) ---------------------------------------------------------------------------------


class MemoryCursorStore:
    def __init__(self) -> None:
        self.cursors: dict[str, PollCursor] = {}
        self._lock = threading.Lock()

    def get(self, channel: str) -> PollCursor | None:
        return self.cursors.get(channel)

    def put(self, cursor: PollCursor, expected_version: int) -> None:
        with self._lock:
            current = self.cursors.get(cursor.channel)
            if (current.version if current else 0) != expected_version:
                raise ConcurrentModification(f"poll cursor of {cursor.channel} moved since version {expected_version}")
            self.cursors[cursor.channel] = cursor


class StaticChannelApis:
    """Hands out the given API clients; any other channel is not configured."""

    def __init__(self, by_channel: dict[str, ChannelApi]) -> None:
        self._by_channel = by_channel

    def api(self, channel: str) -> ChannelApi:
        if channel not in self._by_channel:
            raise ChannelNotConfigured(f"no API configured for channel {channel!r}")
        return self._by_channel[channel]
