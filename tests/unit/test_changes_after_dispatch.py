"""Cancels and address changes of an order the warehouse already has, over the in-memory twins: an operator's or the
channel's cancel stops the warehouse at once (one cancel instruction, the next version) and the warehouse's
`cancelled` callback ends the order and releases its stock; an address change sends the next fulfil version; once
the order is picked, a person is asked (a 409 for an operator, an issue otherwise). Reconciliation never sends a
second stop."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from infra.local.stock_lab import synthetic_order
from ocp.adapters.memory.events import MemoryEvents
from ocp.adapters.memory.fulfillment import (
    MemoryCheckpoints,
    MemoryDispatchQueue,
    MemoryFulfillmentOrders,
    MemoryWms,
    ScriptedChannelOrders,
)
from ocp.adapters.memory.held_queue import MemoryHeldQueue
from ocp.adapters.memory.intake import MemoryQuarantine, MemoryRawArchive
from ocp.adapters.memory.inventory import MemoryInventory
from ocp.adapters.memory.rules import MemoryCatalogStore, MemoryRulesStore
from ocp.adapters.memory.warehouses import MemoryWarehouses, MemoryWarehouseStore
from ocp.domain.fulfillment.callbacks import Outcome
from ocp.domain.fulfillment.dispatch import DispatchOutcome, DispatchPurpose, InstructionKind, WmsUnavailable
from ocp.domain.fulfillment.state import Fulfillment, IssueKind, StopRequester
from ocp.domain.inventory.pushes import StockPush
from ocp.domain.operations.held_queue import OrderActionRefused
from ocp.domain.order.model import Order, OrderStatus
from ocp.services.decisions.order_path import RulesDeps
from ocp.services.decisions.rules import RulesCache
from ocp.services.fulfillment.callbacks import CallbackDeps, record_callback
from ocp.services.fulfillment.dispatch import DispatchDeps, DispatchResult, dispatch, send_stop
from ocp.services.fulfillment.reconciliation import ReconcileDeps, reconcile
from ocp.services.inventory.reservation import StockDeps
from ocp.services.inventory.stock import InventoryDeps, ledger_view, push_stock, stock_board
from ocp.services.inventory.stock_catalog import StockCatalog
from ocp.services.operations.catalog import CachedCatalog
from ocp.services.operations.held_queue import BulkOutcome, HeldQueueDeps, bulk, cancel_order
from ocp.services.operations.warehouses import CachedWarehouses
from ocp.services.order.processing import Outcome as Stored
from ocp.services.order.processing import ProcessingDeps, store_order
from tests.fulfillment_support import callback

T0 = datetime(2026, 11, 11, 4, 0, tzinfo=UTC)
ORDER = "shopify-1"


@dataclass
class World:
    """Orders, stock, the dispatch queue, a WMS, a channel and the event bus, in memory, at a settable time."""

    now: datetime = T0
    inventory: MemoryInventory = field(default_factory=MemoryInventory)
    queue: MemoryDispatchQueue = field(default_factory=MemoryDispatchQueue)
    wms: MemoryWms = field(default_factory=MemoryWms)
    events: MemoryEvents = field(default_factory=MemoryEvents)
    channels: ScriptedChannelOrders = field(default_factory=ScriptedChannelOrders)

    def __post_init__(self) -> None:
        self.orders = MemoryFulfillmentOrders(self.inventory)
        self.stock = InventoryDeps(stock=self.inventory, warehouses=MemoryWarehouses({"WH-GZ"}), now=self.clock)
        stock = StockDeps(orders=self.orders, catalog=StockCatalog(self.inventory, clock=lambda: 0.0), now=self.clock)
        self.processing = ProcessingDeps(orders=self.orders, archive=MemoryRawArchive(), quarantine=MemoryQuarantine(),
                                         now=self.clock, stock=stock, dispatch=self.queue)
        rules = RulesDeps(rules=RulesCache(MemoryRulesStore(), clock=lambda: 0.0),
                          catalog=CachedCatalog(MemoryCatalogStore(), clock=lambda: 0.0),
                          warehouses=CachedWarehouses(MemoryWarehouseStore(), seed=("WH-GZ",), clock=lambda: 0.0))
        self.held = HeldQueueDeps(orders=self.orders, queries=MemoryHeldQueue(self.orders), stock=stock, rules=rules,
                                  now=self.clock, dispatch=self.queue)
        self.dispatching = DispatchDeps(orders=self.orders, wms=self.wms, now=self.clock)
        self.callbacks = CallbackDeps(orders=self.orders, now=self.clock)
        self.reconciling = ReconcileDeps(orders=self.orders, queries=self.orders, channels=self.channels,
                                         wms=self.wms, events=self.events, checkpoints=MemoryCheckpoints(),
                                         now=self.clock)

    def clock(self) -> datetime:
        return self.now

    def drain(self) -> list[DispatchResult]:
        """The dispatcher takes every queued request, as its SQS trigger would."""
        requests, self.queue.requests = self.queue.requests, []
        return [dispatch(request, self.dispatching) for request in requests]

    def dispatched(self, number: int = 1, quantity: int = 2) -> Order:
        """A paid order reserved against 10 pushed units, handed to WH-GZ through the dispatch queue (v1)."""
        if not self.inventory.stock:
            push_stock("WH-GZ", "TEA", StockPush(on_hand=10, version=1), self.stock)
        store_order(synthetic_order(number, "TEA", quantity), self.now, self.processing)
        assert [r.outcome for r in self.drain()] == [DispatchOutcome.dispatched]
        return self.order(f"shopify-{number}")

    def at(self, number: int, status: str) -> Order:
        """A dispatched order the warehouse moved on to `status` (accepted, picked)."""
        order = self.dispatched(number)
        assert self.event(order, status, f"{status}-{number}") == Outcome.applied
        return self.order(order.order_id)

    def event(self, order: Order, name: str, event_id: str) -> Outcome:
        return record_callback(callback(name, event_id, order_id=order.order_id), self.callbacks).outcome

    def channel_view(self, order: Order, **changes: object) -> Stored:
        """The channel's newer view of `order` (modified a minute later), through processing as a push would."""
        self.now += timedelta(minutes=1)
        view = synthetic_order(int(order.channel_order_id), "TEA", 2).model_copy(update={
            "channel_updated_at": order.channel_updated_at + timedelta(minutes=1), **changes})
        return store_order(view, self.now, self.processing).outcome

    def order(self, order_id: str = ORDER) -> Order:
        found = self.orders.get(order_id)
        assert found is not None
        return found

    def board(self) -> tuple[int, int, int]:
        totals = stock_board("TEA", self.stock).totals
        return totals.on_hand, totals.reserved, totals.available

    def books_balance(self) -> bool:
        return all(w.explains_board for w in ledger_view("TEA", self.stock).warehouses)

    def cancels(self) -> list[tuple[str, int]]:
        return [(i.idempotency_key, i.version) for i in self.wms.sent if i.kind == InstructionKind.cancel]


