"""Stuck orders: the `sla` document, when an order is overdue, the report per hop, the watchdog, re-dispatch."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from ocp.adapters.memory.fulfillment import MemoryDispatchQueue, MemoryFulfillmentOrders, MemoryWatchdogState
from ocp.adapters.memory.sla import StaticSla
from ocp.domain.errors import InvalidQuery
from ocp.domain.fulfillment.callbacks import apply_event
from ocp.domain.fulfillment.stuck import (
    DEFAULT_SLA_DOCUMENT,
    Cutoffs,
    SlaPolicy,
    StatusSla,
    backlog_growth,
    candidate_bound,
    default_sla,
    due_at,
    next_cutoff,
)
from ocp.domain.order.model import Order, OrderStatus
from ocp.services.fulfillment.stuck import (
    RedispatchDeps,
    StuckDeps,
    redispatch,
    stuck_report,
)
from ocp.services.fulfillment.watchdog import WatchdogDeps, run_watchdog
from tests.fulfillment_support import T0, callback, order_at

S = OrderStatus
DEFAULT_SLA = default_sla()
SHANGHAI_16 = datetime(2026, 11, 11, 8, 0, tzinfo=UTC)
"""16:00 in Shanghai on 11 November: the default cut-off."""


def _order(order_id: str, status: OrderStatus, since: datetime, **changes: Any) -> Order:
    return order_at(status, since=since, order_id=f"shopify-{order_id}", channel_order_id=order_id, **changes)


def _deps(orders: list[Order], now: datetime, policy: SlaPolicy = DEFAULT_SLA) -> StuckDeps:
    store = MemoryFulfillmentOrders()
    for order in orders:
        store.create(order)
    return StuckDeps(queries=store, sla=StaticSla(policy), now=lambda: now)


# ---- the document -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("change", "problem"), [
    ({"statuses": {"delivered": {"hop": "done", "max_minutes": 5}}}, "final statuses"),
    ({"statuses": {"dispatched": {"hop": "wms_acceptance"}}}, "max_minutes, by_cutoff"),
    ({"statuses": {"dispatched": {"hop": "x", "max_minutes": 5}, "accepted": {"hop": "x", "by_cutoff": True}}},
     "unique"),
    ({"statuses": {"lost": {"hop": "x", "max_minutes": 5}}}, "statuses.lost"),
    ({"cutoffs": {"timezone": "Mars/Olympus"}}, "unknown time zone"),
    ({"statuses": {"dispatched": {"hop": "Bad Hop", "max_minutes": 5}}}, "pattern"),
])
def test_an_invalid_sla_document_is_refused_with_the_reason(change: dict[str, Any], problem: str) -> None:
    # Given the default document with one broken part / When it is validated / Then the reason says what
    with pytest.raises(ValidationError) as caught:
        SlaPolicy.model_validate({**DEFAULT_SLA_DOCUMENT, **change})
    assert problem in str(caught.value)


def test_the_default_document_covers_every_hop_from_payment_to_delivery() -> None:
    # Given / When
    hops = [(status.value, rule.hop) for status, rule in DEFAULT_SLA.ordered()]
    # Then
    assert hops == [("pending_payment", "pending_payment"), ("received", "processing"), ("held", "operator_review"),
                    ("reserved", "dispatch"),
                    ("dispatched", "wms_acceptance"), ("accepted", "warehouse_picking"),
                    ("picked", "warehouse_packing"), ("packed", "carrier_pickup"), ("shipped", "carrier_delivery")]
    assert DEFAULT_SLA.channel_writeback is not None and DEFAULT_SLA.channel_writeback.max_minutes == 30


# ---- evaluation ---------------------------------------------------------------------------------------


def test_cutoff_is_the_next_one_after_the_status_time_in_the_warehouse_zone() -> None:
    # Given cut-offs at 16:00 Shanghai, 18:00 for WH-SH
    cutoffs = Cutoffs(default=time(16), warehouses={"WH-SH": time(18)})
    rule = StatusSla(hop="warehouse_picking", by_cutoff=True)
    # When / Then: accepted at 12:00 → due 16:00 today; at 16:00 sharp → tomorrow; WH-SH → 18:00
    assert due_at(rule, T0, "WH-GZ", cutoffs) == SHANGHAI_16
    assert due_at(rule, SHANGHAI_16, "WH-GZ", cutoffs) == SHANGHAI_16 + timedelta(days=1)
    assert due_at(rule, T0, "WH-SH", cutoffs) == SHANGHAI_16 + timedelta(hours=2)
    # and with both limits, the later one: a floor of 6 hours past a cut-off 4 hours away
    both = StatusSla(hop="x", by_cutoff=True, max_minutes=360)
    assert due_at(both, T0, None, cutoffs) == T0 + timedelta(hours=6)


@given(
    since=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 1, 1), timezones=st.just(UTC)),
    age=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=3)),
    max_minutes=st.one_of(st.none(), st.integers(1, 3000)),
    by_cutoff=st.booleans(),
    cutoff_hour=st.integers(0, 23),
    warehouse_hour=st.integers(0, 23),
    warehouse=st.sampled_from(["WH-GZ", "WH-SH", None]),
)
def test_the_index_bound_never_misses_an_overdue_order(
    since: datetime, age: timedelta, max_minutes: int | None, by_cutoff: bool, cutoff_hour: int,
    warehouse_hour: int, warehouse: str | None,
) -> None:
    # Given any rule, cut-offs and an order's status time
    if max_minutes is None and not by_cutoff:
        by_cutoff = True
    rule = StatusSla(hop="x", max_minutes=max_minutes, by_cutoff=by_cutoff)
    cutoffs = Cutoffs(default=time(cutoff_hour), warehouses={"WH-SH": time(warehouse_hour)})
    since, now = since.replace(microsecond=0), since + age
    # When the order is overdue / Then the query bound includes it
    if due_at(rule, since, warehouse, cutoffs) <= now:
        assert since <= candidate_bound(rule, now, cutoffs)


def test_next_cutoff_is_strictly_after() -> None:
    # Given / When / Then
    assert next_cutoff(SHANGHAI_16 - timedelta(seconds=1), time(16), "Asia/Shanghai") == SHANGHAI_16
    assert next_cutoff(SHANGHAI_16, time(16), "Asia/Shanghai") == SHANGHAI_16 + timedelta(days=1)


# ---- the report ---------------------------------------------------------------------------------------


def test_report_groups_overdue_orders_by_hop_with_count_and_oldest() -> None:
    # Given, at 12:30 Shanghai: two orders dispatched 20 and 40 minutes ago, one 5 minutes ago, an order
    # accepted in the morning (due at the 16:00 cut-off), and one reserved 10 minutes ago (SLA 5)
    now = T0 + timedelta(minutes=30)
    orders = [
        _order("d-20", S.dispatched, now - timedelta(minutes=20)),
        _order("d-40", S.dispatched, now - timedelta(minutes=40)),
        _order("d-5", S.dispatched, now - timedelta(minutes=5)),
        _order("a-morning", S.accepted, T0 - timedelta(hours=3)),
        _order("r-10", S.reserved, now - timedelta(minutes=10)),
    ]
    # When the report is made
    report = stuck_report(_deps(orders, now), sample=1)
    # Then `wms_acceptance` has the two late ones, oldest first, and the sample is cut to one
    acceptance = report.hop("wms_acceptance")
    assert acceptance is not None
    assert (acceptance.status, acceptance.count) == (S.dispatched, 2)
    assert acceptance.oldest is not None and acceptance.oldest.order_id == "shopify-d-40"
    assert acceptance.oldest.due == now - timedelta(minutes=25)
    assert [o.order_id for o in acceptance.orders] == ["shopify-d-40"]
    # and the accepted order is not stuck before its cut-off; the reserved one is stuck at `dispatch`
    assert report.counts() == {"pending_payment": 0, "processing": 0, "operator_review": 0, "dispatch": 1,
                               "wms_acceptance": 2,
                               "warehouse_picking": 0, "warehouse_packing": 0, "carrier_pickup": 0,
                               "carrier_delivery": 0, "channel_writeback": 0}
    # and after 16:00 the accepted order is stuck too
    later = stuck_report(_deps(orders, SHANGHAI_16))
    assert later.counts()["warehouse_picking"] == 1


def test_an_unacknowledged_write_back_is_stuck_at_channel_writeback() -> None:
    # Given an order shipped at T0 whose channel never acknowledged the tracking number
    shipped = apply_event(_order("w-1", S.packed, T0 - timedelta(hours=1)),
                          callback("shipped", "p1", order_id="shopify-w-1"), T0).order
    # When the report runs 10 and 45 minutes later
    early = stuck_report(_deps([shipped], T0 + timedelta(minutes=10)))
    late = stuck_report(_deps([shipped], T0 + timedelta(minutes=45)))
    # Then it is listed only past the 30-minute write-back SLA, without a status
    assert early.counts()["channel_writeback"] == 0
    hop = late.hop("channel_writeback")
    assert hop is not None and hop.status is None and hop.count == 1
    assert hop.oldest is not None and (hop.oldest.order_id, hop.oldest.since) == ("shopify-w-1", T0)


def test_the_count_stops_at_the_scan_limit_and_says_so() -> None:
    # Given three stuck orders / When the limit is two
    now = T0 + timedelta(hours=1)
    report = stuck_report(_deps([_order(f"d-{i}", S.dispatched, T0 + timedelta(minutes=i)) for i in range(3)], now),
                          limit=2)
    # Then
    hop = report.hop("wms_acceptance")
    assert hop is not None and (hop.count, hop.truncated) == (2, True)


# ---- the watchdog -------------------------------------------------------------------------------------


def test_watchdog_reports_hops_whose_backlog_grew_since_the_last_run() -> None:
    # Given one stuck dispatched order, then a second one at the next run
    state = MemoryWatchdogState()
    now = T0 + timedelta(hours=1)
    one = [_order("d-1", S.dispatched, T0)]
    two = [*one, _order("d-2", S.dispatched, T0)]
    # When the watchdog runs three times (1 stuck, 2 stuck, still 2)
    first = run_watchdog(WatchdogDeps(stuck=_deps(one, now), state=state))
    second = run_watchdog(WatchdogDeps(stuck=_deps(two, now), state=state))
    third = run_watchdog(WatchdogDeps(stuck=_deps(two, now), state=state))
    # Then growth is reported against the previous run's counts only
    assert first.grown == {"wms_acceptance": (0, 1)}
    assert second.grown == {"wms_acceptance": (1, 2)}
    assert third.grown == {}
    assert state.last_counts("stuck_orders")["wms_acceptance"] == 2


def test_backlog_growth_ignores_shrinking_and_steady_hops() -> None:
    # Given / When / Then
    assert backlog_growth({"a": 3, "b": 1, "c": 0}, {"a": 2, "b": 1, "c": 4, "d": 1}) == {"c": (0, 4), "d": (0, 1)}


# ---- re-dispatch --------------------------------------------------------------------------------------


def test_redispatch_queues_the_next_version_for_named_orders_and_skips_the_rest() -> None:
    # Given a dispatched order (v1), an accepted one and an unknown id
    now = T0 + timedelta(hours=1)
    stuck = _deps([_order("d-1", S.dispatched, T0), _order("a-1", S.accepted, T0)], now)
    queue = MemoryDispatchQueue()
    deps = RedispatchDeps(orders=stuck.queries, stuck=stuck, queue=queue)  # type: ignore[arg-type]
    # When an operator re-dispatches them
    done = redispatch(deps, order_ids=["shopify-d-1", "shopify-a-1", "nope", "shopify-d-1"], actor="ops")
    # Then one request is queued, after the version the order is at, and the others say why not
    assert done.queued == ["shopify-d-1"]
    assert [(r.order_id, r.after_version, r.actor) for r in queue.requests] == [("shopify-d-1", 1, "ops")]
    assert done.skipped == [{"order_id": "shopify-a-1", "reason": "order is accepted"}]
    assert done.not_found == ["nope"]


def test_redispatch_by_hop_takes_the_stuck_orders_of_that_hop() -> None:
    # Given two dispatched orders, one past the 15-minute acceptance SLA
    now = T0 + timedelta(minutes=20)
    stuck = _deps([_order("old", S.dispatched, T0), _order("new", S.dispatched, now)], now)
    queue = MemoryDispatchQueue()
    deps = RedispatchDeps(orders=stuck.queries, stuck=stuck, queue=queue)  # type: ignore[arg-type]
    # When the `wms_acceptance` hop is re-dispatched
    done = redispatch(deps, hop="wms_acceptance")
    # Then only the stuck one is queued
    assert done.queued == ["shopify-old"]
    # and a hop the warehouse already has is refused, naming the hops that can be
    with pytest.raises(InvalidQuery) as refused:
        redispatch(deps, hop="warehouse_picking")
    assert refused.value.details == {"hops": ["dispatch", "wms_acceptance"]}
