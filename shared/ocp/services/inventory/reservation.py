"""Storing an order together with what it does to stock, in one transaction per attempt.

`write_order` decides (from the lock strategy and the order's state) whether the write reserves, releases,
confirms or leaves stock alone, then commits the order and its stock movements at once. On the happy path that
is exactly one DynamoDB write and no read. A rejected reservation moves to the next shard, the next candidate
warehouse, or ends in a hold — `insufficient_stock` ("SKU needs N, M available") or `purchase_limit_exceeded`.
An order too large for one transaction is committed in chunks, all or nothing (`ocp.services.inventory.chunked`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, NamedTuple, Protocol

from ocp.domain.errors import ConcurrentModification
from ocp.domain.inventory.chunks import too_many_lines
from ocp.domain.inventory.commit import (
    CommitRejected,
    CounterChange,
    FingerprintClaim,
    FingerprintHit,
    LimitBreach,
    OrderCommit,
)
from ocp.domain.inventory.planning import (
    Need,
    Plan,
    ReservationPlanner,
    StockAction,
    action_for,
    confirm_commit,
    counter_claims,
    end_commit,
    hold_commit,
    is_paid,
    needs_of,
    rereserve_commit,
    reserve_commit,
    waiting_commit,
)
from ocp.domain.inventory.split import split_plan
from ocp.domain.inventory.stock import MovementKind
from ocp.domain.order.model import GIFT_LINE_PREFIX, HoldReason, Order, OrderStatus, TimelineEntry
from ocp.services.inventory.chunked import Undone, commit_any_size

if TYPE_CHECKING:
    from ocp.domain.inventory.policy import StockPolicy
    from ocp.domain.inventory.reservation import LockStrategy
    from ocp.ports import TransactionalOrderStore
    from ocp.services.inventory.stock_catalog import StockCatalog

_SPLIT_ATTEMPTS = 3


class _Short(NamedTuple):
    """The split candidates together hold too little; `before`: the order as stored now (a chunked attempt given
    back re-stores it)."""

    before: Order | None


class ShardPeek(Protocol):
    def availability(self, warehouse: str, sku: str, shards: list[int]) -> dict[int, int]: ...


class StockDeps(NamedTuple):
    orders: TransactionalOrderStore
    catalog: StockCatalog
    now: Callable[[], datetime]
    peek: ShardPeek | None = None
    """After a sharded SKU's first shortage, read its other shards once (one read) instead of trying each of
    them in turn (one write each). Only ever on the unhappy path."""
    route: Callable[[Order], Sequence[str] | None] | None = None
    """The routing decision's candidate warehouses, in order (the rules issue plugs in here); None or a None
    answer: every warehouse stocking all of the order's SKUs, by id. A `RoutePlan` given to `write_order` wins."""


class RoutePlan(NamedTuple):
    """What the routing decision tells the reservation."""

    candidates: tuple[str, ...]
    """Warehouses to try, in order: the first that can reserve the whole order gets it."""
    split: bool = False
    """When none can take it whole: split it across the candidates (one transaction still)."""
    optional_gifts: frozenset[str] = frozenset()
    """Line ids of gift lines given "while stock lasts": dropped (not held for) when they have no stock."""


class DuplicateSuspected(Exception):  # noqa: N818 — an outcome, raised through the write path
    """A duplicate-check key in the commit is held by another order within the window; nothing was written."""

    def __init__(self, hits: tuple[FingerprintHit, ...]) -> None:
        super().__init__(", ".join(h.order_id for h in hits))
        self.hits = hits


def write_order(
    before: Order | None,
    after: Order,
    deps: StockDeps,
    *,
    route: RoutePlan | None = None,
    guards: tuple[FingerprintClaim, ...] = (),
) -> Order | None:
    """Store `after` (replacing `before`, or new when None) with its stock effects; the stored order, or None
    when the order changed (or exists) meanwhile — re-read and try again.

    `route`: the routing decision's candidates (else `deps.route`, else every stocking warehouse). `guards`:
    duplicate-check keys claimed in the same transaction; `DuplicateSuspected` when one is taken."""
    policy = deps.catalog.policy()
    strategy, _ = policy.order_strategy(after)
    action = action_for(before, after, strategy)
    now = deps.now()
    if action == StockAction.reserve:
        return _reserve(before, after, policy, deps, route, guards)
    if action == StockAction.confirm and before is not None:
        return _commit(deps, confirm_commit(before, after, now), guards)
    if action == StockAction.release and before is not None:
        reason = "cancelled by the channel" if after.status == OrderStatus.cancelled else "released"
        return _commit(deps, end_commit(before, after, MovementKind.release, actor="order_processor",
                                        reason=reason, at=now))
    return _commit(deps, OrderCommit(order=after, expected_revision=before.revision if before else None), guards)