def _cancelled_on_channel(world: World, order: Order) -> Stored:
    return world.channel_view(order, status=OrderStatus.cancelled, cancelled_at=world.now)


def _moved(order: Order) -> dict[str, object]:
    return {"address": order.address.model_copy(update={"district": "越秀区", "detail": "北京路1号"})}


# ---- an operator's cancel ----------------------------------------------------------------------------------


def test_an_operator_cancel_of_a_dispatched_order_stops_the_warehouse_and_its_confirmation_ends_the_order() -> None:
    # Given a dispatched order holding 2 of 10 units
    world = World()
    world.dispatched()
    assert world.board() == (10, 2, 8)
    # When an operator cancels it
    answered = cancel_order(world.held, ORDER, "ops@shop.cn", "buyer called")
    # Then the order keeps its status and stock, with the stop recorded, and the dispatcher is asked for it
    assert answered.status == OrderStatus.dispatched and world.board() == (10, 2, 8)
    stop = answered.fulfillment.stop
    assert stop is not None and (stop.requested_by, stop.actor, stop.version, stop.sent_at) == (
        StopRequester.operator, "ops@shop.cn", 2, None)
    entry = answered.timeline[-1]
    assert (entry.hop, entry.event, entry.actor, entry.detail) == (
        "operator", "cancel_requested", "ops@shop.cn", "dispatched: cancel instruction v2 to WH-GZ: buyer called")
    assert [(r.order_id, r.purpose) for r in world.queue.requests] == [(ORDER, DispatchPurpose.stop)]
    # When the dispatcher takes the request
    [result] = world.drain()
    # Then the warehouse got one cancel instruction, the next version, and the order says it was sent
    assert (result.outcome, result.version) == (DispatchOutcome.stop_sent, 2)
    assert world.cancels() == [(f"{ORDER}:2", 2)]
    order = world.order()
    assert order.status == OrderStatus.dispatched and order.fulfillment.instruction_version == 2
    assert order.fulfillment.stop is not None and order.fulfillment.stop.sent_at == world.now
    assert order.timeline[-1].event == "stop_sent"
    # When the warehouse confirms it stopped
    assert world.event(order, "cancelled", "wms-c1") == Outcome.applied
    # Then the order is cancelled, its 2 units back on sale in the same write, and the ledger explains the board
    order = world.order()
    assert order.status == OrderStatus.cancelled
    assert [(e.hop, e.event, e.detail) for e in order.timeline[-2:]] == [
        ("fulfillment", "cancelled", "stopped as OCP asked"), ("inventory", "released", "cancelled")]
    assert world.board() == (10, 0, 10) and world.books_balance()


