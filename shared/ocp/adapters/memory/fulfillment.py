"""In-memory twins of the fulfilment ports; `tests/contracts` holds them to the boto3 adapters' behaviour."""

from __future__ import annotations

import heapq
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from ocp.adapters.memory.orders import MemoryOrderStore
from ocp.domain.clock import iso
from ocp.domain.errors import ChannelApiRejected, ChannelApiUnavailable
from ocp.domain.fulfillment.stuck import OrderSummary
from ocp.domain.fulfillment.writeback import WritebackRejected, WritebackUnavailable
from ocp.domain.order.model import Channel, Order, OrderStatus
from ocp.domain.order.views import ChannelOrderView

if TYPE_CHECKING:
    from ocp.domain.fulfillment.dispatch import DispatchRequest, WarehouseInstruction, WmsRejected, WmsUnavailable


def summary(order: Order) -> OrderSummary:
    return OrderSummary(order_id=order.order_id, channel=order.channel.value, status=order.status,
                        status_since=order.status_since, warehouse=order.warehouse,
                        writeback_pending_since=order.writeback_pending_since)


class MemoryFulfillmentOrders(MemoryOrderStore):
    """The order store twin that also answers `OrderQueries` (times compared as stored: ISO text, seconds)."""

    def in_status(self, status: OrderStatus, until: datetime) -> Iterator[OrderSummary]:
        found = [o for o in list(self._orders.values())
                 if o.status == status and iso(o.status_since) <= iso(until)]
        return iter([summary(o) for o in sorted(found, key=lambda o: iso(o.status_since))])

    def in_status_after(self, status: OrderStatus, after: tuple[datetime, str] | None) -> Iterator[OrderSummary]:
        start = (iso(after[0]), after[1]) if after else None
        found = sorted((o for o in list(self._orders.values()) if o.status == status),
                       key=lambda o: (iso(o.status_since), o.order_id))
        return iter([summary(o) for o in found if start is None or (iso(o.status_since), o.order_id) > start])

    def writeback_pending(self, until: datetime) -> Iterator[OrderSummary]:
        def channel(name: Channel) -> list[OrderSummary]:
            found = [o for o in list(self._orders.values()) if o.channel == name and o.writeback_pending_since
                     and iso(o.writeback_pending_since) <= iso(until)]
            return [summary(o) for o in sorted(found, key=lambda o: iso(o.writeback_pending_since or until))]

        return heapq.merge(*(channel(c) for c in Channel), key=lambda s: (s.writeback_pending_since, s.order_id))


class MemoryWms:
    """Records what was handed over; `fail_with` makes the next sends raise (transient or for good)."""

    def __init__(self) -> None:
        self.sent: list[WarehouseInstruction] = []
        self.fail_with: WmsUnavailable | WmsRejected | None = None

    def send(self, instruction: WarehouseInstruction) -> str:
        if self.fail_with is not None:
            raise self.fail_with
        self.sent.append(instruction)
        return f"memory #{len(self.sent)}"


class MemoryDispatchQueue:
    def __init__(self) -> None:
        self.requests: list[DispatchRequest] = []

    def send(self, requests: Sequence[DispatchRequest]) -> None:
        self.requests.extend(requests)


class MemoryWatchdogState:
    def __init__(self) -> None:
        self.saved: dict[str, tuple[dict[str, int], datetime]] = {}

    def last_counts(self, check: str) -> dict[str, int]:
        return dict(self.saved[check][0]) if check in self.saved else {}

    def save_counts(self, check: str, counts: Mapping[str, int], at: datetime) -> None:
        self.saved[check] = (dict(counts), at)


class MemoryWritebackQueue:
    def __init__(self) -> None:
        self.order_ids: list[str] = []

    def send(self, order_ids: Sequence[str]) -> None:
        self.order_ids.extend(order_ids)


class MemoryCheckpoints:
    def __init__(self) -> None:
        self.saved: dict[str, tuple[dict[str, str], datetime]] = {}

    def get(self, name: str) -> dict[str, str]:
        return dict(self.saved[name][0]) if name in self.saved else {}

    def put(self, name: str, positions: Mapping[str, str], at: datetime) -> None:
        self.saved[name] = (dict(positions), at)


class ScriptedChannelOrders:
    """A channel whose orders have the statuses given; unknown ones are not found (`ChannelApiRejected`).
    `down` channels answer `ChannelApiUnavailable`; `calls` records every lookup."""

    def __init__(self, statuses: Mapping[tuple[str, str], OrderStatus] | None = None,
                 down: Sequence[str] = ()) -> None:
        self.statuses = dict(statuses or {})
        self.down = set(down)
        self.calls: list[tuple[str, str]] = []

    def view(self, channel: str, channel_order_id: str) -> ChannelOrderView:
        self.calls.append((channel, channel_order_id))
        if channel in self.down:
            raise ChannelApiUnavailable(f"{channel} API timed out")
        status = self.statuses.get((channel, channel_order_id))
        if status is None:
            raise ChannelApiRejected(f"{channel} has no order {channel_order_id}")
        return ChannelOrderView(status=status, channel_status=f"{channel}:{status.value}")


class ScriptedWriteback:
    """A channel that answers from a script: per tracking number, a list of outcomes consumed in order
    ("ok", "unavailable", "rejected"); "ok" once the script runs out."""

    def __init__(self, script: Mapping[str, Sequence[str]] | None = None) -> None:
        self._script = {k: list(v) for k, v in (script or {}).items()}
        self.confirmed: list[tuple[str, str, str]] = []

    def confirm_shipment(self, order: Order, tracking_no: str, carrier: str) -> None:
        answers = self._script.get(tracking_no) or ["ok"]
        answer = answers.pop(0) if len(answers) > 1 else answers[0]
        if answer == "unavailable":
            raise WritebackUnavailable(f"{order.channel.value} API timed out")
        if answer == "rejected":
            raise WritebackRejected(f"{order.channel.value} says order {order.channel_order_id} is closed")
        self.confirmed.append((order.order_id, tracking_no, carrier))
