"""The fulfilment loop over the in-memory twins: stock-aware status changes, channel cancellations before and after
dispatch, the write-back sweep, and reconciliation (alert once, stop the warehouse, bounded and resumable)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from infra.local.stock_lab import synthetic_order
from ocp.adapters.memory.events import MemoryEvents
from ocp.adapters.memory.fulfillment import (
    MemoryCheckpoints,
    MemoryFulfillmentOrders,
    MemoryWms,
    ScriptedChannelOrders,
    ScriptedWriteback,
)
from ocp.adapters.memory.intake import MemoryQuarantine, MemoryRawArchive
from ocp.adapters.memory.inventory import MemoryInventory
from ocp.adapters.memory.warehouses import MemoryWarehouses
from ocp.domain.fulfillment.callbacks import Outcome
from ocp.domain.fulfillment.dispatch import (
    DispatchOutcome,
    DispatchRequest,
    InstructionKind,
    WarehouseInstruction,
    WmsRejected,
    WmsUnavailable,
    plan_dispatch,
)
from ocp.domain.fulfillment.reconciliation import ALERT_DETAIL_TYPE
from ocp.domain.fulfillment.state import IssueKind, WritebackState
from ocp.domain.inventory.pushes import StockPush
from ocp.domain.inventory.reservation import ReservationState
from ocp.domain.order.model import Order, OrderStatus
from ocp.services.fulfillment.callbacks import CallbackDeps, record_callback
from ocp.services.fulfillment.dispatch import DispatchDeps, dispatch
from ocp.services.fulfillment.reconciliation import ReconcileDeps, reconcile
from ocp.services.fulfillment.writeback import WritebackDeps, WritebackSweepDeps, sweep_writebacks
from ocp.services.inventory.reservation import StockDeps
from ocp.services.inventory.stock import InventoryDeps, push_stock, stock_board
from ocp.services.inventory.stock_catalog import StockCatalog
from ocp.services.order.processing import ProcessingDeps, store_order
from tests.fulfillment_support import callback

T0 = datetime(2026, 11, 11, 4, 0, tzinfo=UTC)


@dataclass
class World:
    """Orders, stock, a WMS, a channel and the event bus, all in memory, at a settable time."""

    now: datetime = T0
    inventory: MemoryInventory = field(default_factory=MemoryInventory)
    wms: MemoryWms = field(default_factory=MemoryWms)
    events: MemoryEvents = field(default_factory=MemoryEvents)
    channels: ScriptedChannelOrders = field(default_factory=ScriptedChannelOrders)
    checkpoints: MemoryCheckpoints = field(default_factory=MemoryCheckpoints)

    def __post_init__(self) -> None:
        self.orders = MemoryFulfillmentOrders(self.inventory)
        self.stock = InventoryDeps(stock=self.inventory, warehouses=MemoryWarehouses({"WH-GZ"}), now=self.clock)
        catalog = StockCatalog(self.inventory, clock=lambda: 0.0)
        self.processing = ProcessingDeps(orders=self.orders, archive=MemoryRawArchive(),
                                         quarantine=MemoryQuarantine(), now=self.clock,
                                         stock=StockDeps(orders=self.orders, catalog=catalog, now=self.clock))
        self.callbacks = CallbackDeps(orders=self.orders, now=self.clock)
        self.dispatching = DispatchDeps(orders=self.orders, wms=self.wms, now=self.clock)
        self.reconciling = ReconcileDeps(orders=self.orders, queries=self.orders, channels=self.channels,
                                         wms=self.wms, events=self.events, checkpoints=self.checkpoints,
                                         now=self.clock)

    def clock(self) -> datetime:
        return self.now

    def board(self, sku: str = "TEA") -> tuple[int, int, int]:
        totals = stock_board(sku, self.stock).totals
        return totals.on_hand, totals.reserved, totals.available

    def order(self, order_id: str) -> Order:
        order = self.orders.get(order_id)
        assert order is not None
        return order

    def dispatched(self, number: int, quantity: int = 2, *, on_hand: int = 10) -> Order:
        """A paid order reserved by the processor against pushed stock, then handed to the WMS."""
        if not self.inventory.stock:
            push_stock("WH-GZ", "TEA", StockPush(on_hand=on_hand, version=1), self.stock)
        order = store_order(synthetic_order(number, "TEA", quantity), self.now, self.processing).order
        assert order is not None and order.status == OrderStatus.reserved
        dispatch(DispatchRequest(order_id=order.order_id), self.dispatching)
        return self.order(order.order_id)

    def event(self, order: Order, name: str, event_id: str, **fields: object) -> Outcome:
        return record_callback(callback(name, event_id, order_id=order.order_id, **fields), self.callbacks).outcome


# ---- stock-aware status changes ---------------------------------------------------------------------------


def test_shipping_deducts_stock_once_every_line_left_and_delivery_moves_nothing_more() -> None:
    # Given 10 units on hand and a dispatched order holding 2
    world = World()
    order = world.dispatched(1, 2)
    assert world.board() == (10, 2, 8)
    # When the warehouse ships one unit, then the rest, then the carrier delivers
    world.event(order, "shipped", "s1", lines=[{"sku": "TEA", "quantity": 1}])
    partial = world.board()
    world.event(order, "shipped", "s2")
    shipped = world.board()
    world.event(order, "delivered", "d1")
    # Then a partial parcel moves no stock, the last one takes both units off on_hand and reserved, once
    assert (partial, shipped, world.board()) == ((10, 2, 8), (8, 0, 8), (8, 0, 8))
    stored = world.order(order.order_id)
    assert stored.status == OrderStatus.delivered and stored.reservation is not None
    assert stored.reservation.state == ReservationState.shipped
    assert sorted(e.kind.value for e in world.inventory.entries.values()) == ["push", "reserve", "ship"]


def test_the_warehouse_confirming_a_stop_cancels_the_order_and_puts_its_stock_back_on_sale() -> None:
    # Given a dispatched order holding 2 of 10
    world = World()
    order = world.dispatched(1, 2)
    # When the WMS reports it cancelled (twice: a resend)
    outcomes = [world.event(order, "cancelled", "c1"), world.event(order, "cancelled", "c1")]
    # Then the order is cancelled with its stock released, once
    assert outcomes == [Outcome.applied, Outcome.duplicate]
    assert world.order(order.order_id).status == OrderStatus.cancelled
    assert world.board() == (10, 0, 10)


def test_a_stop_confirmed_after_a_parcel_left_is_impossible() -> None:
    # Given a dispatched order of which one unit shipped
    world = World()
    order = world.dispatched(1, 2)
    world.event(order, "shipped", "s1", lines=[{"sku": "TEA", "quantity": 1}])
    # When the WMS reports it cancelled / Then impossible: an issue, the status and stock stay
    assert world.event(order, "cancelled", "c1") == Outcome.impossible
    stored = world.order(order.order_id)
    assert stored.status == OrderStatus.packed and stored.fulfillment.issues[-1].kind == IssueKind.impossible_event
    assert world.board() == (10, 2, 8)


def _cancelled_view(order: Order, at: datetime) -> Order:
    """The channel's newer view of `order`: cancelled (modified a minute after the view OCP stored)."""
    modified = order.channel_updated_at + timedelta(minutes=1)
    return synthetic_order(int(order.channel_order_id), "TEA", 2).model_copy(update={
        "status": OrderStatus.cancelled, "cancelled_at": at, "channel_updated_at": modified})


