"""Read-change-write of one order under optimistic concurrency: the one retry loop the fulfilment services share."""

from __future__ import annotations

from collections.abc import Callable

from ocp.domain.errors import ConcurrentModification, OrderNotFound
from ocp.domain.order import Order
from ocp.ports import OrderStore

WRITE_ATTEMPTS = 3


def update_order(
    orders: OrderStore, order_id: str, change: Callable[[Order], Order | None], attempts: int = WRITE_ATTEMPTS
) -> tuple[Order, bool]:
    """Apply `change` to the stored order and store the result on the revision it read; on a concurrent write,
    re-read and apply again. `change` returns the next revision, or None when there is nothing to write.

    Returns the order as stored and whether this call wrote it. `OrderNotFound` for an unknown id;
    `ConcurrentModification` when the order kept changing (the caller's retry — SQS, the client — takes over).
    """
    for _ in range(attempts):
        current = orders.get(order_id)
        if current is None:
            raise OrderNotFound(f"no order {order_id!r}")
        changed = change(current)
        if changed is None:
            return current, False
        try:
            orders.replace(changed, expected_revision=current.revision)
            return changed, True
        except ConcurrentModification:
            continue
    raise ConcurrentModification(f"order {order_id} kept changing; try again")
