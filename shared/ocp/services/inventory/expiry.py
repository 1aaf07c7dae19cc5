"""The sweeper's work on orders: unpaid pre-reservations past their expiry are released, and chunked stock changes a
dead process left half-written are finished or undone first. Kept out of `ocp.services.inventory.stock` so its
stock-only use cases (WMS pushes, the board, the signals) load no order model."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, NamedTuple, Protocol

from ocp.domain.errors import ConcurrentModification
from ocp.domain.inventory.books import within_books
from ocp.domain.inventory.commit import CommitRejected
from ocp.domain.inventory.movements import MovementKind
from ocp.domain.inventory.planning import end_commit, holds_stock
from ocp.domain.inventory.stock import StockContention
from ocp.domain.order.model import Order, OrderStatus
from ocp.services.inventory.chunked import abandoned, commit_any_size, settle

if TYPE_CHECKING:
    from ocp.ports import TransactionalOrderStore


class ExpiringOrders(Protocol):
    def expired_reservations(self, now: datetime, limit: int) -> list[str]:
        """Ids of orders whose unpaid pre-reservation expired at or before `now`, or whose chunked stock change
        was abandoned by then, oldest first."""


class OrderStockDeps(NamedTuple):
    orders: TransactionalOrderStore
    now: Callable[[], datetime]


@dataclass
class SweepReport:
    released: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    rebalanced: int = 0
    settled: list[str] = field(default_factory=list)
    """Orders whose chunked stock change a dead process left half-written, finished or undone."""


def release_expired(index: ExpiringOrders, deps: OrderStockDeps, limit: int = 500) -> SweepReport:
    """Release unpaid reservations past their expiry; first, finish or undo any chunked stock change a dead
    process left (the same index lists them `INTENT_GRACE` after they started)."""
    report = SweepReport()
    now = deps.now()
    for order_id in index.expired_reservations(now, limit):
        order = deps.orders.get(order_id)
        if order is not None and abandoned(order, now):
            try:
                order = settle(deps.orders, order_id, now, actor="reservation_sweeper")
            except (ConcurrentModification, StockContention):
                report.skipped.append(order_id)  # the next sweep tries again
                continue
            report.settled.append(order_id)
        reservation = order.reservation if order else None
        if (order is None or reservation is None or not holds_stock(order) or reservation.expires_at is None
                or reservation.expires_at > now or order.status != OrderStatus.pending_payment):
            report.skipped.append(order_id)
            continue
        minutes = int((reservation.expires_at - reservation.reserved_at).total_seconds() // 60)
        change = end_commit(order, order, MovementKind.release,
                            actor="reservation_sweeper", reason=f"unpaid after {minutes} min: stock released", at=now)
        outcome = commit_any_size(deps.orders, change, now, base=order)
        if isinstance(outcome, CommitRejected) and outcome.refused and not outcome.order_conflict:
            # Books already short of what it holds: release what is there and say so, rather than retry forever.
            outcome = commit_any_size(deps.orders, within_books(change, outcome.refused, now), now, base=order)
        (report.released if isinstance(outcome, Order) else report.skipped).append(order_id)
    return report