def test_a_channel_cancel_of_a_reserved_order_applies_and_releases_its_stock() -> None:
    # Given a reserved order not yet handed to the warehouse
    world = World()
    push_stock("WH-GZ", "TEA", StockPush(on_hand=10, version=1), world.stock)
    store_order(synthetic_order(1, "TEA", 2), T0, world.processing)
    # When the channel cancels it
    world.now = T0 + timedelta(minutes=1)
    stored = store_order(_cancelled_view(world.order("shopify-1"), world.now), world.now, world.processing).order
    # Then it is cancelled by the channel, its stock back on sale, and the dispatcher will not send it
    assert stored is not None and stored.status == OrderStatus.cancelled
    assert [e.event for e in stored.timeline if e.hop == "ingest"][-1] == "cancelled_by_channel"
    assert world.board() == (10, 0, 10)
    skipped = dispatch(DispatchRequest(order_id="shopify-1"), world.dispatching)
    assert skipped.outcome == DispatchOutcome.not_dispatchable


def test_a_channel_cancel_of_a_dispatched_order_does_not_silently_cancel_it() -> None:
    # Given an order with the warehouse
    world = World()
    order = world.dispatched(1, 2)
    # When the channel cancels it
    world.now = T0 + timedelta(minutes=1)
    stored = store_order(_cancelled_view(order, world.now), world.now, world.processing).order
    # Then it stays with the warehouse, holding its stock, until the warehouse confirms the stop it is asked for
    assert stored is not None and stored.status == OrderStatus.dispatched
    assert [e.event for e in stored.timeline[-2:]] == ["cancel_requested_after_dispatch", "stop_requested"]
    assert stored.fulfillment.stop is not None and stored.fulfillment.stop.version == 2
    assert world.board() == (10, 2, 8)


