"""Merged parcels over the in-memory twins: orders of one buyer to one address wait for each other, leave as one
instruction naming both, move together on callbacks with each order's own stock, and an order with no mate leaves
alone when its window ends; with the window at 0 nothing changes."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest

from ocp.adapters.memory.fulfillment import MemoryWms
from ocp.adapters.memory.merge import MemoryMergeGroups
from ocp.domain.access.binding import callback_binding
from ocp.domain.access.scopes import Forbidden
from ocp.domain.decisions.rules import InvalidRuleDocument, json_schema, validate_document
from ocp.domain.decisions.rules.documents.routing import RoutingDocument
from ocp.domain.errors import ConcurrentModification
from ocp.domain.fulfillment.callbacks import FulfillmentEvent, Outcome
from ocp.domain.fulfillment.dispatch import DispatchOutcome, DispatchRequest, WarehouseInstruction
from ocp.domain.fulfillment.merge import MergedInstruction, ParcelPartlyRecorded
from ocp.domain.fulfillment.merge_window import merge_due, waits
from ocp.domain.inventory.commit import CommitRejected, OrderCommit
from ocp.domain.order.model import Order, OrderStatus
from ocp.services.fulfillment.callbacks import CallbackDeps
from ocp.services.fulfillment.dispatch import DispatchDeps, DispatchResult, dispatch, dispatch_now
from ocp.services.fulfillment.merge import MergeRun, MergeRunDeps, merge_due_orders, record_parcel_callback
from ocp.services.inventory.stock import ledger_view, stock_board
from ocp.services.operations.held_queue import cancel_order
from tests.held_support import RulesWorld, paid_order
from tests.rules_support import line

A, B, C = "taobao-1001", "taobao-1002", "taobao-1003"
GROUP = f"merge:{A}"
ANY_WAREHOUSE = {"id": "default", "priority": 1, "when": {"always": True}, "then": {"warehouses": ["*"]}}


@dataclass
class MergeWorld:
    """The order path of `RulesWorld`, its dispatcher, the merge run and the callbacks, at a settable time."""

    window: int = 10
    world: RulesWorld = field(default_factory=RulesWorld)
    wms: MemoryWms = field(default_factory=MemoryWms)

    def __post_init__(self) -> None:
        world = self.world
        world.put_rules("routing", {"rules": [ANY_WAREHOUSE], "merge_window_minutes": self.window})
        for sku in ("TEA-1", "CUP-1"):
            world.push(sku, 10)
        self.dispatching = DispatchDeps(orders=world.orders, wms=self.wms, now=lambda: world.now)
        self.merging = MergeRunDeps(orders=world.orders, groups=MemoryMergeGroups(world.orders),
                                    queue=world.dispatch, now=lambda: world.now)
        self.callbacks = CallbackDeps(orders=world.orders, now=lambda: world.now, counts=world.inventory)

    def later(self, minutes: float) -> None:
        self.world.now += timedelta(minutes=minutes)

    def place(self, order_id: str, sku: str, quantity: int, **changes: Any) -> Order:
        stored = self.world.store(paid_order(order_id, lines=[line(sku, quantity)], **changes)).order
        assert stored is not None and stored.status == OrderStatus.reserved, stored
        return self.world.order(order_id)

    def run(self) -> MergeRun:
        return merge_due_orders(self.merging)

    def dispatch_queued(self) -> list[DispatchResult]:
        """The dispatcher takes every request queued so far (the queue is drained)."""
        requests, self.world.dispatch.requests[:] = list(self.world.dispatch.requests), []
        return [dispatch(request, self.dispatching) for request in requests]

    def callback(self, order_id: str, event: str, event_id: str, **fields: Any) -> Any:
        body = {"order_id": order_id, "event": event, "event_id": event_id, "at": "2026-11-11T12:40:00+08:00",
                **fields}
        if event == "shipped":
            body |= {"carrier": "SF", "tracking_no": f"SF{event_id}"}
        return record_parcel_callback(FulfillmentEvent.model_validate(body), self.callbacks)

    def board(self, sku: str) -> tuple[int, int]:
        totals = stock_board(sku, self.world._inventory_deps).totals
        return totals.on_hand, totals.reserved

    def books_balance(self) -> bool:
        return all(w.explains_board for sku in ("TEA-1", "CUP-1")
                   for w in ledger_view(sku, self.world._inventory_deps).warehouses)


def _two_mates_and_a_stranger(merge: MergeWorld) -> None:
    """A and B: one buyer, one address, two minutes apart; C: the same buyer to another address."""
    merge.place(A, "TEA-1", 1)
    merge.later(2)
    merge.place(B, "CUP-1", 2)
    merge.place(C, "TEA-1", 2, address={"detail": "体育西路1号"})


# ---- waiting and grouping ----------------------------------------------------------------------------------------


def test_two_orders_of_one_buyer_to_one_address_reach_the_wms_as_one_instruction_naming_both() -> None:
    # Given the routing document's merge window at 10 minutes, and A, B and C reserved
    merge = MergeWorld()
    _two_mates_and_a_stranger(merge)
    # Then none of them went to the dispatcher: each waits, and its timeline says why
    assert merge.world.dispatch.requests == []
    assert all(waits(merge.world.order(i)) for i in (A, B, C))
    assert merge.world.order(B).timeline[-1].event == "merge_waiting"
    # When the merge runs before A's window ended, then after it, and the dispatcher takes what was queued
    merge.later(5)
    early = merge.run()
    merge.later(3.5)
    run = merge.run()
    results = merge.dispatch_queued()
    # Then A and B left together (B's own window had not ended) as one instruction naming both, C still waits
    assert (early.grouped, run.grouped, run.alone) == ([], [(A, B)], [])
    assert [(r.order_id, r.outcome, r.version) for r in results] == [(A, DispatchOutcome.dispatched, 1)]
    [sent] = merge.wms.sent
    assert isinstance(sent, MergedInstruction)
    assert (sent.order_id, sent.idempotency_key, sent.merged_order_ids) == (GROUP, f"{GROUP}:1", (A, B))
    assert [(ln.order_id, ln.sku, ln.quantity) for ln in sent.lines] == [(A, "TEA-1", 1), (B, "CUP-1", 2)]
    body = json.loads(sent.model_dump_json())
    assert body["merged_order_ids"] == [A, B] and body["lines"][1]["order_id"] == B
    # And each order is dispatched with its own timeline, money and merge record
    for order_id in (A, B):
        order = merge.world.order(order_id)
        assert (order.status, order.fulfillment.instruction_version) == (OrderStatus.dispatched, 1)
        merged = order.fulfillment.merge
        assert merged is not None and (merged.group_id, merged.order_ids, merged.instruction_version) == (
            GROUP, (A, B), 1)
        assert [e.event for e in order.timeline[-3:]] == ["merge_waiting", "merged", "dispatched"]
    assert merge.world.order(B).amounts.paid == paid_order(B, lines=[line("CUP-1", 2)]).amounts.paid
    assert waits(merge.world.order(C))


def test_an_order_with_no_mate_leaves_alone_when_its_window_ends_with_todays_instruction() -> None:
    # Given A and B grouped and dispatched, C waiting
    merge = MergeWorld()
    _two_mates_and_a_stranger(merge)
    merge.later(8.5)
    merge.run()
    merge.dispatch_queued()
    # When C's window ends
    merge.later(2)
    run = merge.run()
    results = merge.dispatch_queued()
    # Then C left alone as a plain instruction, exactly as an order that never waited
    assert (run.grouped, run.alone) == ([], [C])
    assert [(r.order_id, r.outcome) for r in results] == [(C, DispatchOutcome.dispatched)]
    single = merge.wms.sent[-1]
    assert type(single) is WarehouseInstruction and single.idempotency_key == f"{C}:1"
    assert set(json.loads(single.model_dump_json())) >= {"order_id", "lines"}
    assert "merged_order_ids" not in json.loads(single.model_dump_json())
    assert all("order_id" not in ln for ln in json.loads(single.model_dump_json())["lines"])
    c = merge.world.order(C)
    assert c.status == OrderStatus.dispatched and c.timeline[-2].event == "merge_window_ended"


def test_a_repeated_run_and_a_redelivered_request_send_nothing_more() -> None:
    # Given A and B grouped by one run, and the dispatcher's request delivered twice
    merge = MergeWorld()
    _two_mates_and_a_stranger(merge)
    merge.later(8.5)
    merge.run()
    merge.world.dispatch.requests.extend(list(merge.world.dispatch.requests))
    results = merge.dispatch_queued()
    # When the run repeats at once, and again well after the group's hand-over would be asked for again
    again = merge.run()
    merge.later(1)  # C's window has not ended yet
    later = merge.run()
    # Then one instruction went, the redelivery was already done, and no run asked for anything more
    assert [r.outcome for r in results] == [DispatchOutcome.dispatched, DispatchOutcome.already_dispatched]
    assert len(merge.wms.sent) == 1
    assert (again.grouped, again.alone, again.asked_again, later.grouped, later.asked_again) == ([], [], [], [], [])
    assert merge.world.dispatch.requests == []


def test_a_group_whose_request_was_lost_is_asked_for_again_once_and_sent_once() -> None:
    # Given A and B grouped, and the run's dispatch request lost
    merge = MergeWorld()
    _two_mates_and_a_stranger(merge)
    merge.later(8.5)
    merge.run()
    merge.world.dispatch.requests.clear()
    # When the run comes after the recheck delay (C's window ended meanwhile too)
    merge.later(6)
    run = merge.run()
    results = merge.dispatch_queued()
    # Then the group is asked for again by its first order and C goes alone: two instructions in all
    assert (run.asked_again, run.alone) == ([A], [C])
    assert sorted(r.outcome for r in results) == [DispatchOutcome.dispatched] * 2
    assert sorted(i.idempotency_key for i in merge.wms.sent) == [f"{GROUP}:1", f"{C}:1"]


def test_a_waiting_order_is_never_dispatched_alone_by_a_plain_request() -> None:
    # Given A waiting
    merge = MergeWorld()
    merge.place(A, "TEA-1", 1)
    # When a redelivered or operator's request asks the dispatcher for it
    result = dispatch(DispatchRequest(order_id=A), merge.dispatching)
    # Then it keeps waiting
    assert (result.outcome, merge.wms.sent) == (DispatchOutcome.not_dispatchable, [])
    assert result.detail is not None and result.detail.startswith("waits to merge until")


def test_window_zero_hands_a_reserved_order_to_the_dispatcher_at_once() -> None:
    # Given merging off
    merge = MergeWorld(window=0)
    # When A is reserved
    order = merge.place(A, "TEA-1", 1)
    # Then it is asked for at once and waits for nothing
    assert [r.order_id for r in merge.world.dispatch.requests] == [A]
    assert order.fulfillment.merge is None and merge_due(order) is None


def test_an_order_without_a_buyer_does_not_wait() -> None:
    merge = MergeWorld()
    merge.place(A, "TEA-1", 1, buyer_id=None)
    assert [r.order_id for r in merge.world.dispatch.requests] == [A]


def test_a_cancelled_order_leaves_its_group_before_dispatch_and_the_next_version_goes_without_it() -> None:
    # Given A and B grouped, and B cancelled by an operator before the dispatcher took the group
    merge = MergeWorld()
    _two_mates_and_a_stranger(merge)
    merge.later(8.5)
    merge.run()
    cancel_order(merge.world.held, B, actor="ops@example.com")
    # When the dispatcher takes the group
    results = merge.dispatch_queued()
    # Then the instruction is the group's next version, without B; B's timeline says it left
    [sent] = merge.wms.sent
    assert isinstance(sent, MergedInstruction)
    assert (sent.idempotency_key, sent.merged_order_ids) == (f"{GROUP}:2", (A,))
    assert [(r.outcome, r.version) for r in results] == [(DispatchOutcome.dispatched, 2)]
    b = merge.world.order(B)
    assert b.status == OrderStatus.cancelled and b.timeline[-1].event == "merge_left"
    a = merge.world.order(A)
    assert a.fulfillment.merge is not None and a.fulfillment.merge.order_ids == (A,)
    assert a.status == OrderStatus.dispatched and merge.board("CUP-1") == (10, 0)


# ---- callbacks ---------------------------------------------------------------------------------------------------


def _dispatched_pair(merge: MergeWorld) -> None:
    merge.place(A, "TEA-1", 1)
    merge.later(2)
    merge.place(B, "CUP-1", 2)
    merge.later(9)
    merge.run()
    merge.dispatch_queued()


def test_a_shipped_callback_moves_both_orders_and_deducts_each_orders_stock_with_the_books_balancing() -> None:
    # Given A (TEA-1 × 1) and B (CUP-1 × 2) dispatched as one parcel
    merge = MergeWorld()
    _dispatched_pair(merge)
    assert (merge.board("TEA-1"), merge.board("CUP-1")) == ((10, 1), (10, 2))
    # When the WMS reports the parcel accepted, then shipped, naming the group as the instruction did
    accepted = merge.callback(GROUP, "accepted", "e1")
    shipped = merge.callback(GROUP, "shipped", "e2")
    # Then each order moved through its own state machine, and each order's units left on_hand and reserved
    assert [(r.order_id, r.outcome) for r in accepted.results] == [(A, Outcome.applied), (B, Outcome.applied)]
    assert [(r.order_id, r.status) for r in shipped.results] == [(A, OrderStatus.shipped), (B, OrderStatus.shipped)]
    assert all(r.writeback_due for r in shipped.results)
    assert (merge.board("TEA-1"), merge.board("CUP-1")) == ((9, 0), (8, 0))
    assert merge.books_balance()
    for order_id in (A, B):
        order = merge.world.order(order_id)
        assert [s.tracking_no for s in order.fulfillment.shipments] == ["SFe2"]
        assert order.timeline[-1].event == "shipped"


def test_a_callback_naming_one_order_moves_the_parcel_and_again_is_a_duplicate_for_each() -> None:
    merge = MergeWorld()
    _dispatched_pair(merge)
    first = merge.callback(B, "picked", "p1")
    again = merge.callback(A, "picked", "p1")
    assert first.answer.order_id == B and [r.status for r in first.results] == [OrderStatus.picked] * 2
    assert [r.outcome for r in again.results] == [Outcome.duplicate, Outcome.duplicate]


def test_a_shipment_naming_lines_gives_each_order_its_own_lines() -> None:
    merge = MergeWorld()
    _dispatched_pair(merge)
    parcel = merge.callback(GROUP, "shipped", "s1", lines=[{"sku": "CUP-1", "quantity": 1}])
    assert [(r.order_id, r.status) for r in parcel.results] == [(B, OrderStatus.packed)]
    assert merge.world.order(A).status == OrderStatus.dispatched


def test_a_cancelled_confirmation_naming_one_order_stays_with_it() -> None:
    merge = MergeWorld()
    _dispatched_pair(merge)
    parcel = merge.callback(B, "cancelled", "c1")
    assert [(r.order_id, r.status) for r in parcel.results] == [(B, OrderStatus.cancelled)]
    assert merge.world.order(A).status == OrderStatus.dispatched
    assert merge.board("CUP-1") == (10, 0)


def test_a_warehouse_principal_is_refused_a_parcel_with_an_order_at_another_warehouse_and_nothing_is_recorded(
) -> None:
    # Given A and B dispatched from WH-GZ as one parcel, and B since at WH-SH (its record still names the group)
    merge = MergeWorld()
    _dispatched_pair(merge)
    moved = merge.world.order(B).model_copy(update={"warehouse": "WH-SH"})
    merge.world.orders.replace(moved, moved.revision)
    revisions = [merge.world.order(i).revision for i in (A, B)]
    gz = callback_binding("wms-gz", ("wms:WH-GZ",), None, None)
    # When WH-GZ's principal reports the parcel picked, by the group or by A alone
    for named in (GROUP, A):
        with pytest.raises(Forbidden) as refused:
            record_parcel_callback(_event(named, "picked", f"p-{named}"), merge.callbacks, gz)
        # Then 403 naming B and WH-SH, and neither order recorded it
        assert refused.value.details == {"warehouse": "WH-SH", "principal": "wms-gz", "may_act_for": ["WH-GZ"],
                                         "order_id": B}
    assert [merge.world.order(i).revision for i in (A, B)] == revisions
    # And WH-SH's principal is refused A the same way, while an unbound caller moves both
    sh = callback_binding("wms-sh", ("wms:WH-SH",), None, None)
    with pytest.raises(Forbidden):
        record_parcel_callback(_event(GROUP, "picked", "p-sh"), merge.callbacks, sh)
    assert callback_binding("ops", ("operator", "wms:WH-GZ"), None, None) is None
    both = record_parcel_callback(_event(GROUP, "picked", "p-ops"), merge.callbacks, None)
    assert [r.order_id for r in both.results] == [A, B]


def _event(order_id: str, event: str, event_id: str) -> FulfillmentEvent:
    return FulfillmentEvent.model_validate({"order_id": order_id, "event": event, "event_id": event_id,
                                            "at": "2026-11-11T12:40:00+08:00"})


def test_one_orders_failure_never_loses_the_event_for_the_others_and_a_resend_completes_it() -> None:
    # Given the parcel dispatched, and B's writes failing for now
    merge = MergeWorld()
    _dispatched_pair(merge)
    orders = merge.world.orders
    commit = orders.commit

    def busy(change: OrderCommit) -> CommitRejected | None:
        if change.order.order_id == B:
            raise ConcurrentModification("B is busy")
        return commit(change)

    orders.commit = busy  # type: ignore[method-assign]
    # When the parcel ships
    with pytest.raises(ParcelPartlyRecorded) as failed:
        merge.callback(GROUP, "shipped", "s1")
    # Then A has it, B is reported; sent again once B can take it, A answers duplicate and B ships
    assert failed.value.details == {"recorded": [A], "failed": [{"order_id": B, "reason": "B is busy"}]}
    assert merge.world.order(A).status == OrderStatus.shipped
    orders.commit = commit  # type: ignore[method-assign]
    again = merge.callback(GROUP, "shipped", "s1")
    assert [(r.order_id, r.outcome) for r in again.results] == [(A, Outcome.duplicate), (B, Outcome.applied)]
    assert merge.books_balance()


def test_a_hand_over_recorded_on_part_of_the_group_is_completed_under_the_same_key() -> None:
    # Given A and B grouped, and the dispatcher dying after the WMS took the parcel and A was marked, before B was
    merge = MergeWorld()
    _two_mates_and_a_stranger(merge)
    merge.later(8.5)
    merge.run()
    requests = list(merge.world.dispatch.requests)
    orders = merge.world.orders
    replace = orders.replace

    def dies_on_b(order: Order, expected_revision: int) -> Order:
        if order.order_id == B and order.status == OrderStatus.dispatched:
            raise RuntimeError("the dispatcher died")
        return replace(order, expected_revision)

    orders.replace = dies_on_b  # type: ignore[method-assign]
    with pytest.raises(RuntimeError):
        merge.dispatch_queued()
    orders.replace = replace  # type: ignore[method-assign]
    # When the request is delivered again
    [result] = [dispatch(request, merge.dispatching) for request in requests]
    # Then the same instruction goes under the same key (the WMS dedupes it) and B is marked too
    assert [i.idempotency_key for i in merge.wms.sent] == [f"{GROUP}:1", f"{GROUP}:1"]
    assert (result.outcome, result.version) == (DispatchOutcome.dispatched, 1)
    assert [merge.world.order(i).status for i in (A, B)] == [OrderStatus.dispatched] * 2


def test_a_stuck_group_is_re_sent_whole_as_its_next_version() -> None:
    # Given A and B dispatched as one parcel that the WMS never accepted
    merge = MergeWorld()
    _dispatched_pair(merge)
    # When an operator re-dispatches B
    result = dispatch_now(B, merge.dispatching, actor="ops@example.com")
    # Then the whole parcel goes again as the group's next version, and both orders are at it
    assert (result.outcome, result.version) == (DispatchOutcome.redispatched, 2)
    resent = merge.wms.sent[-1]
    assert isinstance(resent, MergedInstruction)
    assert (resent.idempotency_key, resent.merged_order_ids) == (f"{GROUP}:2", (A, B))
    assert [merge.world.order(i).fulfillment.instruction_version for i in (A, B)] == [2, 2]
    # and once the warehouse accepted part of it, it is not re-sent without the others
    merge.callback(A, "accepted", "a1")
    assert dispatch_now(B, merge.dispatching).outcome == DispatchOutcome.not_dispatchable


def test_the_merge_window_is_bounded_and_off_by_default() -> None:
    assert RoutingDocument.model_validate({"rules": []}).merge_window_minutes == 0
    with pytest.raises(InvalidRuleDocument) as refused:
        validate_document("routing", {"rules": [], "merge_window_minutes": 241})
    assert [p.path for p in refused.value.problems] == ["merge_window_minutes"]
    assert json_schema("routing")["properties"]["merge_window_minutes"]["maximum"] == 240
