"""The pure inventory core: shard distribution, the reservation planner, lock strategies, stock signals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from infra.local.stock_lab import synthetic_order
from ocp.domain.inventory.adjustments import distribute, plan_adjustment, skewed
from ocp.domain.inventory.commit import OrderCommit, Shortage
from ocp.domain.inventory.planning import (
    ReservationPlanner,
    StockAction,
    action_for,
    candidate_warehouses,
    needs_of,
)
from ocp.domain.inventory.policy import ChannelPolicy, SkuPolicy, StockPolicy
from ocp.domain.inventory.reservation import LockStrategy, Reservation, ReservationState, StockAllocation
from ocp.domain.inventory.signals import SignalKind, signals_for
from ocp.domain.inventory.stock import (
    InvalidStockRequest,
    MovementKind,
    ShardLevel,
    StockHead,
    StockLevel,
    is_low,
    parse_stock_id,
    preferred_shard,
    stock_id,
    validate_warehouse,
)
from ocp.domain.order.model import Channel, OrderStatus

AT = datetime(2026, 11, 11, 12, 0, tzinfo=UTC)


# ---- distribution over shards ---------------------------------------------------------------------------------


@given(total=st.integers(0, 10_000), reserved=st.lists(st.integers(0, 500), min_size=1, max_size=32),
       data=st.data())
def test_distribution_keeps_the_total_and_never_makes_on_hand_negative(
    total: int, reserved: list[int], data: st.DataObject
) -> None:
    # Given any total, any reserved per shard and any number of active shards
    active = data.draw(st.integers(1, len(reserved)))
    # When the total is distributed
    targets = distribute(total, reserved, active)
    # Then it all lands somewhere, nothing is negative, and when it covers what is reserved, every shard
    # covers its own and active shards' available differ by at most one unit (retired ones hold none)
    assert sum(targets) == total
    assert all(t >= 0 for t in targets)
    if total >= sum(reserved):
        available = [t - r for t, r in zip(targets, reserved, strict=True)]
        assert all(a >= 0 for a in available)
        assert max(available[:active]) - min(available[:active]) <= 1
        assert all(a == 0 for a in available[active:])


def test_a_short_total_fills_reservations_in_shard_order() -> None:
    # Given 3 shards with 4 reserved each but only 6 on hand / When / Then
    assert distribute(6, [4, 4, 4], 3) == [4, 2, 0]


def test_a_push_to_a_new_sku_creates_every_shard_and_one_ledger_entry() -> None:
    # Given no stock yet and a policy of 4 shards
    head = StockHead(version=3, shards=4, slots=4)
    # When 10 units are pushed
    adjustment = plan_adjustment(MovementKind.push, "WH-GZ", "SKU", current=[], total_on_hand=10, head=head,
                                 actor="wms", reason="push", at=AT, entry_prefix="push#WH-GZ#3#SKU",
                                 version_guard=3)
    # Then four shards are created (3, 3, 2, 2) and the ledger says +10 with the split
    assert adjustment.created
    assert [(c.shard, c.expected_on_hand, c.delta) for c in adjustment.changes] == [
        (0, None, 3), (1, None, 3), (2, None, 2), (3, None, 2)]
    [entry] = adjustment.ledger
    assert (entry.delta_on_hand, entry.delta_available, entry.delta_reserved) == (10, 10, 0)
    assert entry.shard_deltas == {0: 3, 1: 3, 2: 2, 3: 2}


def test_rebalance_moves_units_off_a_retired_shard_and_guards_what_it_takes() -> None:
    # Given 3 shards, now only 2 active, shard 2 still holding 4 available
    shards = [ShardLevel(shard=0, on_hand=1, reserved=1, available=0),
              ShardLevel(shard=1, on_hand=2, reserved=0, available=2),
              ShardLevel(shard=2, on_hand=5, reserved=1, available=4)]
    assert skewed(shards, 2)
    head = StockHead(version=1, shards=2, slots=3)
    # When rebalanced
    adjustment = plan_adjustment(MovementKind.rebalance, "WH", "SKU", current=shards, total_on_hand=8, head=head,
                                 actor="sweeper", reason="r", at=AT, entry_prefix="rb")
    # Then available ends 3/3/0 (shard 2 keeps its reserved unit), and taking units requires them to be there
    changes = {c.shard: c for c in adjustment.changes}
    assert {k: c.delta for k, c in changes.items()} == {0: 3, 1: 1, 2: -4}
    assert changes[2].requires_available == 4 and changes[0].requires_available == 0
    assert adjustment.ledger[0].delta_on_hand == 0


def test_ids_and_shard_choice_are_stable() -> None:
    # Given / When / Then: ids round-trip (a SKU may contain #), shard choice is stable and spreads
    assert parse_stock_id(stock_id("WH-GZ", "A#B", 3)) == ("WH-GZ", 3, "A#B")
    assert preferred_shard("shopify-1", 8) == preferred_shard("shopify-1", 8)
    assert len({preferred_shard(f"o-{n}", 8) for n in range(200)}) == 8
    assert preferred_shard("anything", 1) == 0
    with pytest.raises(InvalidStockRequest):
        validate_warehouse("WH GZ")


def test_sold_out_is_low_even_without_safety_stock() -> None:
    # Given / When / Then
    assert is_low(0, 0) and is_low(4, 5) and not is_low(5, 5) and not is_low(1, 0)


# ---- the planner ----------------------------------------------------------------------------------------------


def test_candidates_are_the_warehouses_stocking_every_sku_in_order() -> None:
    # Given an order of A, B, A and where each is stocked / When / Then: needs per SKU, warehouses having both
    needs = needs_of(synthetic_order(1, "A", lines=[("A", 1), ("B", 2), ("A", 2)]))
    assert [(n.sku, n.quantity) for n in needs] == [("A", 3), ("B", 2)]
    locations = {"A": {"WH-SH": 1, "WH-GZ": 1, "WH-BJ": 1}, "B": {"WH-SH": 1, "WH-GZ": 4}}
    assert candidate_warehouses(needs, locations) == ["WH-GZ", "WH-SH"]


def test_planner_moves_to_the_next_shard_then_the_next_warehouse_then_gives_up() -> None:
    # Given a SKU with 2 shards in WH-A and 1 in WH-B
    planner = ReservationPlanner("o-1", needs_of(synthetic_order(1, "A", 2)), {"A": {"WH-A": 2, "WH-B": 1}})
    first = planner.next_plan()
    assert first is not None and first.warehouse == "WH-A"
    start = first.allocations[0].shard
    # When shard after shard reports too little
    planner.record([Shortage("WH-A", "A", start, 1)])
    second = planner.next_plan()
    assert second is not None and second.allocations[0].shard == 1 - start
    planner.record([Shortage("WH-A", "A", 1 - start, 0)])
    third = planner.next_plan()
    # Then the next warehouse is tried, and once it is short too, the order is short with the best count seen
    assert third is not None and third.warehouse == "WH-B"
    planner.record([Shortage("WH-B", "A", 0, 0)])
    assert planner.next_plan() is None
    assert planner.hold_detail() == "A needs 2, 1 available"


def test_planner_splits_a_line_over_shards_that_together_have_enough() -> None:
    planner = ReservationPlanner("o-1", needs_of(synthetic_order(1, "A", 5)), {"A": {"WH": 3}})
    assert planner.next_plan() is not None
    planner.learn("WH", "A", {0: 2, 1: 2, 2: 2})
    planner.record([Shortage("WH", "A", preferred_shard("o-1", 3), 2)])
    plan = planner.next_plan()
    assert plan is not None
    assert sorted(a.quantity for a in plan.allocations) == [1, 2, 2]


def test_an_unstocked_sku_or_no_common_warehouse_is_explained() -> None:
    # Given a SKU stocked nowhere, or two SKUs stocked in different warehouses / When / Then
    missing = ReservationPlanner("o", needs_of(synthetic_order(1, "A", lines=[("A", 1), ("Z", 3)])), {"A": {"W": 1}})
    assert missing.next_plan() is None and missing.hold_detail() == "Z needs 3, 0 available"
    apart = ReservationPlanner("o", needs_of(synthetic_order(1, "A", lines=[("A", 1), ("B", 1)])),
                               {"A": {"W1": 1}, "B": {"W2": 1}})
    assert apart.next_plan() is None and apart.hold_detail() == "no single warehouse stocks A, B together"


def test_a_commit_may_touch_each_shard_once_and_must_record_every_movement() -> None:
    # Given one reservation movement / When it is doubled, or left without its ledger entry / Then refused
    order = synthetic_order(1, "A")
    from ocp.domain.inventory.stock import StockMovement, ledger_entry

    move = StockMovement.reserve("W", "A", 0, 1)
    entry = ledger_entry(move, "e", actor="a", reason="r", at=AT)
    with pytest.raises(ValueError, match="once"):
        OrderCommit(order=order, expected_revision=None, movements=(move, move), ledger=(entry, entry))
    with pytest.raises(ValueError, match="ledger"):
        OrderCommit(order=order, expected_revision=None, movements=(move,))


# ---- lock strategies ------------------------------------------------------------------------------------------


def test_sku_policy_beats_channel_policy_beats_the_default() -> None:
    # Given a default, a douyin rule and a SKU rule / When / Then
    policy = StockPolicy(
        default_strategy=LockStrategy.reserve_on_order,
        channels={Channel.douyin: ChannelPolicy(strategy=LockStrategy.pre_reserve, expiry_minutes=15)},
        skus={"HOT": SkuPolicy(strategy=LockStrategy.reserve_on_payment)},
    )
    assert policy.line_strategy(Channel.shopify, "X") == (LockStrategy.reserve_on_order, 60)
    assert policy.line_strategy(Channel.douyin, "X") == (LockStrategy.pre_reserve, 15)
    assert policy.line_strategy(Channel.douyin, "HOT")[0] == LockStrategy.reserve_on_payment


def test_unpaid_orders_reserved_on_order_expire_after_the_unpaid_expiry_per_channel_and_sku() -> None:
    # Given the default (60 minutes), a channel's and a SKU's own unpaid expiry
    policy = StockPolicy(channels={Channel.taobao: ChannelPolicy(unpaid_expiry_minutes=120)},
                         skus={"HOT": SkuPolicy(unpaid_expiry_minutes=5)})
    # Then the SKU wins over the channel, the channel over the default; an order takes its shortest line's
    assert policy.order_strategy(synthetic_order(1, "X")) == (LockStrategy.reserve_on_order, timedelta(minutes=60))
    assert policy.line_strategy(Channel.taobao, "X") == (LockStrategy.reserve_on_order, 120)
    assert policy.line_strategy(Channel.taobao, "HOT") == (LockStrategy.reserve_on_order, 5)
    order = synthetic_order(2, "X", lines=[("X", 1), ("HOT", 1)])
    assert policy.order_strategy(order) == (LockStrategy.reserve_on_order, timedelta(minutes=5))


def test_an_orders_strategy_is_its_eagerest_lines() -> None:
    # Given lines with different strategies / When / Then the one locking soonest (shortest expiry) wins
    policy = StockPolicy(default_strategy=LockStrategy.reserve_on_payment,
                         skus={"HOT": SkuPolicy(strategy=LockStrategy.pre_reserve, expiry_minutes=10),
                               "WARM": SkuPolicy(strategy=LockStrategy.pre_reserve, expiry_minutes=20)})
    order = synthetic_order(1, "X", lines=[("X", 1), ("WARM", 1), ("HOT", 1)])
    assert policy.order_strategy(order) == (LockStrategy.pre_reserve, timedelta(minutes=10))
    assert policy.order_strategy(synthetic_order(2, "X")) == (LockStrategy.reserve_on_payment, None)


def _reserved(order_status: str) -> object:
    order = synthetic_order(1, "A", status=order_status)
    reservation = Reservation(seq=1, state=ReservationState.active, strategy=LockStrategy.pre_reserve,
                              warehouse="W", allocations=(StockAllocation(sku="A", quantity=1),), reserved_at=AT,
                              expires_at=AT + timedelta(minutes=5))
    return order.model_copy(update={"reservation": reservation})


@pytest.mark.parametrize(("before", "status", "strategy", "holding", "expected"), [
    (None, "received", LockStrategy.reserve_on_payment, False, StockAction.reserve),
    (None, "pending_payment", LockStrategy.reserve_on_order, False, StockAction.reserve),
    (None, "pending_payment", LockStrategy.pre_reserve, False, StockAction.reserve),
    (None, "pending_payment", LockStrategy.reserve_on_payment, False, StockAction.none),
    ("stored", "pending_payment", LockStrategy.reserve_on_order, False, StockAction.none),
    ("stored", "received", LockStrategy.pre_reserve, True, StockAction.confirm),
    ("stored", "received", LockStrategy.reserve_on_payment, False, StockAction.reserve),
    ("stored", "cancelled", LockStrategy.pre_reserve, True, StockAction.release),
    ("stored", "cancelled", LockStrategy.pre_reserve, False, StockAction.none),
    ("stored", "held", LockStrategy.reserve_on_order, False, StockAction.none),
])
def test_what_an_order_does_to_stock(before: str | None, status: str, strategy: LockStrategy, holding: bool,
                                     expected: StockAction) -> None:
    # Given the stored order (or none), the order about to be stored and the strategy / When / Then
    after = _reserved(status) if holding else synthetic_order(1, "A", status=status)
    stored = synthetic_order(1, "A", status="pending_payment") if before else None
    assert action_for(stored, after, strategy) == expected  # type: ignore[arg-type]


def test_cash_on_delivery_counts_as_paid() -> None:
    # Given an unpaid cash-on-delivery order / When / Then it reserves like a paid one, status unchanged
    order = synthetic_order(1, "A", status="pending_payment").model_copy(update={"cash_on_delivery": True})
    assert action_for(None, order, LockStrategy.reserve_on_payment) == StockAction.reserve
    assert order.status == OrderStatus.pending_payment


# ---- signals ------------------------------------------------------------------------------------------------


def _level(warehouse: str, available: int, safety: int, seq: int) -> StockLevel:
    shard = ShardLevel(shard=0, on_hand=available, reserved=0, available=available, seq=seq)
    return StockLevel(warehouse=warehouse, sku="S", on_hand=available, reserved=0, available=available,
                      safety_stock=safety, version=1, shards=1, shard_levels=(shard,))


def test_signals_per_warehouse_and_per_sku() -> None:
    # Given WH-GZ below its safety stock and WH-SH above its own, 7 sellable in all
    signals = {s.key: s for s in signals_for("S", [_level("WH-GZ", 2, 5, 10), _level("WH-SH", 5, 1, 3)])}
    # Then WH-GZ alerts (with an SNS text), WH-SH is quietly fine, coupons stay on (7 ≥ 6), channels list 7
    gz, sh = signals["stock_alert#WH-GZ#S"], signals["stock_alert#WH-SH#S"]
    assert (gz.value, gz.events[0].detail_type, gz.notification is not None) == (1, "stock.low", True)
    assert (sh.value, sh.quiet_first, sh.events[0].detail_type) == (0, True, "stock.recovered")
    coupon = signals["coupon#S"]
    assert (coupon.kind, coupon.value, coupon.as_of) == (SignalKind.coupon, 0, 13)
    listing = signals["listing#S"]
    assert listing.value == 7 and {e.detail["channel"] for e in listing.events} == {c.value for c in Channel}


def test_a_routing_preference_orders_and_filters_the_candidates() -> None:
    # Given A stocked in three warehouses / When routing prefers WH-SH, then an unknown one, then WH-BJ
    planner = ReservationPlanner("o", needs_of(synthetic_order(1, "A")), {"A": {"WH-BJ": 1, "WH-GZ": 1, "WH-SH": 1}},
                                 preference=["WH-SH", "WH-XX", "WH-BJ"])
    # Then only stocking warehouses the route names are tried, in its order
    assert planner.warehouses == ["WH-SH", "WH-BJ"]