def move_reservation(before: Order, after: Order, deps: StockDeps, *, route: RoutePlan,
                     guards: tuple[FingerprintClaim, ...] = ()) -> Order | None:
    """An order holding stock whose lines changed (a channel edit): its reservation follows the new lines in one
    transaction, its current warehouse tried first. When the new lines cannot be reserved, the old reservation is
    released in the same write and the order is held `insufficient_stock` (an unpaid one waits for payment)."""
    now = deps.now()
    policy = deps.catalog.policy()
    strategy, expiry = policy.order_strategy(after)
    needs = needs_of(after)
    limits = {n.sku: limit for n in needs if (limit := policy.purchase_limit(n.sku)) is not None}
    claims = counter_claims(after, limits)
    current = after.reservation.warehouse if after.reservation else None
    ordered = tuple(sorted(route.candidates, key=lambda w: w != current))
    planner = _planner(after, needs, deps, route._replace(candidates=ordered))
    while (plan := planner.next_plan()) is not None:
        if (oversized := too_many_lines(len(plan.allocations))) is not None:
            return _release_short(before, after, HoldReason.unroutable, oversized, deps, guards)
        change = _guarded(rereserve_commit(before, after, plan, strategy=strategy, expiry=expiry, claims=claims,
                                           at=now), guards)
        outcome = _answer_of(deps, change, before)
        if isinstance(outcome, Undone):
            before, outcome = outcome.stored, outcome.rejected
        if not isinstance(outcome, CommitRejected):
            return outcome
        if outcome.over_limit:
            return _release_short(before, after, HoldReason.purchase_limit_exceeded,
                                  _limit_detail(outcome.over_limit, claims), deps, guards)
        _learn(planner, outcome, deps)
    return _release_short(before, after, HoldReason.insufficient_stock, planner.hold_detail(), deps, guards)


def _release_short(before: Order, after: Order, reason: HoldReason, detail: str, deps: StockDeps,
                   guards: tuple[FingerprintClaim, ...]) -> Order | None:
    now = deps.now()
    if is_paid(after):
        short = hold_commit(before, after, reason, detail, now).order
        why = f"the order's lines changed and cannot be reserved: {reason.value}"
    else:
        short = waiting_commit(before, after, detail, now).order
        why = "the order's lines changed and cannot be reserved before payment"
    return _commit(deps, end_commit(before, short, MovementKind.release, actor="order_processor", reason=why,
                                    at=now), guards)


def commit_order(deps: StockDeps, change: OrderCommit, guards: tuple[FingerprintClaim, ...] = ()) -> Order | None:
    """One commit as it is: the stored order, None on an order conflict, `DuplicateSuspected` on a taken key."""
    return _commit(deps, change, guards)


def _commit(deps: StockDeps, change: OrderCommit, guards: tuple[FingerprintClaim, ...] = ()) -> Order | None:
    """A commit that moves no reserved stock: any rejection other than a conflict or a duplicate is a bug."""
    change = _guarded(change, guards)
    outcome = _answer_of(deps, change)
    if isinstance(outcome, CommitRejected | Undone):
        raise ConcurrentModification(f"order {change.order.order_id}: unexpected rejection {outcome}")
    return outcome


def _answer_of(deps: StockDeps, change: OrderCommit,
               base: Order | None = None) -> Order | None | CommitRejected | Undone:
    """The one reading of a commit's answer: the stored order; None when the order changed meanwhile (the caller
    re-reads); `DuplicateSuspected` when another order holds a duplicate key; `Undone` when a change too large for
    one transaction was refused part-way (given back; the order is stored held for it); else the rejection (short
    shards, purchase limits) for the caller to act on. `base`: the order as stored (a new one: as captured)."""
    outcome = commit_any_size(deps.orders, change, deps.now(), base)
    if isinstance(outcome, Order | Undone):
        return outcome
    rejected = outcome
    if rejected.order_conflict:
        return None
    if rejected.duplicates:
        raise DuplicateSuspected(rejected.duplicates)
    if rejected.refused:
        # A release the stock books refuse (a missing shard, reserved below it) is no shortage to plan around.
        raise ConcurrentModification(f"order {change.order.order_id}: stock books refused {rejected.refused}")
    return rejected