def test_an_instruction_that_reaches_the_warehouse_while_the_order_is_cancelled_is_followed_by_a_stop() -> None:
    # Given a reserved order whose channel cancels it while the dispatcher is handing it over
    world = World()
    push_stock("WH-GZ", "TEA", StockPush(on_hand=10, version=1), world.stock)
    order = store_order(synthetic_order(1, "TEA", 2), T0, world.processing).order
    assert order is not None

    class RacingWms(MemoryWms):
        def send(self, instruction: WarehouseInstruction) -> str:
            receipt = super().send(instruction)
            if len(self.sent) == 1:
                store_order(_cancelled_view(order, T0 + timedelta(seconds=1)), T0, world.processing)
            return receipt

    world.wms = RacingWms()
    world.dispatching = DispatchDeps(orders=world.orders, wms=world.wms, now=world.clock)
    # When the dispatcher finishes
    dispatch(DispatchRequest(order_id=order.order_id), world.dispatching)
    # Then the warehouse got the instruction and, right after, a cancel instruction superseding it
    assert [(i.version, i.kind) for i in world.wms.sent] == [(1, InstructionKind.fulfil), (2, InstructionKind.cancel)]
    stored = world.order(order.order_id)
    assert stored.status == OrderStatus.cancelled and stored.fulfillment.instruction_version == 2
    assert [e.event for e in stored.timeline if e.hop == "fulfillment"] == ["dispatched", "stop_sent"]
    assert stored.fulfillment.issues[-1].kind == IssueKind.dispatched_after_cancel


# ---- write-back: the callback asks for it, the sweep retries it ---------------------------------------------


def test_a_new_shipment_asks_for_its_write_back_and_a_resend_does_not() -> None:
    # Given a dispatched order / When the WMS reports it shipped, twice, then reports an unrelated step
    world = World()
    order = world.dispatched(1, 2)
    send = callback("shipped", "s1", order_id=order.order_id)
    first, again = record_callback(send, world.callbacks), record_callback(send, world.callbacks)
    later = record_callback(callback("delivered", "d1", order_id=order.order_id), world.callbacks)
    # Then only the first answer says a write-back is due
    assert (first.writeback_due, again.writeback_due, later.writeback_due) == (True, False, False)


def test_the_sweep_retries_due_write_backs_and_refusals_do_not_starve_the_rest() -> None:
    # Given three shipped orders: the oldest refused for good by its channel, the next one's channel down once
    world = World()
    orders = [world.dispatched(n, 1) for n in (1, 2, 3)]
    for minutes, order in enumerate(orders):
        world.now = T0 + timedelta(minutes=minutes)
        world.event(order, "shipped", f"s{order.channel_order_id}")
    channel = ScriptedWriteback({"SFs1": ["rejected"], "SFs2": ["unavailable", "ok"]})
    sweep = WritebackSweepDeps(writeback=WritebackDeps(orders=world.orders, channel=channel, now=world.clock),
                               queries=world.orders)
    # When the sweep runs with room for two attempts, and again a minute later
    world.now = T0 + timedelta(minutes=5)
    first = sweep_writebacks(sweep, attempt_limit=2)
    world.now += timedelta(minutes=1)
    second = sweep_writebacks(sweep, attempt_limit=2)
    # Then the refusal is recorded once and skipped afterwards, and every other parcel gets confirmed
    assert (first.refused, first.retrying, first.confirmed) == (["shopify-1:SFs1"], ["shopify-2:SFs2"], [])
    assert (second.refused, second.confirmed) == ([], ["shopify-2:SFs2", "shopify-3:SFs3"])
    states = [world.order(o.order_id).fulfillment.shipments[0].writeback.state for o in orders]
    assert states == [WritebackState.failed, WritebackState.confirmed, WritebackState.confirmed]
    # and the refused one stays visible in the pending index (the stuck report's channel_writeback hop)
    assert [s.order_id for s in world.orders.writeback_pending(world.now)] == ["shopify-1"]


