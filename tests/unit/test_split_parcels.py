"""Split orders ship per warehouse, over the in-memory twins: one instruction per parcel (its lines, versions and key),
callbacks per parcel with each warehouse's stock deducted or released alone and the books balancing, the order's
status following its parcels, re-dispatch, stops and write-back per parcel, and the stuck report."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from ocp.adapters.channels.writeback import shipment_notice
from ocp.adapters.memory.events import MemoryEvents
from ocp.adapters.memory.fulfillment import MemoryCheckpoints, MemoryWms, ScriptedChannelOrders
from ocp.adapters.memory.sla import StaticSla
from ocp.channels.base import ShipmentNotice
from ocp.domain.fulfillment.callbacks import Outcome
from ocp.domain.fulfillment.dispatch import (
    DispatchOutcome,
    DispatchPurpose,
    DispatchRequest,
    InstructionKind,
    WarehouseInstruction,
    WmsUnavailable,
)
from ocp.domain.fulfillment.parcels import ParcelNotNamed, parcels_of
from ocp.domain.fulfillment.state import ParcelStatus
from ocp.domain.inventory.pushes import StockPush
from ocp.domain.inventory.reservation import LockStrategy, Reservation, ReservationState, StockAllocation
from ocp.domain.inventory.stock import MovementKind
from ocp.domain.order.model import Order, OrderStatus
from ocp.services.fulfillment.callbacks import CallbackDeps, CallbackResult, record_callback
from ocp.services.fulfillment.dispatch import DispatchDeps, DispatchResult, dispatch, dispatch_now
from ocp.services.fulfillment.reconciliation import ReconcileDeps, reconcile
from ocp.services.fulfillment.stuck import RedispatchDeps, StuckDeps, redispatch, stuck_report
from ocp.services.fulfillment.writeback import WritebackDeps, write_back
from ocp.services.inventory.stock import ledger_view, push_stock, stock_board
from ocp.services.operations.held_queue import cancel_order
from tests.fulfillment_support import callback
from tests.held_support import RulesWorld, paid_order
from tests.rules_support import line, make_order

ORDER = "taobao-1001"
SPLIT = {"rules": [{"id": "split", "priority": 1, "when": {"always": True},
                    "then": {"warehouses": ["WH-GZ", "WH-SH"], "split": True}}]}
LINES = [line("TEA-1", 3, 19900), line("CUP-1", 1, 5000)]
"""Three teas and a cup: WH-GZ holds two teas and no cups, WH-SH one tea and the cups, so neither takes it whole."""


class PickyWms(MemoryWms):
    """A WMS per warehouse: the warehouses in `down` do not answer."""

    def __init__(self) -> None:
        super().__init__()
        self.down: set[str] = set()

    def send(self, instruction: WarehouseInstruction) -> str:
        if instruction.warehouse in self.down:
            raise WmsUnavailable(f"{instruction.warehouse} WMS unreachable")
        return super().send(instruction)


class NoticeChannel:
    """A channel that takes every parcel and keeps what it was told (the notice the real adapters build)."""

    def __init__(self) -> None:
        self.notices: list[ShipmentNotice] = []

    def confirm_shipment(self, order: Order, tracking_no: str, carrier: str) -> None:
        self.notices.append(shipment_notice(order, tracking_no, carrier))


class SplitWorld(RulesWorld):
    """The order path with a routing rule that may split, a WMS per warehouse, callbacks and the stock books."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.wms = PickyWms()
        self.dispatching = DispatchDeps(orders=self.orders, wms=self.wms, now=lambda: self.now)
        self.callbacks = CallbackDeps(orders=self.orders, now=lambda: self.now, counts=self.inventory)
        self.put_rules("routing", SPLIT)

    def split_order(self) -> Order:
        """The order reserved over both warehouses (stock pushed first) and its dispatch request handled."""
        self.push("TEA-1", 2, "WH-GZ")
        self.push("TEA-1", 1, "WH-SH")
        self.push("CUP-1", 3, "WH-SH")
        self.store(paid_order(lines=LINES))
        self.now += timedelta(minutes=1)
        for request in self.dispatch.requests:
            dispatch(request, self.dispatching)
        return self.order()

    def event(self, name: str, event_id: str, **fields: Any) -> CallbackResult:
        self.now += timedelta(minutes=1)
        at = (self.now - timedelta(seconds=30)).isoformat()
        return record_callback(callback(name, event_id, at=at, order_id=ORDER, **fields), self.callbacks)

    def board(self, sku: str, warehouse: str) -> tuple[int, int]:
        level = next(w for w in stock_board(sku, self._inventory_deps).warehouses if w.warehouse == warehouse)
        return level.on_hand, level.reserved

    def balanced(self) -> bool:
        return all(w.explains_board for sku in ("TEA-1", "CUP-1")
                   for w in ledger_view(sku, self._inventory_deps).warehouses)

    def keys(self, kind: InstructionKind = InstructionKind.fulfil) -> list[str]:
        return [i.idempotency_key for i in self.wms.sent if i.kind == kind]


