"""The order state machine for WMS/TMS callbacks (pure): forward only, each event id once, one timeline entry each."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from ocp.domain.fulfillment.callbacks import FulfillmentEvent, Outcome, apply_event
from ocp.domain.fulfillment.state import IssueKind, WritebackState
from ocp.domain.fulfillment.writeback import due_writebacks, writeback_backoff, writeback_confirmed, writeback_failed
from ocp.domain.order.model import Order, OrderStatus
from tests.fulfillment_support import CUP, ORDER_ID, T0, TEA, callback, order_at

NOW = T0 + timedelta(minutes=10)
S = OrderStatus


def _run(order: Order, events: list[FulfillmentEvent]) -> tuple[Order, list[Outcome]]:
    outcomes = []
    for event in events:
        applied = apply_event(order, event, NOW)
        outcomes.append(applied.outcome)
        order = applied.order
    return order, outcomes


def _fulfillment_entries(order: Order) -> list[tuple[str, str | None]]:
    return [(e.event, e.detail) for e in order.timeline if e.hop == "fulfillment"]


# (case, starting status, callbacks as (event, event_id, extra fields), final status, outcomes)
SEQUENCES: list[tuple[str, OrderStatus, list[tuple[str, str, dict[str, Any]]], OrderStatus, list[str]]] = [
    ("in order", S.dispatched,
     [("accepted", "e1", {}), ("picked", "e2", {}), ("packed", "e3", {}), ("shipped", "e4", {}),
      ("delivered", "e5", {})],
     S.delivered, ["applied"] * 5),
    ("out of order: later steps first", S.dispatched,
     [("packed", "e3", {}), ("accepted", "e1", {}), ("picked", "e2", {})],
     S.packed, ["applied", "late", "late"]),
    ("duplicates are no-ops", S.dispatched,
     [("accepted", "e1", {}), ("accepted", "e1", {}), ("picked", "e2", {}), ("picked", "e2", {}),
      ("accepted", "e1", {})],
     S.picked, ["applied", "duplicate", "applied", "duplicate", "duplicate"]),
    ("a repeated step under a new id is late", S.dispatched,
     [("accepted", "e1", {}), ("accepted", "e1-resent", {})],
     S.accepted, ["applied", "late"]),
    ("steps may be skipped", S.dispatched, [("shipped", "e4", {})], S.shipped, ["applied"]),
    ("the WMS may answer before the hand-over is recorded", S.reserved, [("accepted", "e1", {})],
     S.accepted, ["applied"]),
    ("delivered before shipped: shipped is late", S.dispatched,
     [("delivered", "e5", {}), ("shipped", "e4", {})],
     S.delivered, ["applied", "late"]),
    ("nothing after delivered moves the order", S.dispatched,
     [("delivered", "e5", {}), ("delivered", "e5b", {}), ("packed", "e3", {})],
     S.delivered, ["applied", "late", "late"]),
    ("impossible for a cancelled order, and its retry is a duplicate", S.cancelled,
     [("delivered", "e5", {}), ("delivered", "e5", {})],
     S.cancelled, ["impossible", "duplicate"]),
    ("impossible before the order reaches a warehouse", S.held, [("accepted", "e1", {})], S.held, ["impossible"]),
    ("impossible for a received order, even an exception", S.received,
     [("exception", "x1", {})], S.received, ["impossible"]),
    ("an exception keeps the status", S.accepted, [("exception", "x1", {}), ("picked", "e2", {})],
     S.picked, ["applied", "applied"]),
    ("partial shipments by line id and by SKU, then the rest", S.accepted,
     [("shipped", "p1", {"lines": [{"line_id": TEA, "quantity": 1}]}),
      ("shipped", "p2", {"lines": [{"sku": "CUP-CELADON", "quantity": 1}]}),
      ("shipped", "p3", {})],
     S.shipped, ["applied", "applied", "applied"]),
    ("over-shipping a line is impossible", S.packed,
     [("shipped", "p1", {"lines": [{"line_id": TEA, "quantity": 3}]})], S.packed, ["impossible"]),
    ("shipping an unknown line is impossible", S.packed,
     [("shipped", "p1", {"lines": [{"sku": "NOT-ON-ORDER", "quantity": 1}]})], S.packed, ["impossible"]),
    ("a second full shipment after all shipped is late", S.packed,
     [("shipped", "p1", {}), ("shipped", "p2", {})], S.shipped, ["applied", "late"]),
    ("the warehouse stops the order; nothing after moves it", S.accepted,
     [("cancelled", "c1", {}), ("picked", "e2", {}), ("cancelled", "c2", {})],
     S.cancelled, ["applied", "impossible", "late"]),
    ("a stop is impossible once a parcel left", S.packed,
     [("shipped", "p1", {"lines": [{"line_id": TEA, "quantity": 1}]}), ("cancelled", "c1", {})],
     S.packed, ["applied", "impossible"]),
]


@pytest.mark.parametrize(("case", "start", "events", "final", "outcomes"), SEQUENCES, ids=[c[0] for c in SEQUENCES])
def test_callback_sequences(case: str, start: OrderStatus, events: list[tuple[str, str, dict[str, Any]]],
                            final: OrderStatus, outcomes: list[str]) -> None:
    # Given an order at `start`
    order = order_at(start)
    # When the callbacks arrive in this order
    after, seen = _run(order, [callback(name, event_id, **extra) for name, event_id, extra in events])
    # Then it ends at `final`, each callback had its outcome, and each distinct event id left one timeline entry
    assert after.status == final
    assert [o.value for o in seen] == outcomes
    distinct = list(dict.fromkeys(event_id for _, event_id, _ in events))
    assert len(_fulfillment_entries(after)) == len(distinct)
    assert after.fulfillment.event_ids == tuple(distinct)


def test_partial_shipment_is_tracked_per_line_and_holds_the_order_at_packed() -> None:
    # Given an accepted order with TEA × 2 and CUP × 1
    order = order_at(S.accepted)
    # When one TEA ships
    applied = apply_event(order, callback("shipped", "p1", lines=[{"line_id": TEA, "quantity": 1}]), NOW)
    # Then the order is packed (partially shipped), and the shipment says what left, with its parcel
    after = applied.order
    assert (applied.outcome, after.status) == (Outcome.applied, S.packed)
    [shipment] = after.fulfillment.shipments
    assert [(line.line_id, line.quantity) for line in shipment.lines] == [(TEA, 1)]
    assert (shipment.carrier, shipment.tracking_no) == ("SF", "SFp1")
    assert after.fulfillment.shipped_quantity(TEA) == 1 and after.fulfillment.shipped_quantity(CUP) == 0
    assert _fulfillment_entries(after)[-1] == ("shipped", f"partial: SF SFp1: {TEA}×1")


def test_a_sku_on_two_lines_fills_them_in_order() -> None:
    # Given an order whose two lines carry the same SKU
    order = order_at(S.packed)
    lines = (order.lines[0], order.lines[1].model_copy(update={"sku": order.lines[0].sku}))
    order = order.model_copy(update={"lines": lines})
    # When 3 of that SKU ship
    after = apply_event(order, callback("shipped", "p1", lines=[{"sku": lines[0].sku, "quantity": 3}]), NOW).order
    # Then both lines are fully shipped and so is the order
    assert [(ln.line_id, ln.quantity) for ln in after.fulfillment.shipments[0].lines] == [(TEA, 2), (CUP, 1)]
    assert after.status == S.shipped


def test_delivery_of_one_parcel_waits_for_the_others() -> None:
    # Given an order shipped in two parcels
    order, _ = _run(order_at(S.packed), [callback("shipped", "a", lines=[{"line_id": TEA, "quantity": 2}]),
                                          callback("shipped", "b", lines=[{"line_id": CUP, "quantity": 1}])])
    assert order.status == S.shipped
    # When the carrier delivers parcel a, then parcel b
    first = apply_event(order, callback("delivered", "d1", tracking_no="SFa"), NOW)
    second = apply_event(first.order, callback("delivered", "d2", tracking_no="SFb"), NOW)
    # Then the order is delivered only once both arrived, and the timeline names the carrier as source
    assert (first.outcome, first.order.status) == (Outcome.applied, S.shipped)
    assert (second.outcome, second.order.status) == (Outcome.applied, S.delivered)
    assert second.order.timeline[-1].source == "tms:SF"


def test_impossible_and_exception_events_raise_issues_on_the_order() -> None:
    # Given a cancelled order and an accepted one
    cancelled = apply_event(order_at(S.cancelled), callback("delivered", "e5"), NOW).order
    troubled = apply_event(order_at(S.accepted), callback("exception", "x1", reason="damaged in picking"), NOW).order
    # Then each carries an issue with the reason, and the timeline says why
    [impossible] = cancelled.fulfillment.issues
    assert (impossible.kind, impossible.event_id) == (IssueKind.impossible_event, "e5")
    assert "cancelled" in impossible.reason
    assert _fulfillment_entries(cancelled) == [("delivered", "impossible: order is cancelled, not with a warehouse")]
    [exception] = troubled.fulfillment.issues
    assert (exception.kind, exception.reason) == (IssueKind.wms_exception, "damaged in picking")
    assert troubled.status == S.accepted and troubled.holds == ()


def test_status_time_is_the_reported_time_but_never_ahead_of_now_nor_before_the_last_move() -> None:
    # Given an order dispatched at T0
    order = order_at(S.dispatched, since=T0)
    # When the WMS reports acceptance at T0+3 min, a pick from the future, and a pack dated before T0
    accepted = apply_event(order, callback("accepted", "e1", at="2026-11-11T12:03:00+08:00"), NOW).order
    picked = apply_event(accepted, callback("picked", "e2", at="2026-11-11T13:00:00+08:00"), NOW).order
    packed = apply_event(order, callback("packed", "e3", at="2026-11-11T11:00:00+08:00"), NOW).order
    # Then the status times are the report, clamped to now, and clamped to the previous move
    assert accepted.status_since == T0 + timedelta(minutes=3)
    assert picked.status_since == NOW
    assert packed.status_since == T0
    # and the timeline keeps what the reporter said
    assert picked.timeline[-1].at == T0 + timedelta(hours=1)


@pytest.mark.parametrize(("body", "field"), [
    ({"event": "lost"}, "event"),
    ({"event": "shipped", "carrier": "SF"}, "tracking_no"),
    ({"event": "shipped", "tracking_no": "SF1"}, "carrier"),
    ({"event": "exception"}, "reason"),
    ({"event": "accepted", "at": "2026-11-11 12:00:00"}, "at"),
    ({"event": "accepted", "lines": [{"line_id": TEA, "quantity": 1}]}, ""),
    ({"event": "shipped", "carrier": "SF", "tracking_no": "1", "lines": [{"line_id": TEA, "sku": "X", "quantity": 1}]},
     "lines.0"),
    ({"event": "accepted", "event_id": ""}, "event_id"),
])
def test_callback_bodies_are_validated_naming_the_field(body: dict[str, Any], field: str) -> None:
    # Given a callback body that breaks one rule
    document = {"order_id": ORDER_ID, "event_id": "e1", "at": "2026-11-11T04:00:00Z", **body}
    # When it is parsed / Then the error names the field
    with pytest.raises(ValidationError) as caught:
        FulfillmentEvent.model_validate(document)
    assert field in {".".join(str(p) for p in e["loc"]) for e in caught.value.errors()}


# ---- write-back state ------------------------------------------------------------------------------------


def _shipped_order() -> Order:
    return apply_event(order_at(S.packed), callback("shipped", "p1"), NOW).order


def test_a_shipment_owes_the_channel_a_write_back_until_acknowledged() -> None:
    # Given a shipped order
    order = _shipped_order()
    # Then its write-back is pending and due now, and the order is in the pending index since now
    assert order.writeback_pending_since == NOW
    assert [s.tracking_no for s in due_writebacks(order, NOW)] == ["SFp1"]
    # When the channel acknowledges it
    confirmed = writeback_confirmed(order, "SFp1", NOW + timedelta(seconds=5))
    # Then it is confirmed, on the timeline, and the order leaves the pending index
    assert confirmed is not None
    writeback = confirmed.fulfillment.shipments[0].writeback
    assert (writeback.state, writeback.attempts) == (WritebackState.confirmed, 1)
    assert confirmed.writeback_pending_since is None
    assert (confirmed.timeline[-1].hop, confirmed.timeline[-1].event) == ("channel_writeback", "written_back")
    # and a second acknowledgement changes nothing
    assert writeback_confirmed(confirmed, "SFp1", NOW) is None


def test_a_failed_write_back_is_retried_with_growing_backoff_and_stays_visible() -> None:
    # Given a shipped order whose channel times out twice
    order = _shipped_order()
    once = writeback_failed(order, "SFp1", "timeout", retryable=True, now=NOW)
    assert once is not None
    twice = writeback_failed(once, "SFp1", "timeout again", retryable=True, now=NOW + timedelta(minutes=1))
    assert twice is not None
    # Then it stays pending with the attempts, the last error and the next attempt after a backoff
    writeback = twice.fulfillment.shipments[0].writeback
    assert (writeback.state, writeback.attempts, writeback.last_error) == (WritebackState.pending, 2, "timeout again")
    assert writeback.next_attempt_at == NOW + timedelta(minutes=1) + writeback_backoff(2)
    assert due_writebacks(twice, NOW + timedelta(minutes=2)) == ()
    assert len(due_writebacks(twice, NOW + timedelta(minutes=3))) == 1
    # and no timeline entry per attempt; the order stays in the pending index since the shipment
    assert twice.timeline == order.timeline
    assert twice.writeback_pending_since == NOW


def test_a_refused_write_back_fails_for_good_with_an_issue() -> None:
    # Given a shipped order / When the channel refuses the confirmation
    failed = writeback_failed(_shipped_order(), "SFp1", "order closed on the channel", retryable=False, now=NOW)
    # Then it is failed, not retried, and still open (visible in the pending index and as an issue)
    assert failed is not None
    assert failed.fulfillment.shipments[0].writeback.state == WritebackState.failed
    assert due_writebacks(failed, NOW + timedelta(days=1)) == ()
    assert failed.writeback_pending_since == NOW
    assert failed.fulfillment.issues[-1].kind == IssueKind.writeback_rejected
    assert failed.timeline[-1].event == "writeback_rejected"


def test_backoff_doubles_from_a_minute_and_caps_at_an_hour() -> None:
    # Given / When / Then
    assert [writeback_backoff(n).total_seconds() / 60 for n in (1, 2, 3, 4, 7, 8, 20)] == [1, 2, 4, 8, 60, 60, 60]
