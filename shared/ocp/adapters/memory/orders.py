"""In-memory twin of the order store; `tests/contracts` holds it to the DynamoDB adapter's behaviour."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from ocp.adapters.memory.inventory import MemoryInventory
from ocp.domain.errors import ConcurrentModification, OrderExists
from ocp.domain.inventory.chunks import intent_deadline
from ocp.domain.inventory.reservation import ReservationState
from ocp.domain.inventory.stock import MAX_TRANSACTION_ITEMS
from ocp.domain.order.model import Order, OrderStatus

if TYPE_CHECKING:
    from ocp.domain.inventory.commit import CommitRejected, OrderCommit


class MemoryOrderStore:
    def __init__(self, inventory: MemoryInventory | None = None,
                 transaction_items: int = MAX_TRANSACTION_ITEMS) -> None:
        self._orders: dict[str, Order] = {}
        self.transaction_items = transaction_items
        # Inventory: one lock with the stock twin, so `commit` is atomic across both.
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

    def replace(self, order: Order, expected_revision: int) -> Order:
        stored = order.model_copy(update={"revision": expected_revision + 1})
        with self._lock:
            current = self._orders.get(order.order_id)
            if current is None or current.revision != expected_revision:
                raise ConcurrentModification(f"order {order.order_id} changed since revision {expected_revision}")
            self._orders[order.order_id] = stored
        return stored

    def commit(self, change: OrderCommit) -> CommitRejected | None:
        return self.inventory.commit_order(self, change)

    def recorded(self, entry_ids: Sequence[str]) -> set[str]:
        return self.inventory.recorded(entry_ids)

    def ids(self) -> list[str]:
        return list(self._orders)

    def put_unchecked(self, order: Order) -> None:
        with self._lock:
            self._orders[order.order_id] = order

    def expired_reservations(self, now: datetime, limit: int) -> list[str]:
        expired = [(due, o.order_id) for o in list(self._orders.values())
                   if (due := _sweep_due(o)) is not None and due <= now]
        return [order_id for _, order_id in sorted(expired)[:limit]]


def _sweep_due(order: Order) -> datetime | None:
    """As the DynamoDB index keys it: an unpaid reservation's expiry, or an abandoned chunked change's deadline."""
    reservation = order.reservation
    expiry = (reservation.expires_at if reservation and reservation.state == ReservationState.active
              and order.status == OrderStatus.pending_payment else None)
    due = [moment for moment in (expiry, intent_deadline(order)) if moment is not None]
    return min(due) if due else None
