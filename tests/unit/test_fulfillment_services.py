"""The callback and write-back services over in-memory ports: one write per new event, retries on races."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ocp.adapters.memory.fulfillment import MemoryFulfillmentOrders, ScriptedWriteback
from ocp.domain.errors import ConcurrentModification, OrderNotFound
from ocp.domain.fulfillment.callbacks import Outcome
from ocp.domain.fulfillment.state import WritebackState
from ocp.domain.inventory.commit import CommitRejected, OrderCommit
from ocp.domain.order.model import Order, OrderStatus
from ocp.services.fulfillment.callbacks import CallbackDeps, record_callback
from ocp.services.fulfillment.merge import record_parcel_callback
from ocp.services.fulfillment.writeback import WritebackDeps, write_back
from tests.fulfillment_support import ORDER_ID, T0, TEA, callback, order_at

NOW = T0 + timedelta(minutes=5)


def _store(order: Order) -> MemoryFulfillmentOrders:
    store = MemoryFulfillmentOrders()
    store.create(order)
    return store


def _stored(store: MemoryFulfillmentOrders) -> Order:
    order = store.get(ORDER_ID)
    assert order is not None
    return order


def test_a_duplicate_callback_writes_nothing() -> None:
    # Given an accepted callback recorded once
    store = _store(order_at(OrderStatus.dispatched))
    deps = CallbackDeps(orders=store, now=lambda: NOW)
    first = record_callback(callback("accepted", "e1"), deps)
    # When the WMS resends it
    again = record_callback(callback("accepted", "e1"), deps)
    # Then the answer says duplicate, not applied, with the current status, and the order was written once
    assert (first.outcome, first.applied) == (Outcome.applied, True)
    assert (again.outcome, again.applied, again.status) == (Outcome.duplicate, False, OrderStatus.accepted)
    assert _stored(store).revision == 2


class _CountingStore(MemoryFulfillmentOrders):
    def __init__(self) -> None:
        super().__init__()
        self.reads = 0

    def get(self, order_id: str) -> Order | None:
        self.reads += 1
        return super().get(order_id)


def test_the_callback_endpoint_reads_its_order_once() -> None:
    # Given a dispatched order / When the callback service the handler calls takes an event
    store = _CountingStore()
    store.create(order_at(OrderStatus.dispatched))
    result = record_parcel_callback(callback("accepted", "e1"), CallbackDeps(orders=store, now=lambda: NOW))
    # Then it read the order once: finding out whether it belongs to a merged parcel is the read it applies to
    assert (result.answer.status, store.reads) == (OrderStatus.accepted, 1)


def test_a_callback_for_an_unknown_order_is_not_found() -> None:
    # Given / When / Then
    deps = CallbackDeps(orders=MemoryFulfillmentOrders(), now=lambda: NOW)
    with pytest.raises(OrderNotFound):
        record_callback(callback("accepted", "e1", order_id="nope"), deps)


class _RacingStore(MemoryFulfillmentOrders):
    """Another writer changes the order right before each of our first `races` writes (plain or transactional)."""

    def __init__(self, races: int) -> None:
        super().__init__()
        self.races = races

    def _interfere(self, order_id: str) -> None:
        if self.races:
            self.races -= 1
            current = self.get(order_id)
            assert current is not None
            self.put_unchecked(current.model_copy(update={"revision": current.revision + 1}))

    def replace(self, order: Order, expected_revision: int) -> Order:
        self._interfere(order.order_id)
        return super().replace(order, expected_revision)

    def commit(self, change: OrderCommit) -> CommitRejected | None:
        self._interfere(change.order.order_id)
        return super().commit(change)


def test_a_concurrent_write_is_retried_on_the_fresh_order() -> None:
    # Given a store where another writer gets in once
    store = _RacingStore(races=1)
    store.create(order_at(OrderStatus.dispatched))
    # When a callback is recorded
    result = record_callback(callback("accepted", "e1"), CallbackDeps(orders=store, now=lambda: NOW))
    # Then it is applied on top of the other write
    assert result.outcome == Outcome.applied
    assert (_stored(store).status, _stored(store).revision) == (OrderStatus.accepted, 3)


def test_an_order_that_keeps_changing_gives_up_for_the_caller_to_retry() -> None:
    # Given a store where another writer gets in every time
    store = _RacingStore(races=10)
    store.create(order_at(OrderStatus.dispatched))
    # When / Then: 409 for the WMS, which retries
    with pytest.raises(ConcurrentModification):
        record_callback(callback("accepted", "e1"), CallbackDeps(orders=store, now=lambda: NOW))


def test_write_back_confirms_due_shipments_and_records_each_answer() -> None:
    # Given an order shipped in two parcels: the channel takes one, times out on the other
    store = _store(order_at(OrderStatus.packed))
    callbacks = CallbackDeps(orders=store, now=lambda: NOW)
    record_callback(callback("shipped", "a", lines=[{"line_id": TEA, "quantity": 2}]), callbacks)
    record_callback(callback("shipped", "b"), callbacks)
    channel = ScriptedWriteback({"SFb": ["unavailable", "ok"]})
    deps = WritebackDeps(orders=store, channel=channel, now=lambda: NOW)
    # When the write-back runs
    attempts = write_back(ORDER_ID, deps)
    # Then parcel a is confirmed, parcel b pending with a retry time, and the order still in the pending index
    assert [(a.tracking_no, a.confirmed, a.retryable) for a in attempts] == [("SFa", True, False), ("SFb", False, True)]
    order = _stored(store)
    states = {s.tracking_no: s.writeback.state for s in order.fulfillment.shipments}
    assert states == {"SFa": WritebackState.confirmed, "SFb": WritebackState.pending}
    assert order.writeback_pending_since == NOW
    # When it runs again before the backoff, then after it
    assert write_back(ORDER_ID, deps) == []
    later = WritebackDeps(orders=store, channel=channel, now=lambda: NOW + timedelta(minutes=1))
    assert [a.confirmed for a in write_back(ORDER_ID, later)] == [True]
    # Then every parcel is acknowledged and the order leaves the pending index
    assert _stored(store).writeback_pending_since is None
    assert channel.confirmed == [(ORDER_ID, "SFa", "SF"), (ORDER_ID, "SFb", "SF")]


def test_write_back_refused_for_good_is_not_retried() -> None:
    # Given a shipped order whose channel refuses the confirmation
    store = _store(order_at(OrderStatus.packed))
    record_callback(callback("shipped", "a"), CallbackDeps(orders=store, now=lambda: NOW))
    deps = WritebackDeps(orders=store, channel=ScriptedWriteback({"SFa": ["rejected"]}), now=lambda: NOW)
    # When the write-back runs twice
    first, second = write_back(ORDER_ID, deps), write_back(ORDER_ID, deps)
    # Then one refused attempt, none after, and the failure stays visible on the order
    assert [(a.confirmed, a.retryable) for a in first] == [(False, False)] and second == []
    assert _stored(store).fulfillment.shipments[0].writeback.state == WritebackState.failed
    assert _stored(store).writeback_pending_since == NOW