def _parcels(order: Order) -> dict[str, tuple[ParcelStatus, int]]:
    return {p.warehouse: (p.status, p.instruction_version) for p in order.fulfillment.parcels}


# ---- one instruction per warehouse ---------------------------------------------------------------------------------


def test_a_split_order_sends_each_warehouse_its_own_lines_under_its_own_key() -> None:
    # Given a split order's dispatch request
    world = SplitWorld()
    order = world.split_order()
    # Then each warehouse got one instruction with only its lines (the tea line in both, each with its part)
    gz, sh = world.wms.sent
    assert (gz.warehouse, [(x.line_id, x.sku, x.quantity) for x in gz.lines]) == ("WH-GZ", [("l-TEA-1", "TEA-1", 2)])
    assert (sh.warehouse, [(x.line_id, x.sku, x.quantity) for x in sh.lines]) == (
        "WH-SH", [("l-TEA-1", "TEA-1", 1), ("l-CUP-1", "CUP-1", 1)])
    assert world.keys() == [f"{ORDER}@WH-GZ:1", f"{ORDER}@WH-SH:1"]
    assert gz.model_dump(mode="json")["split"] is True
    # And the order is dispatched once both were handed over, showing its parcels
    assert order.status == OrderStatus.dispatched and order.fulfillment.instruction_version == 1
    assert _parcels(order) == {"WH-GZ": (ParcelStatus.dispatched, 1), "WH-SH": (ParcelStatus.dispatched, 1)}
    # When the request is redelivered / Then nothing is sent twice
    again = dispatch(world.dispatch.requests[0], world.dispatching)
    assert (again.outcome, len(world.wms.sent)) == (DispatchOutcome.already_dispatched, 2)


def test_a_whole_order_keeps_its_key_its_body_and_no_parcels() -> None:
    # Given an order one warehouse can take whole
    world = SplitWorld()
    world.push("TEA-1", 5, "WH-GZ")
    world.store(paid_order(lines=[line("TEA-1", 2, 19900)]))
    # When it is dispatched
    dispatch(world.dispatch.requests[0], world.dispatching)
    # Then its instruction is as before parcels: key `<order_id>:<version>`, no `split` in the body
    [sent] = world.wms.sent
    assert (sent.idempotency_key, "split" in sent.model_dump(mode="json")) == (f"{ORDER}:1", False)
    assert world.order().fulfillment.parcels == ()