def _guarded(change: OrderCommit, guards: tuple[FingerprintClaim, ...]) -> OrderCommit:
    return dataclasses.replace(change, fingerprints=change.fingerprints + guards) if guards else change


def _reserve(before: Order | None, after: Order, policy: StockPolicy, deps: StockDeps, route: RoutePlan | None,
             guards: tuple[FingerprintClaim, ...]) -> Order | None:
    now = deps.now()
    strategy, expiry = policy.order_strategy(after)
    needs = needs_of(after)
    limits = {n.sku: limit for n in needs if (limit := policy.purchase_limit(n.sku)) is not None}
    claims = counter_claims(after, limits)
    over = [c for c in claims if c.limit is not None and c.delta > c.limit]
    if over:
        return _commit(deps, hold_commit(before, after, HoldReason.purchase_limit_exceeded,
                                         _limit_detail([LimitBreach(c.sku, 0, c.limit) for c in over], claims), now),
                       guards)
    skus = [n.sku for n in needs]
    planner = _planner(after, needs, deps, route)
    rechecked = False
    while True:  # `before` moves on only when a chunked attempt was given back (the order re-stored, held)
        plan = planner.next_plan()
        if plan is None:
            if not rechecked and deps.catalog.recheck(skus):
                rechecked = True
                planner = _planner(after, needs, deps, route)
                continue
            lighter = _without_short_gifts(after, planner, route, now)
            if lighter is not None:
                return _reserve(before, lighter, policy, deps, route._replace(optional_gifts=frozenset())
                                if route else None, guards)
            if route is not None and route.split and len(route.candidates) > 1 and deps.peek is not None:
                split = _split(before, after, needs, claims, route, deps, guards, strategy=strategy, expiry=expiry)
                if not isinstance(split, _Short):
                    return split
                before = split.before
            if not is_paid(after):
                return _commit(deps, waiting_commit(before, after, planner.hold_detail(), now), guards)
            return _commit(deps, hold_commit(before, after, HoldReason.insufficient_stock, planner.hold_detail(), now),
                           guards)
        outcome = _try_plan(before, after, plan, claims, deps, guards, strategy=strategy, expiry=expiry, now=now)
        if isinstance(outcome, Undone):
            before, outcome = outcome.stored, outcome.rejected
        if not isinstance(outcome, CommitRejected):
            return outcome
        _learn(planner, outcome, deps)


def _try_plan(
    before: Order | None,
    after: Order,
    plan: Plan,
    claims: Sequence[CounterChange],
    deps: StockDeps,
    guards: tuple[FingerprintClaim, ...],
    *,
    strategy: LockStrategy,
    expiry: timedelta | None,
    now: datetime,
) -> Order | None | CommitRejected | Undone:
    """Commit one reservation plan, in chunks if it is too large for one transaction: the stored order (reserved,
    or held for a purchase limit or for more stock lines than an order item can carry), None when the order changed
    meanwhile, or the rejection when a shard ran short (the caller re-plans; `Undone` when a chunked attempt was
    given back)."""
    oversized = too_many_lines(len(plan.allocations))
    if oversized is not None:
        return _commit(deps, hold_commit(before, after, HoldReason.unroutable, oversized, now), guards)
    change = _guarded(reserve_commit(before, after, plan, strategy=strategy, expiry=expiry, claims=claims, at=now),
                      guards)
    outcome = _answer_of(deps, change, before or after)
    rejected = outcome.rejected if isinstance(outcome, Undone) else outcome
    if isinstance(rejected, CommitRejected) and rejected.over_limit:
        detail = _limit_detail(rejected.over_limit, claims)
        stored = outcome.stored if isinstance(outcome, Undone) else before
        return _commit(deps, hold_commit(stored, after, HoldReason.purchase_limit_exceeded, detail, now), guards)
    return outcome


