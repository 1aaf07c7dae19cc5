"""The rules in the order path: anomaly checks, gift rules and routing decide an order in memory, right
before the one transaction that stores it with its stock.

    stored = place(before, after, stock_deps, rules_deps)   # None: the order changed meanwhile, re-read

When the rules run: when the order is about to reserve stock or confirm stock it holds (`action_for`), i.e. on
capture and on payment. An unpaid order is routed (and given its gifts) so that a pre-reservation lands in the
right warehouse, but it is checked only once paid — a hold then keeps whatever stock it holds (the buyer's units
stay theirs while a person looks) and is recorded in the same write. A paid order:
- with holds from the checks or anomaly rules → `held` with every reason and its stock reserved as it would be
  unheld, in the same write (so the buyer who paid first keeps the units while a person looks), unless the
  anomaly document's `checks.reserve_while_held` says otherwise for one of the reasons (by default
  `duplicate_suspect` and `presale_not_due` reserve nothing); a routing hold or no suitable warehouse → `held`,
  nothing reserved;
- routed to warehouses → reserved on the first candidate that can take the whole order (else split across the
  candidates when the rule allows), gift lines included; a "while stock lasts" gift without stock is dropped;
- routed to a supplier → `reserved` with the supplier as its warehouse (drop-ship: no OCP stock).
The duplicate check claims its keys in the same transaction (`ocp.domain.decisions.duplicate_guard`). Nothing here reads
a database on the way: rules, catalog and warehouses come from per-process caches.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, NamedTuple, Protocol

from ocp.domain.decisions.anomalies import prepared
from ocp.domain.decisions.anomalies.checks import presale_release_at
from ocp.domain.decisions.decide import RuleBook, decide
from ocp.domain.decisions.duplicate_guard import claims, duplicate_hold
from ocp.domain.decisions.routing import RouteAction, RoutingDecision, WarehouseFacts
from ocp.domain.decisions.rules.documents.anomaly import reserves_while_held
from ocp.domain.fulfillment.dispatch import EDITABLE_BEFORE_WAREHOUSE, DispatchRequest, flag_edit_after_dispatch
from ocp.domain.inventory.commit import FingerprintClaim, OrderCommit
from ocp.domain.inventory.planning import StockAction, action_for, end_commit, holds_stock, is_paid, lines_changed
from ocp.domain.inventory.stock import MovementKind
from ocp.domain.operations.held_queue import STOCK_REASONS, not_acknowledged, operator_route
from ocp.domain.order.model import Hold, HoldReason, Order, OrderStatus, RulesApplied, TimelineEntry
from ocp.services.fulfillment.merge_wait import MergeWait, wait_to_merge
from ocp.services.inventory.reservation import (
    DuplicateSuspected,
    RoutePlan,
    StockDeps,
    commit_order,
    move_reservation,
    write_order,
)

if TYPE_CHECKING:
    from ocp.domain.operations.catalog import CatalogItem
    from ocp.ports import DispatchQueue, TransactionalOrderStore


class RuleBookSource(Protocol):
    def book(self) -> RuleBook: ...


class CatalogSource(Protocol):
    def get_many(self, skus: Iterable[str]) -> dict[str, CatalogItem]: ...


class WarehouseDirectory(Protocol):
    def facts(self) -> Mapping[str, WarehouseFacts]: ...


class RulesDeps(NamedTuple):
    """Per-process caches: `RulesCache`, `CachedCatalog`, `CachedWarehouses` (no read per order when warm)."""

    rules: RuleBookSource
    catalog: CatalogSource
    warehouses: WarehouseDirectory


class Evaluation(NamedTuple):
    order: Order
    """The order with `rules_applied`, and its gift lines unless it already holds stock (lines then stay)."""
    holds: tuple[Hold, ...]
    """Every hold of the checks, anomaly rules and routing that an operator has not acknowledged."""
    route: RoutingDecision
    optional_gifts: frozenset[str]
    guards: tuple[FingerprintClaim, ...]
    """The duplicate check's keys (none when the check is off or an operator acknowledged the suspicion)."""
    reserve_while_held: bool = False
    """A paid order with these holds reserves its stock meanwhile (the anomaly document decides per reason)."""


