"""In-memory twin of the merged parcels' port; `tests/contracts` holds it to the DynamoDB adapter's behaviour
(times compared as stored: ISO text, seconds)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from ocp.domain.clock import iso
from ocp.domain.fulfillment.merge_window import merge_due, waiting_key

if TYPE_CHECKING:
    from ocp.adapters.memory.orders import MemoryOrderStore
    from ocp.domain.order.model import Order


class MemoryMergeGroups:
    def __init__(self, orders: MemoryOrderStore) -> None:
        self._orders = orders

    def due(self, until: datetime, limit: int) -> list[str]:
        found = sorted((iso(d), o.order_id) for o in self._all() if (d := merge_due(o)) is not None
                       and iso(d) <= iso(until))
        return [order_id for _, order_id in found[:limit]]

    def waiting_with(self, key: str, limit: int) -> list[str]:
        found = sorted((iso(d), o.order_id) for o in self._all() if waiting_key(o) == key
                       and (d := merge_due(o)) is not None)
        return [order_id for _, order_id in found[:limit]]

    def claim(self, changes: Sequence[tuple[Order, int]]) -> bool:
        with self._orders.inventory.lock:  # one lock stands for the transaction's isolation
            for order, expected in changes:
                current = self._orders.get(order.order_id)
                if current is None or current.revision != expected:
                    return False
            for order, expected in changes:
                self._orders.put_unchecked(order.model_copy(update={"revision": expected + 1}))
        return True

    def _all(self) -> list[Order]:
        return [o for o in (self._orders.get(i) for i in self._orders.ids()) if o is not None]
