"""In-memory twin of the order store; `tests/contracts` holds it to the DynamoDB adapter's behaviour."""

from __future__ import annotations

from datetime import datetime

from ocp.adapters.memory.inventory import MemoryInventory
from ocp.domain.errors import ConcurrentModification, OrderExists
from ocp.domain.inventory.commit import CommitRejected, OrderCommit
from ocp.domain.inventory.reservation import ReservationState
from ocp.domain.order.model import Order, OrderStatus


class MemoryOrderStore:
    def __init__(self, inventory: MemoryInventory | None = None) -> None:
        self._orders: dict[str, Order] = {}
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