def evaluate(order: Order, rules: RulesDeps, now: datetime, *, keep_lines: bool = False) -> Evaluation:
    book = rules.rules.book()
    catalog = rules.catalog.get_many(line.sku for line in order.lines if line.sku)  # '' : the channel sent none
    warehouses = rules.warehouses.facts()
    decision = decide(order, book, catalog=catalog, warehouses=warehouses, now=now)
    checks = prepared(book.anomaly).config
    route = _route_of(order, decision.route, warehouses, book.routing.version)
    found = (*decision.holds, *((route.hold,) if route.hold is not None else ()))
    holds = tuple(_timed(h, order, checks.presale.release_hours_before) for h in not_acknowledged(found, order))
    gifts = () if keep_lines else decision.gifts
    applied = RulesApplied(versions=decision.versions, routing_rule=route.rule,
                           gift_rules=tuple(g.rule for g in gifts), at=now)
    decided = (order if keep_lines else decision.order).model_copy(update={"rules_applied": applied})
    guards: tuple[FingerprintClaim, ...] = ()
    if checks.duplicate.enabled and HoldReason.duplicate_suspect not in order.operator_overrides.acknowledged:
        guards = claims(decided, timedelta(minutes=checks.duplicate.window_minutes))
    optional = frozenset(g.line.line_id for g in gifts if g.while_stock_lasts)
    keep_stock = route.action == RouteAction.warehouses and all(reserves_while_held(checks, h.reason) for h in holds)
    return Evaluation(order=decided, holds=holds, route=route, optional_gifts=optional, guards=guards,
                      reserve_while_held=keep_stock)


def _route_of(order: Order, decided: RoutingDecision, warehouses: Mapping[str, WarehouseFacts],
              version: int) -> RoutingDecision:
    """The operator's warehouse wins over the rules. A routing rule's own hold that an operator acknowledged
    leaves no warehouse to go to: the order needs one chosen (PATCH) to ship."""
    chosen = operator_route(order, warehouses, version)
    if chosen is not None:
        return chosen
    hold = decided.hold
    if hold is not None and hold.reason not in STOCK_REASONS and hold.reason in order.operator_overrides.acknowledged:
        detail = f"routing rule {decided.rule!r} holds orders like this one; choose its warehouse to ship it"
        return decided.model_copy(update={"hold": Hold(reason=HoldReason.unroutable, detail=detail)})
    return decided


def _timed(hold: Hold, order: Order, hours_before: int) -> Hold:
    if hold.reason != HoldReason.presale_not_due:
        return hold
    return hold.model_copy(update={"until": presale_release_at(order, hours_before)})


# ---- placing the order ---------------------------------------------------------------------------------------


def place(before: Order | None, after: Order, stock: StockDeps, rules: RulesDeps | None) -> Order | None:
    """Store `after` (replacing `before`) decided by the rules, with its stock effects, in one transaction on the
    happy path; None when the order changed meanwhile (re-read and try again). Without `rules` (tests of the
    inventory alone), as `write_order` does."""
    if rules is None:
        return write_order(before, after, stock)
    if (before is not None and after.status != OrderStatus.cancelled and holds_stock(before) and holds_stock(after)
            and lines_changed(before, after)):
        return _edited(before, after, stock, rules)
    strategy, _ = stock.catalog.policy().order_strategy(after)
    if action_for(before, after, strategy) not in (StockAction.reserve, StockAction.confirm):
        return write_order(before, after, stock)
    now = stock.now()
    holding = holds_stock(after)
    evaluation = evaluate(after, rules, now, keep_lines=holding)
    order = evaluation.order
    if not is_paid(after):
        return _routed(before, order, evaluation, stock, (), now, paid=False)
    try:
        if evaluation.holds and (holding or not evaluation.reserve_while_held):
            return _hold(before, order, evaluation.holds, stock, evaluation.guards, now)
        if holding:
            return write_order(before, order, stock, guards=evaluation.guards)
        # Reserved as it would be unheld; holds found now replace any the order had (the reservation holds it).
        order = order.model_copy(update={"holds": evaluation.holds})
        return _routed(before, order, evaluation, stock, evaluation.guards, now, paid=True)
    except DuplicateSuspected as suspected:
        # The first order keeps the keys: a third copy is flagged against it, and so is never the first itself.
        holds = (*evaluation.holds, duplicate_hold(order, suspected.hits))
        return _hold(before, order, holds, stock, (), now)


def _edited(before: Order, after: Order, stock: StockDeps, rules: RulesDeps) -> Order | None:
    """The channel changed what an order holding stock contains. Before the warehouse has it, the order is decided
    again (gifts re-evaluated against the new lines) and its reservation follows the lines in the same write; once
    the warehouse has it, a person decides (the parcel may already be picked), and the order is flagged."""
    now = stock.now()
    if after.status not in EDITABLE_BEFORE_WAREHOUSE:
        return commit_order(stock, OrderCommit(order=flag_edit_after_dispatch(after, now),
                                               expected_revision=before.revision))
    paid = after.status != OrderStatus.pending_payment
    # Decided as a paid order is on capture (`received`), so the reservation lands as reserved or held anew.
    evaluation = evaluate(after.model_copy(update={"status": OrderStatus.received}) if paid else after, rules, now)
    order = evaluation.order
    holds = evaluation.holds if paid else ()
    route = evaluation.route
    if route.action != RouteAction.warehouses or (holds and not evaluation.reserve_while_held):
        found = (*holds, *((route.hold,) if route.hold is not None else ()))
        held = order.model_copy(update={"status": OrderStatus.held, "status_since": now, "holds": found or (
            Hold(reason=HoldReason.unroutable, detail="no warehouse may take the edited order"),)})
        why = "the order's lines changed and it is held: " + ", ".join(h.reason.value for h in held.holds)
        return commit_order(stock, end_commit(before, held, MovementKind.release, actor="order_processor",
                                              reason=why, at=now))
    plan = RoutePlan(candidates=route.candidates, split=route.split, optional_gifts=evaluation.optional_gifts)
    return move_reservation(before, order.model_copy(update={"holds": holds}), stock, route=plan)