def test_a_warehouse_that_is_down_delays_only_its_own_parcel() -> None:
    # Given WH-SH's WMS is down when the split order is dispatched
    world = SplitWorld()
    world.wms.down = {"WH-SH"}
    with pytest.raises(WmsUnavailable):
        world.split_order()
    # Then WH-GZ's parcel is handed over and recorded, and the order waits in reserved for the other
    order = world.order()
    assert order.status == OrderStatus.reserved
    assert _parcels(order) == {"WH-GZ": (ParcelStatus.dispatched, 1), "WH-SH": (ParcelStatus.reserved, 0)}
    # When the queue redelivers the request once WH-SH is back
    world.wms.down = set()
    dispatch(world.dispatch.requests[0], world.dispatching)
    # Then only WH-SH got its instruction, and the order is dispatched
    assert world.keys() == [f"{ORDER}@WH-GZ:1", f"{ORDER}@WH-SH:1"]
    assert world.order().status == OrderStatus.dispatched


def test_lines_of_one_sku_fill_each_warehouses_units_in_line_order() -> None:
    # Given two lines of one SKU, reserved two units at WH-GZ and one at WH-SH
    order = make_order([line("TEA-1", 1, 100, line_id="a"), line("TEA-1", 2, 100, line_id="b")]).model_copy(update={
        "status": OrderStatus.reserved, "warehouse": "WH-GZ",
        "reservation": Reservation(seq=1, state=ReservationState.active, strategy=LockStrategy.reserve_on_order,
                                   warehouse="WH-GZ", reserved_at=make_order().created_at, allocations=(
                                       StockAllocation(sku="TEA-1", quantity=2, warehouse="WH-GZ"),
                                       StockAllocation(sku="TEA-1", quantity=1, warehouse="WH-SH")))})
    # When its parcels are read / Then line b is split: one unit in each
    parcels = parcels_of(order, order.created_at)
    assert [(p.warehouse, [(x.line_id, x.quantity) for x in p.lines]) for p in parcels] == [
        ("WH-GZ", [("a", 1), ("b", 1)]), ("WH-SH", [("b", 1)])]


# ---- callbacks per parcel -----------------------------------------------------------------------------------------


def test_each_warehouse_ships_only_its_own_stock_and_the_order_follows_its_parcels() -> None:
    # Given the split order with both parcels handed over
    world = SplitWorld()
    world.split_order()
    # When WH-GZ accepts and ships its parcel (no lines named: what is left of its parcel)
    accepted = world.event("accepted", "gz-1", warehouse="WH-GZ")
    shipped = world.event("shipped", "gz-2", warehouse="WH-GZ")
    # Then only WH-GZ's two teas left, the order is still dispatched (WH-SH has not moved), the parcel shows it
    assert (accepted.outcome, accepted.status) == (Outcome.applied, OrderStatus.dispatched)
    assert (shipped.outcome, shipped.status) == (Outcome.applied, OrderStatus.dispatched)
    assert (world.board("TEA-1", "WH-GZ"), world.board("TEA-1", "WH-SH"), world.board("CUP-1", "WH-SH")) == (
        (0, 0), (1, 1), (3, 1))
    order = world.order()
    gz = order.fulfillment.parcel("WH-GZ")
    assert gz is not None and (gz.status, gz.tracking_no, gz.carrier) == (ParcelStatus.shipped, "SFgz-2", "SF")
    assert [(s.warehouse, [(x.line_id, x.quantity) for x in s.lines]) for s in order.fulfillment.shipments] == [
        ("WH-GZ", [("l-TEA-1", 2)])]
    assert order.reservation is not None and order.reservation.state == ReservationState.active
    assert [p.warehouse for p in order.reservation.parts_ended] == ["WH-GZ"]
    # When WH-SH accepts, then ships
    world.event("accepted", "sh-1", warehouse="WH-SH")
    assert world.order().status == OrderStatus.accepted
    last = world.event("shipped", "sh-2", warehouse="WH-SH")
    # Then the order is shipped, every warehouse's units left once, and the books explain every board
    assert last.status == OrderStatus.shipped
    assert (world.board("TEA-1", "WH-GZ"), world.board("TEA-1", "WH-SH"), world.board("CUP-1", "WH-SH")) == (
        (0, 0), (0, 0), (2, 0))
    final = world.order()
    assert final.reservation is not None and final.reservation.state == ReservationState.shipped
    assert world.balanced()