def test_an_operator_asking_again_sends_one_stop() -> None:
    # Given an accepted order an operator cancelled
    world = World()
    world.at(1, "accepted")
    first = cancel_order(world.held, ORDER, "ops")
    # When the operator asks again before and after the dispatcher ran, and once more in bulk
    again = cancel_order(world.held, ORDER, "ops")
    world.drain()
    later = cancel_order(world.held, ORDER, "ops")
    answer = bulk(world.held, {"action": "cancel", "order_ids": [ORDER]}, "ops")
    world.drain()
    # Then one cancel instruction went out, the second ask wrote nothing, and bulk says a stop was requested
    assert world.cancels() == [(f"{ORDER}:2", 2)]
    assert again.revision == first.revision and later.fulfillment.stop == world.order().fulfillment.stop
    assert [e.event for e in world.order().timeline].count("cancel_requested") == 1
    assert [(r.outcome, r.status) for r in answer.results] == [(BulkOutcome.stop_requested, OrderStatus.accepted)]


@pytest.mark.parametrize("status", ["picked", "packed"])
def test_an_operator_cannot_cancel_an_order_the_warehouse_picked(status: str) -> None:
    # Given an order the warehouse picked (or packed)
    world = World()
    world.at(1, status)
    # When an operator cancels it / Then 409: the parcel must be intercepted or become a return; nothing is sent
    with pytest.raises(OrderActionRefused, match="intercept the parcel with the carrier, or take it back as a "
                                                 "return") as refused:
        cancel_order(world.held, ORDER, "ops")
    details = refused.value.details
    assert isinstance(details, dict) and details["next_step"] == "intercept_or_return"
    assert world.queue.requests == [] and world.cancels() == []
    assert world.order().fulfillment.stop is None


# ---- the channel's cancel ----------------------------------------------------------------------------------