def _learn(planner: ReservationPlanner, rejected: CommitRejected, deps: StockDeps) -> None:
    planner.record(rejected.shortages)
    for shortage in rejected.shortages:
        untried = planner.untried(shortage.warehouse, shortage.sku)
        if untried and deps.peek is not None:
            planner.learn(shortage.warehouse, shortage.sku,
                          deps.peek.availability(shortage.warehouse, shortage.sku, untried))
        if planner.sold_out(shortage.warehouse, shortage.sku):
            deps.catalog.remember_sold_out(shortage.warehouse, shortage.sku)


def _without_short_gifts(order: Order, planner: ReservationPlanner, route: RoutePlan | None,
                         at: datetime) -> Order | None:
    """The order without its "while stock lasts" gift lines that have no stock (None: none to drop)."""
    if route is None or not route.optional_gifts:
        return None
    blocking = planner.blocking_skus()
    optional = [line for line in order.lines if line.line_id in route.optional_gifts]
    dropped = [line for line in optional if line.sku in blocking] or ([] if blocking else optional)
    if not dropped:
        return None
    entry = TimelineEntry(at=at, hop="inventory", event="gift_dropped", source="ocp",
                          detail="while stock lasts, none left: " + ", ".join(f"{g.sku}×{g.quantity}" for g in dropped))
    update: dict[str, object] = {"lines": tuple(line for line in order.lines if line not in dropped),
                                 "timeline": (*order.timeline, entry)}
    applied = order.rules_applied
    if applied is not None:  # the gift rules whose lines the order still carries
        gone = {line.line_id.removeprefix(GIFT_LINE_PREFIX) for line in dropped}
        update["rules_applied"] = applied.model_copy(
            update={"gift_rules": tuple(r for r in applied.gift_rules if r not in gone)})
    return order.model_copy(update=update)


def _split(
    before: Order | None,
    after: Order,
    needs: Sequence[Need],
    claims: Sequence[CounterChange],
    route: RoutePlan,
    deps: StockDeps,
    guards: tuple[FingerprintClaim, ...],
    *,
    strategy: LockStrategy,
    expiry: timedelta | None,
) -> Order | _Short | None:
    """Reserve the order split over the candidates, from what their shards hold now (one read per warehouse and
    SKU: this is the unhappy path): the stored order (reserved, or held for a limit), None when the order
    changed meanwhile, or `_Short` when the candidates together hold too little (the caller holds it)."""
    peek = deps.peek
    assert peek is not None
    now = deps.now()
    locations = deps.catalog.locations([n.sku for n in needs])
    for _ in range(_SPLIT_ATTEMPTS):
        availability = {
            (warehouse, need.sku): peek.availability(warehouse, need.sku, list(range(shards)))
            for need in needs for warehouse in route.candidates
            if (shards := locations.get(need.sku, {}).get(warehouse))
        }
        plan = split_plan(needs, route.candidates, availability)
        if plan is None:
            return _Short(before)
        outcome = _try_plan(before, after, plan, claims, deps, guards, strategy=strategy, expiry=expiry, now=now)
        if isinstance(outcome, Undone):
            before, outcome = outcome.stored, outcome.rejected
        if not isinstance(outcome, CommitRejected):
            return outcome
    return _Short(before)


def _planner(order: Order, needs: Sequence[Need], deps: StockDeps,
             route: RoutePlan | None = None) -> ReservationPlanner:
    """A planner that already knows what this process saw sold out a moment ago (no write to find it again)."""
    locations = deps.catalog.locations([n.sku for n in needs])
    if route is not None:
        preference: Sequence[str] | None = route.candidates
    else:
        preference = deps.route(order) if deps.route is not None else None
    planner = ReservationPlanner(order.order_id, needs, locations, preference=preference)
    for need in needs:
        for warehouse, shards in locations.get(need.sku, {}).items():
            if deps.catalog.sold_out(warehouse, need.sku):
                planner.learn(warehouse, need.sku, dict.fromkeys(range(shards), 0))
    return planner


def _limit_detail(breaches: Sequence[LimitBreach], claims: Sequence[CounterChange]) -> str:
    wanted = {c.sku: c.delta for c in claims}
    return "; ".join(
        f"{b.sku}: limit {b.limit} per buyer, {b.bought} already bought, this order wants {wanted.get(b.sku, 0)}"
        for b in breaches
    )