def test_a_callback_on_a_split_order_must_name_a_parcel_of_it() -> None:
    # Given the split order
    world = SplitWorld()
    revision = world.split_order().revision
    # When callbacks name no warehouse, or one without a parcel / Then each is refused with the field, unrecorded
    for fields in ({}, {"warehouse": "WH-BJ"}):
        with pytest.raises(ParcelNotNamed) as refused:
            world.event("accepted", "x-1", **fields)
        assert refused.value.code == "invalid_request" and refused.value.details[0]["field"] == "warehouse"
    assert world.order().revision == revision


def test_a_carriers_delivery_finds_its_parcel_by_tracking_number_and_the_order_is_delivered_with_the_last() -> None:
    # Given both parcels shipped
    world = SplitWorld()
    world.split_order()
    world.event("shipped", "gz", warehouse="WH-GZ")
    world.event("shipped", "sh", warehouse="WH-SH")
    # When the carrier reports each delivery by tracking number alone
    first = world.event("delivered", "d1", tracking_no="SFgz")
    second = world.event("delivered", "d2", tracking_no="SFsh")
    # Then the order is delivered with the second parcel, and the units left only once
    assert (first.status, second.status) == (OrderStatus.shipped, OrderStatus.delivered)
    assert (world.board("TEA-1", "WH-GZ"), world.board("TEA-1", "WH-SH")) == ((0, 0), (0, 0))
    assert world.balanced()


def test_a_warehouse_cancelling_its_parcel_releases_only_its_units_and_the_rest_still_ships() -> None:
    # Given the split order with both parcels handed over
    world = SplitWorld()
    world.split_order()
    # When WH-SH cancels its parcel (it cannot ship it)
    cancelled = world.event("cancelled", "sh-x", warehouse="WH-SH", reason="damaged")
    # Then only WH-SH's units are back on sale; the order goes on with WH-GZ's parcel
    assert (cancelled.outcome, cancelled.status) == (Outcome.applied, OrderStatus.dispatched)
    assert (world.board("TEA-1", "WH-SH"), world.board("CUP-1", "WH-SH"), world.board("TEA-1", "WH-GZ")) == (
        (1, 0), (3, 0), (2, 2))
    # When WH-GZ ships
    shipped = world.event("shipped", "gz-1", warehouse="WH-GZ")
    # Then the order is shipped, and its reservation ended part by part
    assert shipped.status == OrderStatus.shipped
    reservation = world.order().reservation
    assert reservation is not None and reservation.state == ReservationState.shipped
    assert [(p.warehouse, p.state) for p in reservation.parts_ended] == [
        ("WH-SH", ReservationState.released), ("WH-GZ", ReservationState.shipped)]
    assert world.board("TEA-1", "WH-GZ") == (0, 0) and world.balanced()


def test_a_parcel_a_push_already_counted_gives_back_only_its_reservation_at_its_own_warehouse() -> None:
    # Given the split order, and WH-GZ's parcel leaving before WH-GZ's next count (the push leaves it out)
    world = SplitWorld()
    world.split_order()
    left_at = world.now + timedelta(seconds=10)
    world.now += timedelta(minutes=5)
    push_stock("WH-GZ", "TEA-1", StockPush(on_hand=0, version=2, as_of=left_at + timedelta(minutes=1)),
               world._inventory_deps)
    # When WH-GZ's shipped callback arrives (it left at `left_at`), then WH-SH's (after any count)
    record_callback(callback("shipped", "gz-1", at=left_at.isoformat(), order_id=ORDER, warehouse="WH-GZ"),
                    world.callbacks)
    world.event("shipped", "sh-1", warehouse="WH-SH")
    # Then WH-GZ's units only gave back their reservation, WH-SH's left on_hand, and the books still balance
    kinds = {(e.warehouse, e.kind) for e in ledger_view("TEA-1", world._inventory_deps).entries
             if e.order_id and e.kind != MovementKind.reserve}
    assert kinds == {("WH-GZ", MovementKind.ship_counted), ("WH-SH", MovementKind.ship)}
    assert (world.board("TEA-1", "WH-GZ"), world.board("TEA-1", "WH-SH")) == ((0, 0), (0, 0))
    assert world.balanced()


