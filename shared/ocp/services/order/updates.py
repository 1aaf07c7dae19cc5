"""Read-change-write of one order under optimistic concurrency: the one retry loop the fulfilment services share.

Every write goes through the inventory commit (`status_change_commit`), so a status change carries its stock
effect in the same transaction: an order that ships (or is delivered) takes its reserved units off `on_hand` and
`reserved` together; an order the warehouse cancels puts them back on sale; anything else writes the order alone.

Given the stock's count times (`counts`), a shipment first reads when each (warehouse, SKU) was last counted
by a WMS push (one read): units that left by then only give back their reservation, and a push landing before
the write makes it read again. A release or shipment the stock books refuse (it would take on_hand or reserved
below zero) is cut to what the shards hold and named on the order's timeline (`stock_books_refused`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from ocp.domain.errors import ConcurrentModification, OrderNotFound
from ocp.domain.inventory.books import within_books
from ocp.domain.inventory.planning import leaving_keys, status_change_commit
from ocp.domain.order.model import Order
from ocp.services.access.attribution import stamp_commit
from ocp.services.inventory.chunked import Undone, commit_any_size

if TYPE_CHECKING:
    from ocp.domain.inventory.commit import OrderCommit
    from ocp.ports import CountTimes, TransactionalOrderStore

WRITE_ATTEMPTS = 3
"""Reads of an order a concurrent writer moved on before a read-modify-write gives up: every service that rewrites
an order retries this many times."""


def update_order(
    orders: TransactionalOrderStore,
    order_id: str,
    change: Callable[[Order], Order | None],
    *,
    actor: str,
    at: datetime,
    attempts: int = WRITE_ATTEMPTS,
    counts: CountTimes | None = None,
    read: Order | None = None,
) -> tuple[Order, bool]:
    """Apply `change` to the stored order and commit the result, with its stock effect, on the revision it read;
    on a concurrent write, re-read and apply again. `change` returns the next revision, or None when there is
    nothing to write. `actor` and `at` go on the stock ledger entries a shipment or release writes.

    Returns the order as stored and whether this call wrote it. `OrderNotFound` for an unknown id;
    `ConcurrentModification` when the order kept changing (the caller's retry — SQS, the client — takes over).
    `read`: the order as the caller just read it, used for the first attempt instead of reading it again.
    """
    for attempt in range(attempts):
        current = read if attempt == 0 and read is not None else orders.get(order_id)
        if current is None:
            raise OrderNotFound(f"no order {order_id!r}")
        changed = change(current)
        if changed is None:
            return current, False
        commit = _commit_for(current, changed, actor=actor, at=at, counts=counts)
        # The API call's principal (if any) on the timeline and ledger entries this change adds.
        commit = stamp_commit(current, commit)
        if not commit.movements and not commit.counters:
            # No stock moves: one conditional put (a transaction would cost twice the write capacity).
            try:
                return orders.replace(commit.order, expected_revision=current.revision), True
            except ConcurrentModification:
                continue
        outcome = commit_any_size(orders, commit, at, base=current)  # chunked when too large for one transaction
        if isinstance(outcome, Order):
            return outcome, True
        if isinstance(outcome, Undone):  # pragma: no cover - only reservations are undone
            raise ConcurrentModification(f"order {order_id}: stock commit undone: {outcome.rejected}")
        rejected = outcome
        if rejected.order_conflict or rejected.stale_count:
            continue
        if not rejected.refused:
            raise ConcurrentModification(f"order {order_id}: stock commit refused: {rejected}")
        # The parcel left whatever the books say: record it, moving only what the shards hold, and say so.
        cut = within_books(commit, rejected.refused, at)
        if orders.commit(cut) is None:
            return cut.order, True
    raise ConcurrentModification(f"order {order_id} kept changing; try again")


def _commit_for(current: Order, changed: Order, *, actor: str, at: datetime,
                counts: CountTimes | None) -> OrderCommit:
    leaving = leaving_keys(changed)  # a split order's: only the warehouses whose parcel ships now
    if counts is None or not leaving:
        return status_change_commit(current, changed, actor=actor, at=at)
    read = counts.count_times(leaving)
    return status_change_commit(current, changed, actor=actor, at=at, counts=read)
