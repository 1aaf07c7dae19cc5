"""Orders held for stock alone, retried when stock of a SKU they need arrives.

The stock table's stream tells `stock_events` which SKUs gained available units (a WMS push, a release, a
cancellation); for each, `retry_held_for_stock` reads the held queue (`insufficient_stock`, oldest first), keeps
the orders held for nothing else that need the SKU, and sends each through the path an operator's release takes
(`place`: checks, gifts, routing, the one-transaction reservation, then dispatch), as `ocp`.

- Bounded per call: at most `RETRIES` orders retried and `SCAN` held orders read; the rest waits for the SKU's
  next restock (or a person).
- Oldest first, but an order needing more of any of its SKUs than is available now (summed over warehouses) is
  passed over without a write (it would only be held again), so it does not stop the orders behind it; the
  retries stop once the SKU's stock is used up. Gift lines the rules add are left out of that sum: they are
  decided again on the retry.
- A retry that ends held for stock again (another SKU still short, the stock in another warehouse) leaves the
  order as it was, its hold detail updated: no "released" and "held" entries for every restock, and no write at
  all when the detail did not change.
- Redelivered stream records are harmless: a reserved order is no longer held, and every write is conditional
  on the revision read, the reservation included.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple, Protocol

from ocp.domain.errors import ConcurrentModification
from ocp.domain.inventory.commit import CommitRejected, OrderCommit
from ocp.domain.operations.restock import RESTOCK_ACTOR, restocked, waits_only_for_stock
from ocp.domain.order.model import GIFT_LINE_PREFIX, Hold, HoldReason, Order, OrderStatus
from ocp.services.inventory.chunked import settled
from ocp.services.inventory.reservation import StockDeps, commit_order
from ocp.services.order.updates import WRITE_ATTEMPTS

# The held queue's actions (and their dispatch requests) are typing only here: they load with the deps `composition`
# builds on the first restock, as the order path does; the stock signals of every batch never need them.
if TYPE_CHECKING:
    from ocp.domain.inventory.stock import StockLevel
    from ocp.ports import TransactionalOrderStore
    from ocp.services.operations.held_queue import HeldQueueDeps

RETRIES = 20
"""Orders retried per SKU per restock."""
SCAN = 200
"""Held orders read per SKU per restock."""
PAGE = 50


class StockLevels(Protocol):
    def levels(self, sku: str) -> list[StockLevel]: ...


class RestockDeps(NamedTuple):
    held: HeldQueueDeps
    stock: StockLevels


@dataclass
class RestockReport:
    sku: str
    reserved: list[str] = field(default_factory=list)
    released: list[str] = field(default_factory=list)
    """Out of the held queue without stock: unpaid (it reserves once paid)."""
    held: list[str] = field(default_factory=list)
    """Held again: still short (detail updated), or for a reason the checks raised now."""
    conflicts: list[str] = field(default_factory=list)
    scanned: int = 0
    more: bool = False
    """A bound stopped it with held orders left to read: they wait for the SKU's next restock."""

    @property
    def retried(self) -> int:
        return len(self.reserved) + len(self.released) + len(self.held) + len(self.conflicts)


def retry_held_for_stock(sku: str, deps: RestockDeps, *, retries: int = RETRIES, scan: int = SCAN) -> RestockReport:
    """Retry the orders held for stock alone that need `sku`, oldest first, within the bounds."""
    report = RestockReport(sku=sku)
    stock = _Left(deps.stock)
    if stock.left(sku) <= 0:
        return report  # all of it went to new orders already: nothing to read the queue for
    for order, needs in _candidates(deps.held, sku, scan, report):
        if not stock.covers(needs):
            continue
        if report.retried >= retries:
            report.more = True
            break
        try:
            stored = _retry(deps.held, order.order_id, sku)
        except ConcurrentModification:
            report.conflicts.append(order.order_id)
            continue
        if stored is None:
            continue
        _record(report, stored)
        if stored.status == OrderStatus.reserved:
            stock.take(needs)
            if stock.left(sku) <= 0:
                break
    return report


class _Left:
    """What is left to reserve of each SKU during one pass: read once (summed over warehouses), then counted
    down as orders reserve it."""

    def __init__(self, levels: StockLevels) -> None:
        self._levels = levels
        self._left: dict[str, int] = {}

    def left(self, sku: str) -> int:
        if sku not in self._left:
            self._left[sku] = sum(max(0, level.available) for level in self._levels.levels(sku))
        return self._left[sku]

    def covers(self, needs: Mapping[str, int]) -> bool:
        return all(self.left(sku) >= quantity for sku, quantity in needs.items())

    def take(self, needs: Mapping[str, int]) -> None:
        for sku, quantity in needs.items():
            self._left[sku] = self.left(sku) - quantity


