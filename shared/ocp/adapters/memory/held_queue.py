"""In-memory twin of the held queue's reads; `tests/contracts` holds them to the DynamoDB
adapters' behaviour (times compared as stored: ISO text, seconds)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING

from ocp.domain.clock import iso
from ocp.domain.operations.held_queue import release_due
from ocp.domain.order.views import OrderPage

if TYPE_CHECKING:
    from ocp.adapters.memory.orders import MemoryOrderStore
    from ocp.domain.order.model import HoldReason, Order, OrderStatus


class MemoryHeldQueue:
    """The held queue's reads over a `MemoryOrderStore`."""

    def __init__(self, orders: MemoryOrderStore) -> None:
        self._orders = orders

    def page(self, status: OrderStatus, reason: HoldReason | None, limit: int,
             start: Mapping[str, str] | None = None) -> OrderPage:
        found = sorted((o for o in self._all() if o.status == status), key=_position)
        if reason is not None:
            found = [o for o in found if any(h.reason == reason for h in o.holds)]
        if start:
            after = (start.get("status_since", ""), start.get("order_id", ""))
            found = [o for o in found if _position(o) > after]
        taken = found[:limit]
        if len(found) <= limit or not taken:
            return OrderPage(orders=taken)
        last = taken[-1]
        return OrderPage(orders=taken, last_key={"order_id": last.order_id, "status": status.value,
                                                 "status_since": iso(last.status_since)})

    def release_due(self, until: datetime, limit: int) -> list[str]:
        due = sorted((iso(d), o.order_id) for o in self._all() if (d := release_due(o)) is not None
                     and iso(d) <= iso(until))
        return [order_id for _, order_id in due[:limit]]

    def _all(self) -> list[Order]:
        return [o for o in (self._orders.get(i) for i in self._orders.ids()) if o is not None]


def _position(order: Order) -> tuple[str, str]:
    return iso(order.status_since), order.order_id
