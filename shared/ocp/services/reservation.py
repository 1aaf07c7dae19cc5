"""Storing an order together with what it does to stock, in one transaction per attempt.

`write_order` decides (from the lock strategy and the order's state) whether the write reserves, releases,
confirms or leaves stock alone, then commits the order and its stock movements at once. On the happy path that
is exactly one DynamoDB write and no read. A rejected reservation moves to the next shard, the next candidate
warehouse, or ends in a hold — `insufficient_stock` ("SKU needs N, M available"), `purchase_limit_exceeded`,
or `unroutable` when the reservation would not fit in one transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from ocp.domain.errors import ConcurrentModification
from ocp.domain.inventory import MovementKind
from ocp.domain.inventory_commit import CounterChange, LimitBreach, OrderCommit
from ocp.domain.inventory_planning import (
    Need,
    ReservationPlanner,
    StockAction,
    action_for,
    confirm_commit,
    counter_claims,
    end_commit,
    fits_one_transaction,
    hold_commit,
    needs_of,
    reserve_commit,
    too_large_detail,
)
from ocp.domain.inventory_policy import StockPolicy
from ocp.domain.order import HoldReason, Order, OrderStatus
from ocp.ports import TransactionalOrderStore
from ocp.services.stock_catalog import StockCatalog


class ShardPeek(Protocol):
    def availability(self, warehouse: str, sku: str, shards: list[int]) -> dict[int, int]: ...


@dataclass(frozen=True)
class StockDeps:
    orders: TransactionalOrderStore
    catalog: StockCatalog
    now: Callable[[], datetime]
    peek: ShardPeek | None = None
    """After a sharded SKU's first shortage, read its other shards once (one read) instead of trying each of
    them in turn (one write each). Only ever on the unhappy path."""
    route: Callable[[Order], Sequence[str] | None] | None = None
    """The routing decision's candidate warehouses, in order (the rules issue plugs in here); None or a None
    answer: every warehouse stocking all of the order's SKUs, by id."""


def write_order(before: Order | None, after: Order, deps: StockDeps) -> Order | None:
    """Store `after` (replacing `before`, or new when None) with its stock effects; the stored order, or None
    when the order changed (or exists) meanwhile — re-read and try again."""
    policy = deps.catalog.policy()
    strategy, _ = policy.order_strategy(after)
    action = action_for(before, after, strategy)
    now = deps.now()
    if action == StockAction.reserve:
        return _reserve(before, after, policy, deps)
    if action == StockAction.confirm and before is not None:
        return _commit(deps, confirm_commit(before, after, now))
    if action == StockAction.release and before is not None:
        reason = "cancelled by the channel" if after.status == OrderStatus.cancelled else "released"
        return _commit(deps, end_commit(before, after, MovementKind.release, actor="order_processor",
                                        reason=reason, at=now))
    return _commit(deps, OrderCommit(order=after, expected_revision=before.revision if before else None))


def _commit(deps: StockDeps, change: OrderCommit) -> Order | None:
    rejected = deps.orders.commit(change)
    if rejected is None:
        return change.order
    if rejected.order_conflict:
        return None
    raise ConcurrentModification(f"order {change.order.order_id}: unexpected rejection {rejected}")


def _reserve(before: Order | None, after: Order, policy: StockPolicy, deps: StockDeps) -> Order | None:
    now = deps.now()
    strategy, expiry = policy.order_strategy(after)
    needs = needs_of(after)
    limits = {n.sku: limit for n in needs if (limit := policy.purchase_limit(n.sku)) is not None}
    claims = counter_claims(after, limits)
    over = [c for c in claims if c.limit is not None and c.delta > c.limit]
    if over:
        return _commit(deps, hold_commit(before, after, HoldReason.purchase_limit_exceeded,
                                         _limit_detail([LimitBreach(c.sku, 0, c.limit) for c in over], claims), now))
    skus = [n.sku for n in needs]
    planner = _planner(after, needs, deps)
    rechecked = False
    while True:
        plan = planner.next_plan()
        if plan is None:
            if not rechecked and deps.catalog.recheck(skus):
                rechecked = True
                planner = _planner(after, needs, deps)
                continue
            return _commit(deps, hold_commit(before, after, HoldReason.insufficient_stock, planner.hold_detail(), now))
        if not fits_one_transaction(plan, claims):
            return _commit(deps, hold_commit(before, after, HoldReason.unroutable, too_large_detail(plan, claims), now))
        change = reserve_commit(before, after, plan, strategy=strategy, expiry=expiry, claims=claims, at=now)
        rejected = deps.orders.commit(change)
        if rejected is None:
            return change.order
        if rejected.order_conflict:
            return None
        if rejected.over_limit:
            detail = _limit_detail(rejected.over_limit, claims)
            return _commit(deps, hold_commit(before, after, HoldReason.purchase_limit_exceeded, detail, now))
        planner.record(rejected.shortages)
        for shortage in rejected.shortages:
            untried = planner.untried(shortage.warehouse, shortage.sku)
            if untried and deps.peek is not None:
                planner.learn(shortage.warehouse, shortage.sku,
                              deps.peek.availability(shortage.warehouse, shortage.sku, untried))
            if planner.sold_out(shortage.warehouse, shortage.sku):
                deps.catalog.remember_sold_out(shortage.warehouse, shortage.sku)


def _planner(order: Order, needs: Sequence[Need], deps: StockDeps) -> ReservationPlanner:
    """A planner that already knows what this process saw sold out a moment ago (no write to find it again)."""
    locations = deps.catalog.locations([n.sku for n in needs])
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