# ---- re-dispatch, stops and write-back per parcel -------------------------------------------------------------------


def test_redispatch_sends_a_new_version_to_each_parcel_its_warehouse_has_not_accepted() -> None:
    # Given the split order, WH-GZ accepted, WH-SH silent
    world = SplitWorld()
    world.split_order()
    world.event("accepted", "gz-1", warehouse="WH-GZ")
    # When an operator re-dispatches it
    deps = RedispatchDeps(orders=world.orders, stuck=StuckDeps(queries=world.orders, sla=StaticSla(),
                                                              now=lambda: world.now), queue=world.dispatch)
    answer = redispatch(deps, order_ids=[ORDER], actor="ops")
    request = world.dispatch.requests[-1]
    result = dispatch(request, world.dispatching)
    # Then only WH-SH's parcel gets its next version, under its own key; WH-GZ's stays
    assert answer.queued == [ORDER] and (request.warehouse, request.after_version) == ("WH-SH", 1)
    assert (result.outcome, world.keys()[-1]) == (DispatchOutcome.redispatched, f"{ORDER}@WH-SH:2")
    assert _parcels(world.order()) == {"WH-GZ": (ParcelStatus.accepted, 1), "WH-SH": (ParcelStatus.dispatched, 2)}
    # And a direct dispatch does the same for what is left (WH-SH again)
    assert isinstance(dispatch_now(ORDER, world.dispatching), DispatchResult)
    assert world.keys()[-1] == f"{ORDER}@WH-SH:3"


def test_an_operators_cancel_stops_every_warehouse_with_one_version_and_ends_as_they_confirm() -> None:
    # Given the split order with both parcels handed over
    world = SplitWorld()
    world.split_order()
    # When an operator cancels it and the dispatcher sends what it owes
    cancel_order(world.held, ORDER, actor="ops")
    [request] = [r for r in world.dispatch.requests if r.purpose == DispatchPurpose.stop]
    dispatch(request, world.dispatching)
    # Then each warehouse got the one cancel instruction, version 2, under its own key
    assert world.keys(InstructionKind.cancel) == [f"{ORDER}@WH-GZ:2", f"{ORDER}@WH-SH:2"]
    stopping = world.order()
    stop = stopping.fulfillment.stop
    assert stop is not None and (stop.version, stop.sent_at is not None) == (2, True)
    assert [e.detail for e in stopping.timeline if e.event == "cancel_requested"] == [
        "dispatched: cancel instruction v2 to WH-GZ, WH-SH"]
    # When each warehouse confirms
    world.event("cancelled", "gz-x", warehouse="WH-GZ")
    middle = world.board("TEA-1", "WH-GZ"), world.board("TEA-1", "WH-SH")
    last = world.event("cancelled", "sh-x", warehouse="WH-SH")
    # Then each one's units went back as it confirmed, and the order is cancelled with the last
    assert middle == ((2, 0), (1, 1))
    assert last.status == OrderStatus.cancelled and world.order().cancelled_at is not None
    assert (world.board("TEA-1", "WH-SH"), world.board("CUP-1", "WH-SH")) == ((1, 0), (3, 0))
    assert world.balanced()


