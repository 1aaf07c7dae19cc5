"""Dispatch over in-memory ports: the instruction, hand-over before `dispatched`, versions for idempotency."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ocp.adapters.memory.fulfillment import MemoryFulfillmentOrders, MemoryWms
from ocp.domain.fulfillment.dispatch import (
    DispatchOutcome,
    DispatchRequest,
    WarehouseInstruction,
    WmsRejected,
    WmsUnavailable,
    plan_dispatch,
)
from ocp.domain.fulfillment.state import IssueKind
from ocp.domain.order.model import Order, OrderStatus
from ocp.services.fulfillment.callbacks import CallbackDeps, record_callback
from ocp.services.fulfillment.dispatch import DispatchDeps, dispatch, dispatch_now
from tests.fulfillment_support import ORDER_ID, T0, TEA, callback, order_at

NOW = T0 + timedelta(minutes=1)


def _deps(*orders: Order) -> tuple[DispatchDeps, MemoryFulfillmentOrders, MemoryWms]:
    store, wms = MemoryFulfillmentOrders(), MemoryWms()
    for order in orders:
        store.create(order)
    return DispatchDeps(orders=store, wms=wms, now=lambda: NOW), store, wms


def _stored(store: MemoryFulfillmentOrders) -> Order:
    order = store.get(ORDER_ID)
    assert order is not None
    return order


def test_a_reserved_order_becomes_an_instruction_then_dispatched() -> None:
    # Given a reserved order routed to WH-GZ with a carrier preference tag
    deps, store, wms = _deps(order_at(OrderStatus.reserved, tags=("vip", "carrier:SF")))
    # When it is dispatched
    result = dispatch(DispatchRequest(order_id=ORDER_ID), deps)
    # Then the WMS got version 1 with lines by merchant SKU, the address, carrier preference and notes
    [instruction] = wms.sent
    assert (instruction.version, instruction.idempotency_key) == (1, f"{ORDER_ID}:1")
    assert [(ln.line_id, ln.sku, ln.quantity) for ln in instruction.lines] == [
        (TEA, "TEA-LONGJING-250", 2), ("13370002", "CUP-CELADON", 1)]
    assert instruction.warehouse == "WH-GZ" and instruction.carrier_preference == "SF"
    assert instruction.address.city == "广州市" and instruction.buyer_note == "请周末送货"
    assert instruction.model_dump(mode="json")["idempotency_key"] == f"{ORDER_ID}:1"
    # and only then the order is dispatched, with a timeline entry naming version, warehouse and receipt
    order = _stored(store)
    assert (result.outcome, result.version) == (DispatchOutcome.dispatched, 1)
    assert (order.status, order.status_since, order.fulfillment.instruction_version) == (
        OrderStatus.dispatched, NOW, 1)
    entry = order.timeline[-1]
    assert (entry.hop, entry.event, entry.source, entry.detail) == (
        "fulfillment", "dispatched", "ocp", "instruction v1 to WH-GZ (memory #1)")


def test_a_redelivered_request_sends_nothing_more() -> None:
    # Given an order dispatched for a request after version 0
    deps, store, wms = _deps(order_at(OrderStatus.reserved))
    dispatch(DispatchRequest(order_id=ORDER_ID), deps)
    # When the same request is delivered again
    again = dispatch(DispatchRequest(order_id=ORDER_ID), deps)
    # Then nothing is sent and nothing is written
    assert again.outcome == DispatchOutcome.already_dispatched
    assert len(wms.sent) == 1 and _stored(store).revision == 2


def test_a_handover_whose_write_was_lost_is_resent_under_the_same_key() -> None:
    # Given a WMS that took version 1, but the order write never happened (crash between send and write)
    deps, store, wms = _deps(order_at(OrderStatus.reserved))
    instruction = plan_dispatch(_stored(store), DispatchRequest(order_id=ORDER_ID), NOW)
    assert isinstance(instruction, WarehouseInstruction)
    wms.send(instruction)
    # When the request is redelivered
    dispatch(DispatchRequest(order_id=ORDER_ID), deps)
    # Then the WMS sees the same idempotency key twice (one instruction to a WMS that dedupes) and the order is v1
    assert [i.idempotency_key for i in wms.sent] == [f"{ORDER_ID}:1", f"{ORDER_ID}:1"]
    assert _stored(store).fulfillment.instruction_version == 1


def test_nothing_is_marked_when_the_handover_fails_and_the_error_propagates() -> None:
    # Given a WMS queue that is unreachable
    deps, store, wms = _deps(order_at(OrderStatus.reserved))
    wms.fail_with = WmsUnavailable("queue unreachable")
    # When dispatching / Then the caller sees the failure (to retry) and the order is untouched
    with pytest.raises(WmsUnavailable):
        dispatch(DispatchRequest(order_id=ORDER_ID), deps)
    assert _stored(store) == order_at(OrderStatus.reserved)


def test_a_refusal_is_recorded_on_the_order_which_stays_reserved() -> None:
    # Given a WMS that refuses the instruction for good
    deps, store, wms = _deps(order_at(OrderStatus.reserved))
    wms.fail_with = WmsRejected("unknown SKU CUP-CELADON")
    # When dispatching
    result = dispatch(DispatchRequest(order_id=ORDER_ID), deps)
    # Then the order stays reserved (the stuck report's `dispatch` hop finds it) with the reason as an issue
    order = _stored(store)
    assert result.outcome == DispatchOutcome.rejected
    assert (order.status, order.fulfillment.instruction_version) == (OrderStatus.reserved, 0)
    assert order.fulfillment.issues[-1].kind == IssueKind.dispatch_rejected
    assert order.timeline[-1].event == "dispatch_rejected"


@pytest.mark.parametrize(("order", "reason"), [
    (order_at(OrderStatus.held), "order is held"),
    (order_at(OrderStatus.accepted), "instruction v1 was handed over already"),
    (order_at(OrderStatus.reserved, warehouse=None), "order has no warehouse"),
])
def test_orders_that_cannot_be_dispatched_are_skipped_with_the_reason(order: Order, reason: str) -> None:
    # Given / When
    deps, _, wms = _deps(order)
    result = dispatch(DispatchRequest(order_id=ORDER_ID), deps)
    # Then
    assert result.detail == reason and wms.sent == []


def test_redispatch_sends_the_next_version_and_restarts_the_acceptance_clock() -> None:
    # Given an order dispatched at T0 that the WMS never accepted
    deps, store, wms = _deps(order_at(OrderStatus.dispatched, since=T0))
    # When an operator re-dispatches it
    result = dispatch_now(ORDER_ID, deps, actor="ops@example.com")
    # Then version 2 goes out under a new key, and the order is dispatched since now, by whom on the timeline
    order = _stored(store)
    assert (result.outcome, wms.sent[0].idempotency_key) == (DispatchOutcome.redispatched, f"{ORDER_ID}:2")
    assert (order.status_since, order.fulfillment.instruction_version) == (NOW, 2)
    assert (order.timeline[-1].event, order.timeline[-1].actor) == ("redispatched", "ops@example.com")


def test_a_callback_that_beats_the_dispatch_write_keeps_its_status() -> None:
    # Given a WMS so fast that its `accepted` callback is stored before the dispatcher records the hand-over
    deps, store, _ = _deps(order_at(OrderStatus.reserved))

    class FastWms(MemoryWms):
        def send(self, instruction: WarehouseInstruction) -> str:
            receipt = super().send(instruction)
            record_callback(callback("accepted", "e1"), CallbackDeps(orders=store, now=lambda: NOW))
            return receipt

    # When the order is dispatched
    dispatch(DispatchRequest(order_id=ORDER_ID), deps._replace(wms=FastWms()))
    # Then it stays accepted, with both the callback and the hand-over on the timeline
    order = _stored(store)
    assert (order.status, order.fulfillment.instruction_version) == (OrderStatus.accepted, 1)
    assert [e.event for e in order.timeline[-2:]] == ["accepted", "dispatched"]


def test_unknown_orders_are_reported_not_raised() -> None:
    # Given / When / Then
    deps, _, _ = _deps()
    assert dispatch(DispatchRequest(order_id="nope"), deps).outcome == DispatchOutcome.not_found
    assert dispatch_now("nope", deps).outcome == DispatchOutcome.not_found