def test_the_sweep_leaves_a_channel_that_is_down_alone_for_the_rest_of_the_run() -> None:
    # Given five shipped orders whose channel times out
    world = World()
    for n in range(1, 6):
        world.event(world.dispatched(n, 1), "shipped", f"s{n}")
    channel = ScriptedWriteback({f"SFs{n}": ["unavailable"] for n in range(1, 6)})
    sweep = WritebackSweepDeps(writeback=WritebackDeps(orders=world.orders, channel=channel, now=world.clock),
                               queries=world.orders)
    # When the sweep runs / Then three attempts failed and the other two orders wait for the next run
    result = sweep_writebacks(sweep)
    assert (result.scanned, len(result.retrying)) == (5, 3)
    attempts = [world.order(f"shopify-{n}").fulfillment.shipments[0].writeback.attempts for n in range(1, 6)]
    assert attempts == [1, 1, 1, 0, 0]


# ---- reconciliation ----------------------------------------------------------------------------------------


def _cancel_on_channel(world: World, *orders: Order) -> None:
    for order in orders:
        world.channels.statuses[("shopify", order.channel_order_id)] = OrderStatus.cancelled


def _paid_on_channel(world: World, *orders: Order) -> None:
    for order in orders:
        world.channels.statuses[("shopify", order.channel_order_id)] = OrderStatus.received


def test_an_order_cancelled_on_the_channel_after_dispatch_is_stopped_and_alerted_once() -> None:
    # Given two dispatched orders, one of them cancelled on the channel
    world = World()
    kept, cancelled = world.dispatched(1), world.dispatched(2)
    _paid_on_channel(world, kept)
    _cancel_on_channel(world, cancelled)
    # When reconciliation runs twice
    world.now = T0 + timedelta(minutes=10)
    first = reconcile(world.reconciling)
    second = reconcile(world.reconciling)
    # Then the cancelled one got a cancel instruction (the next version) and one alert, in the first run only
    assert (first.cancelled_on_channel, first.stopped, first.alerted) == (["shopify-2"], ["shopify-2"], ["shopify-2"])
    assert (second.cancelled_on_channel, second.stopped, second.alerted) == ([], [], [])
    assert [(i.order_id, i.version, i.kind) for i in world.wms.sent if i.kind == InstructionKind.cancel] == [
        ("shopify-2", 2, InstructionKind.cancel)]
    [alert] = world.events.events
    assert (alert.detail_type, alert.source, alert.detail["order_id"]) == (
        ALERT_DETAIL_TYPE, "ocp.fulfillment", "shopify-2")
    assert alert.detail["warehouse_stop"] == "cancel instruction v2 sent"
    # and the order is not cancelled here (the warehouse has it): one issue, timeline entries, stock still held
    order = world.order("shopify-2")
    assert order.status == OrderStatus.dispatched
    assert [i.kind for i in order.fulfillment.issues] == [IssueKind.cancelled_on_channel]
    assert [(e.hop, e.event) for e in order.timeline[-2:]] == [
        ("reconciliation", "cancelled_on_channel"), ("fulfillment", "stop_sent")]
    # and the second run did not ask the channel again about an order it already knows is cancelled
    assert world.channels.calls.count(("shopify", "2")) == 1
    # When the warehouse confirms the stop / Then the order is cancelled and its stock back on sale
    assert world.event(order, "cancelled", "wms-stop") == Outcome.applied
    assert world.order("shopify-2").status == OrderStatus.cancelled
    assert world.board() == (10, 2, 8)  # the kept order's 2 units stay reserved


def test_a_cancellation_the_channel_already_pushed_is_acted_on_without_asking_it_again() -> None:
    # Given a dispatched order whose cancellation arrived through the channel's own push (status kept by ingest)
    world = World()
    order = world.dispatched(1)
    store_order(_cancelled_view(order, world.now), world.now, world.processing)
    # When reconciliation runs, with the channel's API unreachable
    world.channels.down.add("shopify")
    run = reconcile(world.reconciling)
    # Then the warehouse was told to stop and the alert went out, without a single lookup
    assert (run.cancelled_on_channel, run.stopped, run.alerted) == (["shopify-1"], ["shopify-1"], ["shopify-1"])
    assert world.channels.calls == []


def test_a_cancelled_order_with_a_parcel_gone_is_alerted_but_not_stopped() -> None:
    # Given an order of 2 of which one unit shipped, then cancelled on the channel
    world = World()
    order = world.dispatched(1, 2)
    world.event(order, "shipped", "s1", lines=[{"sku": "TEA", "quantity": 1}])
    _cancel_on_channel(world, order)
    # When reconciliation runs / Then an alert saying why the warehouse was not stopped, no cancel instruction
    run = reconcile(world.reconciling)
    assert (run.cancelled_on_channel, run.stopped, run.alerted) == (["shopify-1"], [], ["shopify-1"])
    assert all(i.kind == InstructionKind.fulfil for i in world.wms.sent)
    assert "a parcel already left" in world.events.events[0].detail["warehouse_stop"]