def test_a_channel_cancel_of_an_accepted_order_stops_it_at_once_and_reconciliation_sends_nothing_more() -> None:
    # Given an accepted order
    world = World()
    order = world.at(1, "accepted")
    # When the channel's push says it is cancelled, the push is retried, and the dispatcher runs
    assert _cancelled_on_channel(world, order) == Stored.updated
    stored = world.order()
    store_order(synthetic_order(1, "TEA", 2).model_copy(update={
        "status": OrderStatus.cancelled, "cancelled_at": stored.cancelled_at,
        "channel_updated_at": stored.channel_updated_at}), world.now, world.processing)
    world.drain()
    # Then the warehouse got one cancel instruction (v2) at once; the order waits for its confirmation
    assert world.cancels() == [(f"{ORDER}:2", 2)]
    stop = world.order().fulfillment.stop
    assert stop is not None and (stop.requested_by, stop.version) == (StopRequester.channel, 2)
    assert stop.sent_at is not None and world.order().status == OrderStatus.accepted
    # When reconciliation runs later, twice
    world.now += timedelta(minutes=10)
    runs = [reconcile(world.reconciling) for _ in range(2)]
    # Then it records the cancellation and alerts once, and sends no second stop
    assert [(r.cancelled_on_channel, r.stopped, r.alerted) for r in runs] == [([ORDER], [], [ORDER]), ([], [], [])]
    assert world.cancels() == [(f"{ORDER}:2", 2)]
    cancel = world.order().fulfillment.channel_cancel
    assert cancel is not None and (cancel.stop_version, cancel.stop_sent_at) == (2, stop.sent_at)
    assert world.events.events[0].detail["warehouse_stop"] == "cancel instruction v2 sent"
    # When the warehouse confirms / Then the order is cancelled and its stock back on sale
    assert world.event(world.order(), "cancelled", "wms-c1") == Outcome.applied
    assert world.order().status == OrderStatus.cancelled and world.board() == (10, 0, 10) and world.books_balance()


def test_reconciliation_sends_a_stop_the_dispatcher_could_not_send_with_the_same_version() -> None:
    # Given an operator's stop that the dispatcher could not hand over (WMS down, the message later lost)
    world = World()
    world.dispatched()
    cancel_order(world.held, ORDER, "ops")
    world.wms.fail_with = WmsUnavailable("queue unreachable")
    with pytest.raises(WmsUnavailable):
        world.drain()
    world.wms.fail_with = None
    # When reconciliation runs (the channel still shows the order paid)
    world.channels.statuses[("shopify", "1")] = OrderStatus.received
    run = reconcile(world.reconciling)
    # Then it sent the stop the operator asked for, under its own version, once; no channel cancellation recorded
    assert run.stopped == [ORDER] and world.cancels() == [(f"{ORDER}:2", 2)]
    assert world.order().fulfillment.channel_cancel is None and reconcile(world.reconciling).stopped == []


def test_a_channel_cancel_after_the_warehouse_picked_the_order_is_flagged_for_a_person() -> None:
    # Given a picked order
    world = World()
    order = world.at(1, "picked")
    # When the channel cancels it, and says so again later
    _cancelled_on_channel(world, order)
    _cancelled_on_channel(world, world.order())
    world.drain()
    # Then no instruction is sent; the order carries one issue and a timeline entry saying what to do
    order = world.order()
    assert order.status == OrderStatus.picked and world.cancels() == []
    [issue] = [i for i in order.fulfillment.issues if i.kind == IssueKind.cancel_after_pick]
    assert issue.reason == ("cancelled on shopify while picked: the warehouse has picked it: intercept the parcel "
                            "with the carrier, or take it back as a return")
    assert [(e.hop, e.event) for e in order.timeline if e.event == "cancel_after_pick"] == [
        ("fulfillment", "cancel_after_pick")]
    assert world.board() == (10, 2, 8)


# ---- the buyer's address changes -------------------------------------------------------------------------------


def test_an_address_change_after_dispatch_sends_the_next_instruction_version_with_the_new_address() -> None:
    # Given a dispatched order (v1 with the old address)
    world = World()
    order = world.dispatched()
    # When the buyer's new address arrives from the channel, and the dispatcher runs
    world.channel_view(order, **_moved(order))
    assert world.order().fulfillment.update is not None
    [request] = world.queue.requests
    [result] = world.drain()
    # Then the warehouse got v2, kind fulfil, with the new address, under the key <order_id>:2
    first, second = world.wms.sent
    assert (second.version, second.kind, second.idempotency_key) == (2, InstructionKind.fulfil, f"{ORDER}:2")
    assert (first.address.district, second.address.district, second.address.detail) == (None, "越秀区", "北京路1号")
    assert (result.outcome, result.version) == (DispatchOutcome.updated, 2)
    # and the order records it: version 2, nothing owed any more, a timeline entry; its status and stock stay
    stored = world.order()
    assert (stored.status, stored.fulfillment.instruction_version, stored.fulfillment.update) == (
        OrderStatus.dispatched, 2, None)
    entry = stored.timeline[-1]
    assert (entry.hop, entry.event) == ("fulfillment", "instruction_updated")
    assert entry.detail is not None and entry.detail.startswith("instruction v2 to WH-GZ: the buyer's address changed")
    assert world.board() == (10, 2, 8)
    # When the request is redelivered / Then nothing more is sent
    assert request.purpose == DispatchPurpose.update
    assert dispatch(request, world.dispatching).outcome == DispatchOutcome.already_dispatched
    assert len(world.wms.sent) == 2