def _candidates(deps: HeldQueueDeps, sku: str, scan: int,
                report: RestockReport) -> Iterator[tuple[Order, dict[str, int]]]:
    """Orders held for stock alone that need `sku`, with what they need of each SKU, oldest first; at most
    `scan` held orders read."""
    start: Mapping[str, str] | None = None
    while report.scanned < scan:
        page = deps.queries.page(OrderStatus.held, HoldReason.insufficient_stock, min(PAGE, scan - report.scanned),
                                 start)
        for order in page.orders:
            report.scanned += 1
            needs = _needs(order)
            if sku in needs and waits_only_for_stock(order):
                yield order, needs
        if page.last_key is None:
            return
        start = page.last_key
    report.more = True


def _needs(order: Order) -> dict[str, int]:
    needs: dict[str, int] = {}
    for line in order.lines:
        if not line.line_id.startswith(GIFT_LINE_PREFIX):
            needs[line.sku] = needs.get(line.sku, 0) + line.quantity
    return needs


def _record(report: RestockReport, stored: Order) -> None:
    if stored.status == OrderStatus.reserved:
        report.reserved.append(stored.order_id)
    elif stored.status == OrderStatus.held:
        report.held.append(stored.order_id)
    else:
        report.released.append(stored.order_id)


def _retry(deps: HeldQueueDeps, order_id: str, sku: str) -> Order | None:
    """The order after its retry; None when it no longer waits for stock alone (someone got there first)."""
    # Imported on the first retry: most stock changes release no held order, and the order path (checks, rules, phone
    # and ID data) is the heaviest import in stock_events' cold start.
    from ocp.services.decisions.order_path import merging, place, request_dispatch

    for _ in range(WRITE_ATTEMPTS):
        current = deps.orders.get(order_id)
        if current is not None:  # a retry that died half-way through a chunked reservation is finished first
            current = settled(deps.stock.orders, current, deps.now(), actor=RESTOCK_ACTOR)
        if current is None or not waits_only_for_stock(current):
            return None
        # A sold-out memo from before the restock would hold the order again without trying the stock.
        deps.stock.catalog.forget_sold_out(line.sku for line in current.lines)
        quiet = deps.stock._replace(orders=_StillShortGuard(deps.stock.orders))
        try:
            stored = place(current, restocked(current, sku, deps.now()), quiet, deps.rules)
        except _StillShort as short:  # as it was, at the revision stored now (a chunked attempt given back moved it)
            stored = _keep_held(deps.stock, current.model_copy(update={"revision": short.revision}), short.holds)
        if stored is not None:
            request_dispatch(current, stored, deps.dispatch, actor=RESTOCK_ACTOR,
                             merge=merging(deps.rules, deps.orders, deps.now))
            return stored
    raise ConcurrentModification(f"order {order_id} kept changing; the next restock retries it")


def _keep_held(stock: StockDeps, current: Order, holds: tuple[Hold, ...]) -> Order | None:
    """Still short: the order as it was, with the new hold detail (no write when it is the same)."""
    if holds == current.holds:
        return current
    return commit_order(stock, OrderCommit(order=current.model_copy(update={"holds": holds}),
                                           expected_revision=current.revision))


class _StillShort(Exception):  # noqa: N818 — an outcome, raised through the order path
    def __init__(self, holds: tuple[Hold, ...], revision: int) -> None:
        super().__init__(", ".join(h.detail for h in holds))
        self.holds = holds
        self.revision = revision


class _StillShortGuard:
    """The order store for one automatic retry: a commit that would only hold the order for stock again is not
    written but raised, so the retry can keep the order as it was."""

    def __init__(self, orders: TransactionalOrderStore) -> None:
        self._orders = orders

    def get(self, order_id: str) -> Order | None:
        return self._orders.get(order_id)

    def find_by_channel_order(self, channel: str, channel_order_id: str) -> Order | None:
        return self._orders.find_by_channel_order(channel, channel_order_id)

    def create(self, order: Order) -> None:
        self._orders.create(order)

    def replace(self, order: Order, expected_revision: int) -> Order:
        return self._orders.replace(order, expected_revision)

    @property
    def transaction_items(self) -> int:
        return self._orders.transaction_items

    def recorded(self, entry_ids: Sequence[str]) -> set[str]:
        return self._orders.recorded(entry_ids)

    def commit(self, change: OrderCommit) -> CommitRejected | None:
        order = change.order
        if (not change.movements and change.intent_check is None and change.expected_revision is not None
                and order.reservation_intent is None and order.status == OrderStatus.held
                and waits_only_for_stock(order) and not self._mid_chunks(order.order_id)):
            raise _StillShort(order.holds, change.expected_revision)
        return self._orders.commit(change)

    def _mid_chunks(self, order_id: str) -> bool:
        """A chunked change's own writes (its undo's last write looks like a hold) go through."""
        stored = self._orders.get(order_id)
        return stored is not None and stored.reservation_intent is not None