def test_a_warehouse_that_is_down_gets_the_stop_on_a_later_run() -> None:
    # Given an order cancelled on the channel, and a WMS that is unreachable for the first run
    world = World()
    order = world.dispatched(1)
    _cancel_on_channel(world, order)
    world.wms.fail_with = WmsUnavailable("queue unreachable")
    # When reconciliation runs, the WMS comes back, and it runs again
    first = reconcile(world.reconciling)
    world.wms.fail_with = None
    second = reconcile(world.reconciling)
    # Then the alert went out at once (saying the stop is pending) and the stop on the next run, once each
    assert (first.alerted, first.stopped, second.alerted, second.stopped) == (["shopify-1"], [], [], ["shopify-1"])
    assert "pending" in world.events.events[0].detail["warehouse_stop"]
    assert [i.kind for i in world.wms.sent] == [InstructionKind.fulfil, InstructionKind.cancel]
    # and an order cancelled on its channel is never re-dispatched
    plan = plan_dispatch(world.order("shopify-1"), DispatchRequest(order_id="shopify-1", after_version=2), world.now)
    assert getattr(plan, "outcome", None) == DispatchOutcome.not_dispatchable


def test_a_warehouse_that_refuses_the_stop_is_not_asked_again_and_the_alert_says_so() -> None:
    # Given an order cancelled on the channel, whose WMS refuses cancel instructions
    world = World()
    order = world.dispatched(1)
    _cancel_on_channel(world, order)
    world.wms.fail_with = WmsRejected("WMS does not take cancellations")
    # When reconciliation runs twice
    runs = [reconcile(world.reconciling) for _ in range(2)]
    # Then the refusal is on the order for an operator, nothing was retried, and one alert says why
    cancel = world.order("shopify-1").fulfillment.channel_cancel
    assert cancel is not None and cancel.stop_version is None
    assert cancel.note == "the warehouse refused the cancel instruction: WMS does not take cancellations"
    assert [r.stopped for r in runs] == [[], []] and [r.alerted for r in runs] == [["shopify-1"], []]
    assert world.events.events[0].detail["warehouse_stop"] == cancel.note


def test_each_run_looks_at_a_bounded_slice_and_the_next_one_resumes_where_it_stopped() -> None:
    # Given 5 dispatched orders, all still paid on the channel
    world = World()
    orders = [world.dispatched(n, 1) for n in range(1, 6)]
    _paid_on_channel(world, *orders)
    # When reconciliation runs four times with room for 2 dispatched orders per run
    runs = [reconcile(world.reconciling, budget=8) for _ in range(4)]
    # Then the runs walk the orders in turn, start over after the last, and never exceed their budget
    assert [c[1] for c in world.channels.calls] == ["1", "2", "3", "4", "5", "1", "2"]
    assert [r.looked_up for r in runs] == [2, 2, 1, 2]
    assert ["dispatched" in r.completed for r in runs] == [False, False, True, False]


def test_a_channel_that_is_down_is_left_alone_for_the_rest_of_the_run() -> None:
    # Given 5 dispatched orders of a channel that times out
    world = World()
    for n in range(1, 6):
        world.dispatched(n, 1)
    world.channels.down.add("shopify")
    # When reconciliation runs / Then it stopped asking after 3 failures, and nothing was recorded
    run = reconcile(world.reconciling)
    assert run.unreachable == {"shopify": 3} and len(world.channels.calls) == 3
    assert world.events.events == [] and run.cancelled_on_channel == []


@pytest.mark.parametrize("status", [OrderStatus.shipped, OrderStatus.reserved])
def test_orders_not_with_the_warehouse_or_already_shipped_are_not_reconciled(status: OrderStatus) -> None:
    # Given an order cancelled on the channel but shipped (or not yet dispatched) here
    world = World()
    push_stock("WH-GZ", "TEA", StockPush(on_hand=10, version=1), world.stock)
    order = store_order(synthetic_order(1, "TEA", 1), T0, world.processing).order
    assert order is not None
    if status == OrderStatus.shipped:
        dispatch(DispatchRequest(order_id=order.order_id), world.dispatching)
        world.event(order, "shipped", "s1")
    _cancel_on_channel(world, order)
    # When reconciliation runs / Then the channel is not even asked
    reconcile(world.reconciling)
    assert world.channels.calls == [] and world.order(order.order_id).status == status