def test_reconciliations_stop_goes_to_each_warehouse_with_its_fixed_version_even_when_one_is_down() -> None:
    # Given the split order, cancelled on the channel, and WH-SH's WMS down at the first run
    world = SplitWorld()
    world.split_order()
    deps = ReconcileDeps(orders=world.orders, queries=world.orders,
                         channels=ScriptedChannelOrders({("taobao", "1001"): OrderStatus.cancelled}), wms=world.wms,
                         events=MemoryEvents(), checkpoints=MemoryCheckpoints(), now=lambda: world.now)
    world.wms.down = {"WH-SH"}
    reconcile(deps)
    first = world.keys(InstructionKind.cancel)
    # When the next run finds WH-SH back
    world.wms.down = set()
    world.now += timedelta(minutes=10)
    reconcile(deps)
    # Then each warehouse got the stop once, at the version fixed when it was requested
    assert first == [f"{ORDER}@WH-GZ:2"]
    assert world.keys(InstructionKind.cancel) == [f"{ORDER}@WH-GZ:2", f"{ORDER}@WH-SH:2"]
    order = world.order()
    assert order.fulfillment.channel_cancel is not None and order.fulfillment.channel_cancel.stop_sent_at is not None


def test_a_split_order_cancelled_while_one_parcel_was_out_tells_that_warehouse() -> None:
    # Given WH-SH down, so only WH-GZ got its parcel and the order waits in reserved
    world = SplitWorld()
    world.wms.down = {"WH-SH"}
    with pytest.raises(WmsUnavailable):
        world.split_order()
    # When an operator cancels it (not every warehouse has it: cancelled at once) and the dispatcher follows up
    cancelled = cancel_order(world.held, ORDER, actor="ops")
    [request] = [r for r in world.dispatch.requests if r.purpose == DispatchPurpose.stop]
    dispatch(request, world.dispatching)
    # Then every unit is back on sale and WH-GZ, which had the instruction, is told not to ship it
    assert cancelled.status == OrderStatus.cancelled
    assert (world.board("TEA-1", "WH-GZ"), world.board("TEA-1", "WH-SH")) == ((2, 0), (1, 0))
    assert world.keys(InstructionKind.cancel) == [f"{ORDER}@WH-GZ:2"]
    assert world.balanced()


def test_an_instruction_that_crosses_an_operators_cancel_is_followed_by_a_cancel_to_that_warehouse() -> None:
    # Given a split order an operator cancels while the dispatcher hands WH-GZ its parcel
    world = SplitWorld()

    class RacingWms(PickyWms):
        def send(self, instruction: WarehouseInstruction) -> str:
            receipt = super().send(instruction)
            if len(self.sent) == 1:
                cancel_order(world.held, ORDER, actor="ops")
            return receipt

    world.wms = RacingWms()
    world.dispatching = DispatchDeps(orders=world.orders, wms=world.wms, now=lambda: world.now)
    # When the dispatcher finishes
    world.split_order()
    # Then WH-GZ got its parcel and, right after, a cancel; WH-SH got nothing; the order says what happened
    assert [(i.warehouse, i.kind, i.version) for i in world.wms.sent] == [
        ("WH-GZ", InstructionKind.fulfil, 1), ("WH-GZ", InstructionKind.cancel, 2)]
    order = world.order()
    assert order.status == OrderStatus.cancelled
    assert [i.kind.value for i in order.fulfillment.issues] == ["dispatched_after_cancel"]
    assert world.board("TEA-1", "WH-GZ") == (2, 0) and world.balanced()


def test_write_back_confirms_each_parcel_with_its_own_tracking_number_and_lines() -> None:
    # Given both parcels shipped, each with its own tracking number
    world = SplitWorld()
    world.split_order()
    world.event("shipped", "gz", warehouse="WH-GZ")
    world.event("shipped", "sh", warehouse="WH-SH")
    # When the write-back runs
    channel = NoticeChannel()
    attempts = write_back(ORDER, WritebackDeps(orders=world.orders, channel=channel, now=lambda: world.now))
    # Then the channel hears of each parcel with that parcel's lines only, neither being the whole order
    assert [a.confirmed for a in attempts] == [True, True]
    assert [(n.tracking_no, [(i.line_id, i.quantity, i.ordered) for i in n.items], n.whole_order)
            for n in channel.notices] == [
        ("SFgz", [("l-TEA-1", 2, 3)], False), ("SFsh", [("l-TEA-1", 1, 3), ("l-CUP-1", 1, 1)], False)]
    assert world.order().writeback_pending_since is None