@pytest.mark.parametrize("status", ["picked", "packed"])
def test_an_address_change_after_the_warehouse_picked_the_order_is_flagged_for_a_person(status: str) -> None:
    # Given an order the warehouse picked
    world = World()
    order = world.at(1, status)
    # When the buyer's address changes
    world.channel_view(order, **_moved(order))
    world.drain()
    # Then no instruction is sent; an issue and a timeline entry say the parcel must be re-labelled or intercepted
    stored = world.order()
    assert len(world.wms.sent) == 1 and stored.fulfillment.update is None
    [issue] = [i for i in stored.fulfillment.issues if i.kind == IssueKind.address_change_after_pick]
    assert issue.reason == f"the buyer's address changed while {status}: re-label or intercept the parcel"
    assert stored.timeline[-1].event == "address_change_after_pick"


def test_an_update_the_warehouse_overtook_by_picking_is_flagged_not_lost() -> None:
    # Given a dispatched order whose address changed, and the warehouse picks it before the dispatcher runs
    world = World()
    order = world.dispatched()
    world.channel_view(order, **_moved(order))
    world.event(world.order(), "picked", "p1")
    # When the dispatcher takes the update
    [result] = world.drain()
    # Then nothing is sent and the order is flagged for a person instead
    assert result.outcome == DispatchOutcome.not_dispatchable and len(world.wms.sent) == 1
    stored = world.order()
    assert stored.fulfillment.update is None
    assert [i.kind for i in stored.fulfillment.issues] == [IssueKind.address_change_after_pick]


def test_a_cancel_supersedes_an_address_change_not_yet_sent() -> None:
    # Given a dispatched order whose address changed, then an operator cancels it before the dispatcher ran
    world = World()
    order = world.dispatched()
    world.channel_view(order, **_moved(order))
    cancel_order(world.held, ORDER, "ops")
    # When the dispatcher takes both requests
    world.drain()
    # Then only the stop was sent (v2), and the update is no longer owed
    assert [(i.version, i.kind) for i in world.wms.sent] == [(1, InstructionKind.fulfil), (2, InstructionKind.cancel)]
    assert world.order().fulfillment.update is None


# ---- versions and stored orders --------------------------------------------------------------------------------


def test_a_stop_whose_version_another_instruction_took_is_sent_as_the_next_one() -> None:
    # Given a stop recorded as v2 while an address update was being sent as v2 (crossed)
    world = World()
    world.dispatched()
    stopped = cancel_order(world.held, ORDER, "ops")
    world.orders.put_unchecked(stopped.model_copy(update={"fulfillment": stopped.fulfillment.model_copy(update={
        "instruction_version": 2}), "revision": stopped.revision + 1}))
    # When the stop is sent / Then it goes out as v3, recorded before it was sent
    _, result = send_stop(world.order(), world.orders, world.wms, world.now, actor="test")
    assert (result.outcome, result.version) == (DispatchOutcome.stop_sent, 3)
    assert world.cancels() == [(f"{ORDER}:3", 3)]


def test_an_order_stored_with_reconciliations_pending_stop_reads_it_as_its_stop() -> None:
    # Given a stored fulfilment from before stop requests had their own record
    stored = {"instruction_version": 1, "channel_cancel": {
        "detected_at": "2026-11-11T04:00:00Z", "channel_status": "cancelled", "stop_version": 2}}
    # When it is read / Then its stop is reconciliation's, pending at v2; a stop-less one reads as none
    stop = Fulfillment.model_validate(stored).stop
    assert stop is not None and (stop.requested_by, stop.version, stop.pending) == (
        StopRequester.reconciliation, 2, True)
    assert Fulfillment.model_validate({"instruction_version": 1}).stop is None
