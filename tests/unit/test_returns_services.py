"""The returns services over the in-memory twins: requests, intercepts, receipts, refunds and replacements, one step
at a time (the state machine that chains them runs on moto in tests/integration and tests/e2e)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from ocp.domain.access.binding import receipt_binding
from ocp.domain.access.scopes import Forbidden
from ocp.domain.order.model import OrderStatus
from ocp.domain.returns.checks import ReturnRefused
from ocp.domain.returns.errors import InvalidReturnRequest
from ocp.domain.returns.model import RefundState, ReturnKind, ReturnStatus, Waiting
from ocp.services.access.attribution import acting_as
from ocp.services.returns.deps import Timing
from ocp.services.returns.intake import aftersale_return_id
from ocp.services.returns.requests import create_return, decide_return, record_receipt, settle
from tests.returns_support import ReturnsWorld, line

AUTO = {"rules": [{"id": "auto", "priority": 1, "when": {"always": True},
                   "then": {"auto_approve": True, "window_days": 7, "minor_wear_deduction_percent": 10}}]}


def _request(world: ReturnsWorld, **body: object) -> str:
    after_sale, _ = create_return({"order_id": "taobao-1001", **body}, world.deps, "cs-1")
    return after_sale.return_id


def _through_decision(world: ReturnsWorld, return_id: str) -> None:
    assert world.step("validate", return_id) == {"next": "ok"}
    assert world.step("decide", return_id) == {"next": "approved"}


def test_a_request_is_checked_now_stored_once_and_its_workflow_started_once() -> None:
    # Given a delivered order of 2 teas
    world = ReturnsWorld()
    world.delivered([line("TEA-1", 2, 19900)])
    # When the same request (request_id) is made twice
    first = _request(world, lines=[{"sku": "TEA-1", "quantity": 1, "reason": "no_reason"}], request_id="cs-77")
    again = _request(world, lines=[{"sku": "TEA-1", "quantity": 1, "reason": "no_reason"}], request_id="cs-77")
    # Then one after-sale, one execution named by it
    assert first == again
    assert list(world.workflows.started) == [first]
    assert world.workflows.started[first]["return_id"] == first
    # And more than bought is refused with the line named, nothing stored
    with pytest.raises(ReturnRefused) as refused:
        _request(world, lines=[{"sku": "TEA-1", "quantity": 2}])
    assert [p.code for p in refused.value.problems] == ["quantity_exceeded"]
    assert len(world.returns.of_order("taobao-1001")) == 1


def test_a_refund_before_shipment_of_the_whole_order_cancels_it_and_releases_its_stock() -> None:
    # Given a reserved order of 2 teas and an auto-approving policy
    world = ReturnsWorld()
    world.put_rules("return_policy", AUTO)
    world.reserved([line("TEA-1", 2, 19900)])
    assert world.available("TEA-1") == 8
    return_id = _request(world, kind="refund_only", lines=[{"sku": "TEA-1", "quantity": 2}])
    _through_decision(world, return_id)
    # When the workflow routes and intercepts it
    assert world.step("route", return_id) == {"next": "intercept"}
    assert world.step("intercept", return_id) == {"next": "refund"}
    # Then the order is cancelled and its units are back on sale; a repeat changes nothing
    assert world.order().status == OrderStatus.cancelled
    assert world.available("TEA-1") == 10
    assert world.step("intercept", return_id) == {"next": "refund"}
    assert world.available("TEA-1") == 10


def test_a_refund_before_shipment_of_some_units_takes_them_off_the_order_and_releases_only_them() -> None:
    # Given a reserved order of 3 teas and a cup
    world = ReturnsWorld()
    world.put_rules("return_policy", AUTO)
    world.reserved([line("TEA-1", 3, 19900), line("CUP-1", 1, 5000)])
    return_id = _request(world, kind="refund_only", lines=[{"sku": "TEA-1", "quantity": 1}])
    _through_decision(world, return_id)
    # When intercepted
    assert world.step("intercept", return_id) == {"next": "refund"}
    # Then 2 teas and the cup stay reserved, one tea is back on sale, and the money adds up
    order = world.order()
    assert order.status == OrderStatus.reserved
    assert [(x.sku, x.quantity, x.paid) for x in order.lines] == [("TEA-1", 2, 39800), ("CUP-1", 1, 5000)]
    assert (world.available("TEA-1"), world.available("CUP-1")) == (8, 9)
    # And a repeat takes nothing more off
    world.step("intercept", return_id)
    assert [x.quantity for x in world.order().lines] == [2, 1]


def test_receipts_put_each_grade_on_its_books_once_and_the_refund_deducts_for_wear() -> None:
    # Given a delivered order of 2 teas, its return approved and a pickup booked
    world = ReturnsWorld()
    world.put_rules("return_policy", AUTO)
    world.delivered([line("TEA-1", 2, 19900)])
    return_id = _request(world, lines=[{"sku": "TEA-1", "quantity": 2}])
    _through_decision(world, return_id)
    assert world.step("take_back", return_id) == {"next": "ok"}
    label = world.after_sale(return_id).label
    assert label is not None and label.source == "ocp" and label.waybill_no.startswith("SF")
    before = world.on_hand("TEA-1")
    # When the warehouse receives one intact, then one worn, and the second receipt is sent twice
    record_receipt(return_id, {"receipt_id": "r1", "lines": [{"sku": "TEA-1", "quantity": 1, "grade": "intact"}]},
                   world.deps, "wms:WH-GZ")
    for _ in range(2):
        record_receipt(return_id, {"receipt_id": "r2",
                                   "lines": [{"sku": "TEA-1", "quantity": 1, "grade": "minor_wear"}]},
                       world.deps, "wms:WH-GZ")
    # Then one unit is back on sale, one is in the second-grade bucket, once each
    assert world.on_hand("TEA-1") == before + 1
    assert world.on_hand("TEA-1@second_grade") == 1
    assert world.after_sale(return_id).fully_received()
    # And the refund is both units' paid less 10% of the worn one's worth
    assert world.step("refund", return_id)["next"] == "await_settlement"
    refund = world.after_sale(return_id).refund
    assert refund is not None and (refund.amount, refund.deductions, refund.state) == (
        39800 - 1990, 1990, RefundState.requested)


def test_a_warehouse_principal_books_only_returns_due_back_at_its_warehouse_and_its_entries_name_it() -> None:
    # Given a return of an order shipped from WH-GZ, waiting for its goods
    world = ReturnsWorld()
    world.put_rules("return_policy", AUTO)
    world.delivered([line("TEA-1", 2, 19900)])
    return_id = _request(world, lines=[{"sku": "TEA-1", "quantity": 2}])
    _through_decision(world, return_id)
    assert world.step("take_back", return_id) == {"next": "ok"}
    scan = {"lines": [{"sku": "TEA-1", "quantity": 1, "grade": "intact"}]}
    sh = receipt_binding("wms-sh", ("wms:WH-SH",), return_id)
    gz = receipt_binding("wms-gz", ("wms:WH-GZ",), return_id)
    # When WH-SH's principal books it, naming its own warehouse or none / Then 403 naming WH-GZ, nothing recorded
    for named in ({"warehouse": "WH-SH"}, {}):
        with pytest.raises(Forbidden) as refused:
            record_receipt(return_id, {**scan, **named}, world.deps, "wms-sh", sh)
        assert refused.value.details == {"warehouse": "WH-GZ", "principal": "wms-sh", "may_act_for": ["WH-SH"],
                                         "return_id": return_id}
    # And WH-GZ's principal may not book it elsewhere
    with pytest.raises(Forbidden):
        record_receipt(return_id, {**scan, "warehouse": "WH-SH"}, world.deps, "wms-gz", gz)
    assert world.after_sale(return_id).receipts == ()
    assert receipt_binding("ops", ("operator", "wms:WH-SH"), return_id) is None
    # When WH-GZ's principal books it at WH-GZ / Then it is recorded, and its ledger entries name the principal
    with acting_as("wms-gz"):
        stored = record_receipt(return_id, {**scan, "receipt_id": "r1"}, world.deps, "wms-gz", gz)
    assert [r.warehouse for r in stored.receipts] == ["WH-GZ"]
    entries = [e for e in world.inventory.ledger("TEA-1") if e.entry_id.startswith(f"return#{return_id}#r1")]
    assert entries and {e.principal for e in entries} == {"wms-gz"}


def test_two_partial_returns_of_one_line_refund_exactly_its_paid() -> None:
    # Given a delivered line of 3 units paid 1000 together
    world = ReturnsWorld()
    world.put_rules("return_policy", AUTO)
    world.delivered([line("CUP-1", 3, 400, paid=1000)])
    amounts = []
    # When two returns take 1 and then 2 units, each refunded
    for quantity in (1, 2):
        return_id = _request(world, kind="refund_only_after_ship", lines=[{"sku": "CUP-1", "quantity": quantity}])
        _through_decision(world, return_id)
        world.step("refund", return_id)
        refund = world.after_sale(return_id).refund
        assert refund is not None
        amounts.append(refund.amount)
    # Then they add up to the line's paid
    assert amounts == [333, 667] and sum(amounts) == 1000


def test_an_approval_that_came_before_the_wait_resumes_the_workflow_at_once() -> None:
    # Given a return waiting for a person (the built-in policy), approved before the task token is stored
    world = ReturnsWorld()
    world.delivered([line("TEA-1", 1, 19900)])
    return_id = _request(world, lines=[{"sku": "TEA-1", "quantity": 1}])
    world.step("validate", return_id)
    assert world.step("decide", return_id) == {"next": "manual"}
    decide_return(return_id, True, world.deps, "lead-1", "ok")
    # When the wait is recorded
    world.step("await", return_id, on="decision", token="tok-1")
    # Then the workflow is resumed with the approval
    assert world.workflows.resumed == {"tok-1": {"next": "approved"}}
    assert world.after_sale(return_id).wait is not None
    assert world.after_sale(return_id).wait.on == Waiting.decision  # type: ignore[union-attr]


def test_an_exchange_places_a_free_replacement_that_is_reserved_and_sent_to_the_dispatcher() -> None:
    # Given a delivered tea exchanged
    world = ReturnsWorld()
    world.put_rules("return_policy", AUTO)
    world.delivered([line("TEA-1", 1, 19900)])
    return_id = _request(world, kind="exchange", lines=[{"sku": "TEA-1", "quantity": 1}])
    _through_decision(world, return_id)
    before = world.available("TEA-1")
    # When the replacement step runs (twice)
    assert world.step("replace", return_id) == {"next": "done"}
    world.step("replace", return_id)
    # Then one replacement order, reserved at no charge, is queued for dispatch, and the after-sale is closed
    after_sale = world.after_sale(return_id)
    assert after_sale.status == ReturnStatus.closed and after_sale.kind == ReturnKind.exchange
    replacement = world.order(str(after_sale.replacement_order_id))
    assert (replacement.status, replacement.amounts.paid, replacement.aftersale_of) == (
        OrderStatus.reserved, 0, return_id)
    assert world.available("TEA-1") == before - 1
    assert [r.order_id for r in world.dispatch.requests].count(replacement.order_id) == 1


def test_without_a_carrier_the_buyer_sends_the_goods_back_and_a_receipt_moves_it_on() -> None:
    # Given a deployed stack with no carrier configured, and an approved return
    world = ReturnsWorld()
    world.deps = dataclasses.replace(world.deps, carriers=None)
    world.put_rules("return_policy", AUTO)
    world.delivered([line("TEA-1", 1, 19900)])
    return_id = _request(world, lines=[{"sku": "TEA-1", "quantity": 1}])
    _through_decision(world, return_id)
    # When the goods are to come back / Then no label is invented: OCP waits for the buyer's parcel
    assert world.step("take_back", return_id) == {"next": "ok"}
    waiting = world.after_sale(return_id)
    assert (waiting.status, waiting.label) == (ReturnStatus.awaiting_buyer_shipment, None)
    # And the warehouse's scan of it is taken
    record_receipt(return_id, {"lines": [{"sku": "TEA-1", "quantity": 1, "grade": "intact"}]}, world.deps, "wms")
    assert world.after_sale(return_id).status == ReturnStatus.awaiting_receipt
    assert world.after_sale(return_id).fully_received()


def test_a_pending_decision_escalates_an_hour_before_the_channels_own_deadline() -> None:
    # Given the workflow's timing: a day for a decision, an hour's margin before a channel decides on its own
    timing = Timing(decision_timeout_s=24 * 3600, deadline_margin_s=3600)
    now = datetime(2026, 11, 11, 4, 0, tzinfo=UTC)
    # When / Then: no deadline → a day; a deadline in 5 hours → 4 hours; one already (nearly) passed → at once
    assert timing.decision_timeout(now, None) == 24 * 3600
    assert timing.decision_timeout(now, now + timedelta(hours=5)) == 4 * 3600
    assert timing.decision_timeout(now, now + timedelta(minutes=30)) == 1
    assert timing.execution_input("ret-1", now, None)["timing"]["decision_timeout_s"] == 24 * 3600


def test_channel_after_sale_ids_become_url_safe_return_ids() -> None:
    assert aftersale_return_id("douyin", "7300000000123456710") == "douyin-as-7300000000123456710"
    assert aftersale_return_id("shopify", "gid://shopify/Return/945000308") == "shopify-as-945000308"


def _refunded(world: ReturnsWorld, return_id: str) -> int:
    world.step("refund", return_id)
    refund = world.after_sale(return_id).refund
    assert refund is not None
    return refund.amount


def test_a_line_refunds_its_paid_exactly_even_when_an_earlier_after_sale_was_rejected() -> None:
    # Given 3 units paid 1000 together: A asks for 1, B for 2, then A is rejected and C asks for 1
    world = ReturnsWorld()
    world.put_rules("return_policy", AUTO)
    world.delivered([line("CUP-1", 3, 400, paid=1000)])
    ask = {"kind": "refund_only_after_ship", "lines": [{"sku": "CUP-1", "quantity": 1}]}
    first = _request(world, **ask)
    second = _request(world, kind="refund_only_after_ship", lines=[{"sku": "CUP-1", "quantity": 2}])
    decide_return(first, False, world.deps, "lead-1", "no")
    third = _request(world, **ask)
    # When B and C are refunded / Then together exactly the line's paid
    for return_id in (second, third):
        _through_decision(world, return_id)
    assert _refunded(world, second) + _refunded(world, third) == 1000


def test_units_refunded_before_shipment_leave_the_line_and_a_later_return_takes_the_rest_exactly() -> None:
    # Given 3 units paid 1000 reserved, one refunded before shipment (it leaves the order)
    world = ReturnsWorld()
    world.put_rules("return_policy", AUTO)
    world.reserved([line("CUP-1", 3, 400, paid=1000)])
    early = _request(world, kind="refund_only", lines=[{"sku": "CUP-1", "quantity": 1}])
    _through_decision(world, early)
    world.step("intercept", early)
    first = _refunded(world, early)
    # When the other two are delivered and returned
    world.orders.put_unchecked(world.order().model_copy(update={"status": OrderStatus.delivered}))
    later = _request(world, kind="refund_only_after_ship", lines=[{"sku": "CUP-1", "quantity": 2}])
    _through_decision(world, later)
    # Then both refunds add up to what was paid for the line
    assert (first, _refunded(world, later)) == (333, 667)


def test_a_refund_settled_just_as_it_timed_out_is_not_reported_overdue() -> None:
    # Given a refund agreed and then settled
    world = ReturnsWorld()
    world.put_rules("return_policy", AUTO)
    world.delivered([line("TEA-1", 1, 19900)])
    return_id = _request(world, kind="refund_only_after_ship", lines=[{"sku": "TEA-1", "quantity": 1}])
    _through_decision(world, return_id)
    world.step("refund", return_id)
    settle(return_id, world.deps, "psp")
    # When the overdue step runs late / Then it stays refunded
    world.step("overdue", return_id)
    assert world.after_sale(return_id).status == ReturnStatus.refunded


def test_a_return_the_policy_refunds_without_the_goods_goes_to_the_refund_and_still_takes_receipts() -> None:
    # Given a policy that refunds returns before the goods arrive
    world = ReturnsWorld()
    world.put_rules("return_policy", {"rules": [{"id": "fast", "priority": 1, "when": {"always": True},
                                                 "then": {"auto_approve": True, "require_receipt": False}}]})
    world.delivered([line("TEA-1", 1, 19900)])
    return_id = _request(world, lines=[{"sku": "TEA-1", "quantity": 1}])
    _through_decision(world, return_id)
    # When the goods are to come back / Then the workflow goes on to the refund at once
    assert world.step("take_back", return_id) == {"next": "refund"}
    world.step("refund", return_id)
    # And the parcel scanned later still lands on the books
    record_receipt(return_id, {"lines": [{"sku": "TEA-1", "quantity": 1, "grade": "intact"}]}, world.deps, "w")
    assert world.after_sale(return_id).status == ReturnStatus.refund_pending
    assert [len(r.lines) for r in world.after_sale(return_id).receipts] == [1]


def test_two_scans_without_an_id_both_count() -> None:
    # Given a return of 2 awaiting its goods
    world = ReturnsWorld()
    world.put_rules("return_policy", AUTO)
    world.delivered([line("TEA-1", 2, 19900)])
    return_id = _request(world, lines=[{"sku": "TEA-1", "quantity": 2}])
    _through_decision(world, return_id)
    world.step("take_back", return_id)
    # When the warehouse scans one unit, then the other, without receipt ids
    for _ in range(2):
        record_receipt(return_id, {"lines": [{"sku": "TEA-1", "quantity": 1, "grade": "intact"}]}, world.deps, "w")
    # Then both are received; a third is refused (nothing more expected)
    assert world.after_sale(return_id).fully_received()
    with pytest.raises(InvalidReturnRequest):
        record_receipt(return_id, {"lines": [{"sku": "TEA-1", "quantity": 1, "grade": "intact"}]}, world.deps, "w")
