"""Read-change-write of one order under optimistic concurrency: the one retry loop the fulfilment services share.

Every write goes through the inventory commit (`status_change_commit`), so a status change carries its stock
effect in the same transaction: an order that ships (or is delivered) takes its reserved units off `on_hand` and
`reserved` together; an order the warehouse cancels puts them back on sale; anything else writes the order alone.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from ocp.domain.errors import ConcurrentModification, OrderNotFound
from ocp.domain.inventory.planning import status_change_commit
from ocp.domain.order.model import Order
from ocp.ports import TransactionalOrderStore

WRITE_ATTEMPTS = 3


def update_order(
    orders: TransactionalOrderStore,
    order_id: str,
    change: Callable[[Order], Order | None],
    *,
    actor: str,
    at: datetime,
    attempts: int = WRITE_ATTEMPTS,
) -> tuple[Order, bool]:
    """Apply `change` to the stored order and commit the result, with its stock effect, on the revision it read;
    on a concurrent write, re-read and apply again. `change` returns the next revision, or None when there is
    nothing to write. `actor` and `at` go on the stock ledger entries a shipment or release writes.

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
        commit = status_change_commit(current, changed, actor=actor, at=at)
        if not commit.movements and not commit.counters:
            # No stock moves: one conditional put (a transaction would cost twice the write capacity).
            try:
                return orders.replace(commit.order, expected_revision=current.revision), True
            except ConcurrentModification:
                continue
        rejected = orders.commit(commit)
        if rejected is None:
            return commit.order, True
        if not rejected.order_conflict:
            # Shipping or releasing never checks availability; a stock item that vanished is a bug to surface.
            raise ConcurrentModification(f"order {order_id}: stock commit refused: {rejected}")
    raise ConcurrentModification(f"order {order_id} kept changing; try again")