def _hold(before: Order | None, order: Order, holds: tuple[Hold, ...], stock: StockDeps,
          guards: tuple[FingerprintClaim, ...], now: datetime) -> Order | None:
    """Held with every reason, in one write; stock it holds already stays reserved (no more expiry: it is paid)."""
    entries = tuple(TimelineEntry(at=now, hop="processing", event="held", source="ocp",
                                  detail=f"{h.reason.value}: {h.detail}") for h in holds)
    update: dict[str, object] = {"holds": holds, "timeline": (*order.timeline, *entries)}
    if order.status != OrderStatus.held:
        update |= {"status": OrderStatus.held, "status_since": now}
    if holds_stock(order) and order.reservation is not None and order.reservation.expires_at is not None:
        update["reservation"] = order.reservation.model_copy(update={"expires_at": None})
    held = order.model_copy(update=update)
    return commit_order(stock, OrderCommit(order=held, expected_revision=before.revision if before else None), guards)


def _routed(before: Order | None, order: Order, evaluation: Evaluation, stock: StockDeps,
            guards: tuple[FingerprintClaim, ...], now: datetime, *, paid: bool) -> Order | None:
    route = evaluation.route
    expected = before.revision if before else None
    if route.action == RouteAction.hold:  # unpaid: it is checked (and held) once paid; no stock meanwhile
        return commit_order(stock, OrderCommit(order=order, expected_revision=expected), guards)
    order = order.model_copy(update={"timeline": (*order.timeline, _routed_entry(route, now))})
    if route.action == RouteAction.supplier:
        if paid:
            order = order.model_copy(update={"status": OrderStatus.reserved, "status_since": now,
                                             "warehouse": route.supplier})
        return commit_order(stock, OrderCommit(order=order, expected_revision=expected), guards)
    plan = RoutePlan(candidates=route.candidates, split=route.split, optional_gifts=evaluation.optional_gifts)
    return write_order(before, order, stock, route=plan, guards=guards)


def _routed_entry(route: RoutingDecision, at: datetime) -> TimelineEntry:
    by = f"rule {route.rule!r} (routing v{route.version})" if route.rule else "the operator's choice"
    if route.action == RouteAction.supplier:
        detail = f"{by}: drop-shipped by {route.supplier}"
    else:
        detail = f"{by}: {', '.join(route.candidates)}" + (" (split allowed)" if route.split else "")
    if route.dropped:
        detail += f"; not suitable: {', '.join(route.dropped)}"
    return TimelineEntry(at=at, hop="processing", event="routed", source="ocp", detail=detail)


# ---- handing over to dispatch ------------------------------------------------------------------------------------


def merging(rules: RulesDeps | None, orders: TransactionalOrderStore, now: Callable[[], datetime]) -> MergeWait | None:
    """What a newly reserved order needs to wait for others of its buyer (merged parcels); None without rules."""
    return None if rules is None else MergeWait(orders=orders, rules=rules.rules, now=now)


def request_dispatch(before: Order | None, stored: Order, queue: DispatchQueue | None,
                     actor: str | None = None, merge: MergeWait | None = None) -> bool:
    """Ask the dispatcher to hand a newly reserved order to its warehouse (idempotent there: the request names the
    instruction version it follows). A split order's one request sends each warehouse its own parcel."""
    if queue is None or stored.status != OrderStatus.reserved:
        return False
    if before is not None and before.status == OrderStatus.reserved:
        return False
    if wait_to_merge(stored, merge, actor):  # the merge run asks the dispatcher once its window ends
        return True
    queue.send([DispatchRequest(order_id=stored.order_id, after_version=stored.fulfillment.instruction_version,
                                actor=actor)])
    return True


def redispatch_if_never_sent(stored: Order, queue: DispatchQueue | None, merge: MergeWait | None = None) -> bool:
    """A redelivered message for an order reserved but never handed over: ask again (the first request may have
    been lost between the order's write and the queue)."""
    if queue is None or stored.status != OrderStatus.reserved or stored.fulfillment.instruction_version:
        return False
    if wait_to_merge(stored, merge):
        return True
    queue.send([DispatchRequest(order_id=stored.order_id, after_version=0)])
    return True