def test_a_split_order_is_stuck_in_dispatch_until_its_instructions_went_out() -> None:
    # Given a split order reserved while WH-SH's WMS is down, ten minutes ago
    world = SplitWorld()
    world.wms.down = {"WH-SH"}
    with pytest.raises(WmsUnavailable):
        world.split_order()
    world.now += timedelta(minutes=10)
    stuck = StuckDeps(queries=world.orders, sla=StaticSla(), now=lambda: world.now)

    def in_dispatch() -> list[str]:
        hop = next(h for h in stuck_report(stuck).hops if h.hop == "dispatch")
        return [o.order_id for o in hop.orders]

    before = in_dispatch()
    # When the redelivered request reaches WH-SH too
    world.wms.down = set()
    dispatch(DispatchRequest(order_id=ORDER), world.dispatching)
    # Then it was stuck in `dispatch` and is no longer
    assert (before, in_dispatch()) == ([ORDER], [])


def test_a_new_address_goes_to_each_warehouse_that_has_not_picked_its_parcel() -> None:
    # Given the split order, WH-GZ's parcel picked already
    world = SplitWorld()
    world.split_order()
    world.event("picked", "gz-1", warehouse="WH-GZ")
    # When the buyer's new address arrives from the channel and the dispatcher sends the update
    world.now += timedelta(minutes=1)
    moved = paid_order(lines=LINES, address={"detail": "体育西路1号"}).model_copy(update={
        "channel_updated_at": world.now})
    world.store(moved)
    [request] = [r for r in world.dispatch.requests if r.purpose == DispatchPurpose.update]
    result = dispatch(request, world.dispatching)
    # Then WH-SH gets its next version with the new address; WH-GZ's picked parcel is flagged for a person
    update = world.wms.sent[-1]
    assert (result.outcome, update.idempotency_key, update.address.detail) == (
        DispatchOutcome.updated, f"{ORDER}@WH-SH:2", "体育西路1号")
    order = world.order()
    assert order.fulfillment.update is None
    assert [i.kind.value for i in order.fulfillment.issues] == ["address_change_after_pick"]


def test_a_parcel_of_ocps_gift_alone_owes_the_channel_nothing_and_the_other_is_the_whole_order() -> None:
    # Given a gift rule (a cup with every tea), the tea only at WH-GZ and the gift cup only at WH-SH
    world = SplitWorld()
    world.put_rules("gift", {"rules": [{"id": "cup", "priority": 1, "when": {"field": "lines.sku", "eq": "TEA-1"},
                                        "then": {"gift_sku": "CUP-GIFT", "while_stock_lasts": False}}]})
    world.push("TEA-1", 1, "WH-GZ")
    world.push("CUP-GIFT", 5, "WH-SH")
    world.store(paid_order(lines=[line("TEA-1", 1, 19900)]))
    for request in world.dispatch.requests:
        dispatch(request, world.dispatching)
    assert [(i.warehouse, [x.line_id for x in i.lines]) for i in world.wms.sent] == [
        ("WH-GZ", ["l-TEA-1"]), ("WH-SH", ["gift:cup"])]
    # When both parcels ship and the write-back runs
    world.event("shipped", "gz", warehouse="WH-GZ")
    world.event("shipped", "sh", warehouse="WH-SH")
    channel = NoticeChannel()
    attempts = write_back(ORDER, WritebackDeps(orders=world.orders, channel=channel, now=lambda: world.now))
    # Then the channel hears of the tea's parcel as the whole order, and the gift's parcel is confirmed without a call
    assert [(a.tracking_no, a.confirmed) for a in attempts] == [("SFgz", True), ("SFsh", True)]
    assert [(n.tracking_no, n.whole_order) for n in channel.notices] == [("SFgz", True)]
    assert world.order().writeback_pending_since is None
