"""The held queue over the in-memory twins: the queue by reason and page, fixing, releasing and
cancelling orders (one or many), every action audited, checks run again without re-flagging what a person fixed,
and pre-sale orders released when their ship date comes."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ocp.domain.decisions.routing import WarehouseKind
from ocp.domain.errors import ConcurrentModification, InvalidQuery
from ocp.domain.operations.held_queue import InvalidBulkOrderRequest, OrderActionRefused
from ocp.domain.operations.order_edits import InvalidOrderEdit
from ocp.domain.order.model import HoldReason, OrderStatus
from ocp.services.access.attribution import acting_as
from ocp.services.operations.held_queue import bulk, cancel_order, patch_order, release_order
from ocp.services.operations.order_pages import decode_token, queue_page
from ocp.services.operations.presale import release_due_orders
from tests.held_support import RulesWorld, paid_order
from tests.rules_support import catalog_item, line

TEA = [line("TEA-1", 1, 19900)]
NONSENSE = {"province": "火星省", "city": "奥林匹斯市", "district": "山区"}


def _held_for_address(world: RulesWorld, order_id: str = "taobao-1001") -> None:
    world.store(paid_order(order_id, lines=TEA, address=NONSENSE, buyer_id=f"buyer-{order_id}"))
    assert world.order(order_id).status == OrderStatus.held


def test_the_queue_pages_held_orders_by_reason_oldest_first_with_an_opaque_token() -> None:
    # Given five orders held for their address and one for its price, a minute apart
    world = RulesWorld()
    world.catalog(catalog_item("TEA-1", list_price=19900, min_price=15000))
    for n in range(1, 6):
        _held_for_address(world, f"taobao-{n}")
        world.now += timedelta(minutes=1)
    world.store(paid_order("taobao-9", lines=[line("TEA-1", 1, 1)], shipping=0))
    # When the address queue is read two at a time
    first = queue_page(world.held.queries, "held", "address_unresolved", limit=2)
    second = queue_page(world.held.queries, "held", "address_unresolved", limit=2, next_token=first.next_token)
    third = queue_page(world.held.queries, "held", "address_unresolved", limit=2, next_token=second.next_token)
    # Then every address hold comes once, oldest first, and the last page says there is no more
    pages = [[o.order_id for o in page.orders] for page in (first, second, third)]
    assert pages == [["taobao-1", "taobao-2"], ["taobao-3", "taobao-4"], ["taobao-5"]]
    assert third.next_token is None
    assert [o.order_id for o in queue_page(world.held.queries, "held", "price_abnormal").orders] == ["taobao-9"]
    # and a token of another query, a made-up token, an unknown reason or status are 400s
    with pytest.raises(InvalidQuery):
        queue_page(world.held.queries, "reserved", next_token=first.next_token)
    with pytest.raises(InvalidQuery):
        decode_token("bm90LWEtdG9rZW4", OrderStatus.held)
    with pytest.raises(InvalidQuery):
        queue_page(world.held.queries, "held", "lost_in_space")
    with pytest.raises(InvalidQuery):
        queue_page(world.held.queries, "limbo")


def test_an_operator_fixes_the_address_and_releases_the_order_which_is_reserved_and_dispatched() -> None:
    # Given stock, and an order held for a nonsense address
    world = RulesWorld()
    world.push("TEA-1", 5)
    _held_for_address(world)
    # When an operator fixes the address, then releases it
    world.now += timedelta(minutes=30)
    edited = patch_order(world.held, "taobao-1001", {"address": {"province": "广东省", "city": "广州市",
                                                                  "district": "天河区"}}, "ops@shop.cn")
    released = release_order(world.held, "taobao-1001", "ops@shop.cn", note="called the buyer")
    # Then it is reserved and handed to dispatch; both actions are on the timeline with who did them, no PII
    assert edited.status == OrderStatus.held and edited.address.province == "广东省"
    assert (released.status, released.warehouse, released.holds) == (OrderStatus.reserved, "WH-GZ", ())
    operator = [(e.event, e.actor, e.source, e.detail) for e in released.timeline if e.hop == "operator"]
    assert operator == [("edited", "ops@shop.cn", "operator", "changed address"),
                        ("released", "ops@shop.cn", "operator", "released (address_unresolved): called the buyer")]
    assert released.operator_overrides.acknowledged == (HoldReason.address_unresolved, HoldReason.phone_invalid)
    assert [r.order_id for r in world.dispatch.requests] == ["taobao-1001"]
    assert world.available("TEA-1") == 4


def test_a_released_order_is_checked_again_but_what_a_person_cleared_is_not_flagged_again() -> None:
    # Given an order held for its price (a deliberate giveaway), and little stock
    world = RulesWorld()
    world.catalog(catalog_item("TEA-1", list_price=19900, min_price=15000))
    world.push("TEA-1", 1)
    world.store(paid_order(lines=[line("TEA-1", 1, 1)], shipping=0))
    # When an operator releases it without changing anything
    released = release_order(world.held, "taobao-1001", "ops")
    # Then the price is not flagged again and it is reserved
    assert released.status == OrderStatus.reserved
    # Given another order held for its address, and the stock gone meanwhile
    _held_for_address(world, "taobao-2")
    # When released as it is
    again = release_order(world.held, "taobao-2", "ops")
    # Then the address is not flagged again, but stock is checked again: held for it now
    assert (again.status, [h.reason for h in again.holds]) == (OrderStatus.held, [HoldReason.insufficient_stock])


def test_every_entry_a_release_writes_names_the_principal_of_the_call() -> None:
    # Given an order held for stock, and the stock arrived since
    world = RulesWorld()
    world.store(paid_order(lines=[line("TEA-1", 1, 19900)]))
    assert [h.reason for h in world.order().holds] == [HoldReason.insufficient_stock]
    world.push("TEA-1", 3)
    known = world.order().timeline
    # When an operator's API call releases it
    with acting_as("ops-console"):
        released = release_order(world.held, "taobao-1001", "li.na")
    # Then it is reserved, and each timeline and ledger entry the release wrote names the principal
    assert released.status == OrderStatus.reserved
    for order in (released, world.order()):
        added = [e for e in order.timeline if e not in known]
        assert len(added) > 1 and {e.principal for e in added} == {"ops-console"}, added
    reserved = [e for e in world.inventory.ledger("TEA-1") if e.order_id == "taobao-1001"]
    assert reserved and {e.principal for e in reserved} == {"ops-console"}


def test_edits_are_validated_the_lines_must_still_add_up_to_what_the_buyer_paid() -> None:
    # Given a held order paying 199.00 + 10.00 shipping
    world = RulesWorld()
    _held_for_address(world)
    # When an operator's lines add up to more than was paid, or change a gift line, or edit nothing
    with pytest.raises(InvalidOrderEdit) as too_much:
        patch_order(world.held, "taobao-1001", {"lines": [line("TEA-1", 2, 19900)]}, "ops")
    with pytest.raises(InvalidOrderEdit):
        patch_order(world.held, "taobao-1001", {}, "ops")
    # Then each is a 400 naming the problem
    assert too_much.value.details == [{"path": "lines", "problem": "the lines' paid add up to 39800; the buyer paid "
                                                                   "19900 for items (20900 minus shipping 1000)"}]
    # When the operator swaps the tea for two cheaper ones within the paid amount
    edited = patch_order(world.held, "taobao-1001", {"lines": [line("TEA-2", 2, 12000, paid=19900)]}, "ops")
    # Then the order reconciles: lines' paid + shipping = paid, discount follows
    assert [(ln.sku, ln.quantity, ln.paid, ln.discount) for ln in edited.lines] == [("TEA-2", 2, 19900, 4100)]
    assert (edited.amounts.items, edited.amounts.discount, edited.amounts.paid) == (24000, 4100, 20900)
    assert HoldReason.price_abnormal in edited.operator_overrides.acknowledged


def test_an_operator_picks_the_warehouse_and_routing_rules_are_skipped() -> None:
    # Given an order no rule routes, stock at WH-BJ, a bonded warehouse registered
    world = RulesWorld()
    world.put_rules("routing", {"rules": [{"id": "south", "priority": 1,
                                           "when": {"field": "address.province", "eq": "海南省"},
                                           "then": {"warehouses": ["WH-GZ"]}}]})
    world.warehouse("BW-HZ", kind=WarehouseKind.bonded)
    world.push("TEA-1", 5, "WH-BJ")
    world.store(paid_order(lines=TEA))
    assert [h.reason for h in world.order().holds] == [HoldReason.unroutable]
    # When the operator picks a bonded warehouse for a domestic order, or one that does not exist
    for bad in ("BW-HZ", "WH-MARS"):
        with pytest.raises(InvalidOrderEdit):
            patch_order(world.held, "taobao-1001", {"warehouse": bad}, "ops")
    # When the operator picks WH-BJ and releases
    patch_order(world.held, "taobao-1001", {"warehouse": "WH-BJ"}, "ops")
    released = release_order(world.held, "taobao-1001", "ops")
    # Then it is reserved there
    assert (released.status, released.warehouse) == (OrderStatus.reserved, "WH-BJ")
    assert released.timeline[-2].detail == "the operator's choice: WH-BJ"


def test_a_routing_rules_own_hold_needs_a_warehouse_chosen_once_a_person_released_it() -> None:
    # Given a rule that sends every order with a buyer note to review
    world = RulesWorld()
    world.put_rules("routing", {"rules": [{"id": "review", "priority": 1,
                                           "when": {"field": "buyer_note", "exists": True},
                                           "then": {"hold": "buyer_note"}},
                                          {"id": "any", "priority": 9, "when": {"always": True},
                                           "then": {"warehouses": ["*"]}}]})
    world.push("TEA-1", 5)
    world.store(paid_order(lines=TEA, buyer_note="请周末送货"))
    # When an operator releases it as it is
    released = release_order(world.held, "taobao-1001", "ops")
    # Then it says a warehouse must be chosen
    assert [(h.reason, h.detail) for h in released.holds] == [
        (HoldReason.unroutable, "routing rule 'review' holds orders like this one; choose its warehouse to ship it")]


def test_cancel_gives_the_stock_back_in_the_same_write_and_refuses_an_order_the_warehouse_picked() -> None:
    # Given an order reserved while unpaid, then held when paid (its phone is no number): it holds one unit
    world = RulesWorld()
    world.push("TEA-1", 5)
    unpaid = paid_order(lines=TEA, status="pending_payment", paid_at=None, address={"phone": "12345"})
    world.store(unpaid)
    world.store(unpaid.model_copy(update={"status": OrderStatus.received, "paid_at": world.now,
                                          "channel_updated_at": world.now + timedelta(seconds=1)}))
    assert (world.order().status, world.available("TEA-1")) == (OrderStatus.held, 4)
    # When an operator cancels it
    cancelled = cancel_order(world.held, "taobao-1001", "ops", "buyer asked by phone")
    # Then the unit is back on sale, and the cancellation is on the timeline
    assert (cancelled.status, world.available("TEA-1")) == (OrderStatus.cancelled, 5)
    assert (cancelled.timeline[-2].event, cancelled.timeline[-2].actor) == ("cancelled", "ops")
    # and an order the warehouse picked cannot be cancelled: the parcel must be intercepted or become a return
    world.orders.put_unchecked(cancelled.model_copy(update={"status": OrderStatus.picked}))
    with pytest.raises(OrderActionRefused, match="intercept the parcel"):
        cancel_order(world.held, "taobao-1001", "ops")


def test_release_and_patch_refuse_an_order_that_is_not_held_and_a_stale_revision_is_a_conflict() -> None:
    # Given a reserved order
    world = RulesWorld()
    world.push("TEA-1", 5)
    world.store(paid_order(lines=TEA))
    # When / Then
    with pytest.raises(OrderActionRefused):
        release_order(world.held, "taobao-1001", "ops")
    with pytest.raises(OrderActionRefused):
        patch_order(world.held, "taobao-1001", {"warehouse": "WH-SH"}, "ops")
    with pytest.raises(ConcurrentModification):
        cancel_order(world.held, "taobao-1001", "ops", expected_revision=7)


def test_bulk_acts_on_each_order_on_its_own_and_answers_per_order() -> None:
    # Given two orders held for their address (one of them has stock), and a reserved one
    world = RulesWorld()
    world.push("TEA-1", 1)
    world.push("CUP-1", 1)
    _held_for_address(world, "taobao-1")
    _held_for_address(world, "taobao-2")
    world.store(paid_order("taobao-3", lines=[line("CUP-1", 1, 5000)]))
    # When an operator releases all of them and one that does not exist
    answer = bulk(world.held, {"action": "release", "order_ids": ["taobao-1", "taobao-2", "taobao-3", "nope"]}, "ops")
    # Then each has its own outcome
    assert [(r.order_id, r.outcome.value) for r in answer.results] == [
        ("taobao-1", "done"), ("taobao-2", "held"), ("taobao-3", "refused"), ("nope", "not_found")]
    assert answer.counts == {"done": 1, "held": 1, "refused": 1, "not_found": 1}
    assert answer.results[2].error is not None and answer.results[2].error["code"] == "order_action_refused"
    # and a bulk request without a known action, or set_warehouse without the warehouse, is refused whole
    for body in ({"action": "explode", "order_ids": ["taobao-1"]}, {"action": "set_warehouse", "order_ids": ["x"]},
                 {"action": "cancel", "order_ids": []}):
        with pytest.raises(InvalidBulkOrderRequest):
            bulk(world.held, body, "ops")


def test_a_presale_order_is_released_automatically_when_its_ship_date_comes() -> None:
    # Given stock, a pre-sale order due in two days, and another also held for its address
    world = RulesWorld()
    world.push("TEA-1", 5)
    ship_by = world.now + timedelta(days=2)
    world.store(paid_order("taobao-1", lines=TEA, presale={"kind": "full_payment", "ship_by": ship_by}))
    world.store(paid_order("taobao-2", lines=TEA, presale={"kind": "full_payment", "ship_by": ship_by},
                           address=NONSENSE))
    # When the scheduled release runs before and after the date
    early = release_due_orders(world.held)
    world.now = ship_by + timedelta(minutes=1)
    due = release_due_orders(world.held)
    # Then nothing moves early; when due, the first is reserved and dispatched, the second stays held (address)
    assert early == []
    assert {(d.order_id, d.status) for d in due} == {("taobao-1", OrderStatus.reserved),
                                                       ("taobao-2", OrderStatus.held)}
    assert [h.reason for h in world.order("taobao-2").holds] == [HoldReason.address_unresolved]
    assert [r.order_id for r in world.dispatch.requests] == ["taobao-1"]
    assert [e.event for e in world.order("taobao-1").timeline[-3:]] == ["hold_ended", "routed", "reserved"]
