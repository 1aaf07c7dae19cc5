"""Dispatch: send the warehouse instruction, and only once it is handed over move the order to `dispatched`.

The dispatcher also sends what an order owes a warehouse that has it already: a requested stop (the cancel
instruction whose version the request fixed) and an update (the next fulfil version, after the buyer's address
changed). Services ask for both through the dispatch queue (`request_owed`, `ocp.services.fulfillment.owed`);
reconciliation sends a stop that is still pending with the same `send_stop`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, NamedTuple

from ocp.domain.fulfillment.changes import drop_update, mark_updated, plan_update
from ocp.domain.fulfillment.dispatch import (
    HOP,
    DispatchOutcome,
    DispatchPurpose,
    DispatchRequest,
    Skip,
    WmsRejected,
    WmsUnavailable,
    mark_dispatched,
    mark_rejected,
    mark_stop_sent,
    plan_dispatch,
    stop_instruction,
)
from ocp.domain.fulfillment.parcels import next_requests, parcels_of
from ocp.domain.fulfillment.stops import renumbered, stop_refused
from ocp.domain.order.model import Order, OrderStatus
from ocp.services.fulfillment.parcels import (
    ParcelDeps,
    Sent,
    dispatch_parcels,
    send_parcel_stops,
    send_parcel_updates,
)
from ocp.services.order.updates import update_order

if TYPE_CHECKING:
    from ocp.ports import TransactionalOrderStore, WmsAdapter

ACTOR = "dispatcher"
UPDATE_ROUNDS = 3
"""Updates sent in one go while changes keep arriving during the send (then the next request takes over)."""


class DispatchDeps(NamedTuple):
    orders: TransactionalOrderStore
    wms: WmsAdapter
    now: Callable[[], datetime]


class DispatchResult(NamedTuple):
    order_id: str
    outcome: DispatchOutcome
    version: int | None = None
    detail: str | None = None


def dispatch(request: DispatchRequest, deps: DispatchDeps) -> DispatchResult:
    """Hand the order over unless done already (see `ocp.domain.fulfillment.dispatch` on versions).

    `WmsUnavailable` propagates: nothing was handed over and the order is unchanged, so the caller retries (the
    dispatch queue redelivers, then dead-letters). A WMS refusal is recorded on the order, which stays put.
    """
    order = deps.orders.get(request.order_id)
    if order is None:
        return DispatchResult(request.order_id, DispatchOutcome.not_found, detail="no such order")
    if request.purpose == DispatchPurpose.stop:
        return send_stop(order, deps.orders, deps.wms, deps.now(), actor=ACTOR)[1]
    if request.purpose == DispatchPurpose.update:
        return send_update(order, deps)
    if parcels_of(order, deps.now()):  # split across warehouses: one instruction per parcel
        return _result(order, dispatch_parcels(order, request, _parcel_deps(deps.orders, deps.wms, deps.now(), ACTOR)))
    if order.fulfillment.merge is not None:  # waits to merge, or leaves as one parcel with others
        merged = _dispatch_merged(order, request, deps)
        if merged is not None:
            return merged
    plan = plan_dispatch(order, request, deps.now())
    if isinstance(plan, Skip):
        return DispatchResult(order.order_id, plan.outcome, order.fulfillment.instruction_version, plan.reason)
    try:
        receipt = deps.wms.send(plan)
    except WmsRejected as exc:
        update_order(deps.orders, order.order_id,
                     partial(mark_rejected, warehouse=plan.warehouse, reason=exc.message, now=deps.now(),
                             actor=request.actor), actor=ACTOR, at=deps.now())
        return DispatchResult(order.order_id, DispatchOutcome.rejected, plan.version, exc.message)
    stored, _ = update_order(deps.orders, order.order_id,
                             partial(mark_dispatched, instruction=plan, receipt=receipt, now=deps.now(),
                                     actor=request.actor), actor=ACTOR, at=deps.now())
    if stored.status == OrderStatus.cancelled:
        stop_after_cancel(stored, deps)
    outcome = DispatchOutcome.redispatched if plan.version > 1 else DispatchOutcome.dispatched
    return DispatchResult(order.order_id, outcome, plan.version, receipt)


def stop_after_cancel(order: Order, deps: DispatchDeps) -> bool:
    """The instruction reached the warehouse while the order was being cancelled: send the next version as a
    cancel instruction straight away. True when handed over; a WMS that is down or refuses leaves the order's
    `dispatched_after_cancel` issue for an operator (the cancel is not retried here)."""
    instruction = stop_instruction(order, version=order.fulfillment.instruction_version + 1, now=deps.now())
    try:
        receipt = deps.wms.send(instruction)
    except (WmsUnavailable, WmsRejected):
        return False
    update_order(deps.orders, order.order_id,
                 partial(mark_stop_sent, instruction=instruction, receipt=receipt, now=deps.now()),
                 actor=ACTOR, at=deps.now())
    return True


def dispatch_now(order_id: str, deps: DispatchDeps, actor: str | None = None) -> DispatchResult:
    """Send the order's next instruction version now (first dispatch, or a re-dispatch of a stuck order)."""
    order = deps.orders.get(order_id)
    if order is None:
        return DispatchResult(order_id, DispatchOutcome.not_found, detail="no such order")
    results = [dispatch(request, deps) for request in next_requests(order, actor)]  # one per parcel when split
    if len(results) == 1:
        return results[0]
    sent = [r for r in results if r.outcome in (DispatchOutcome.dispatched, DispatchOutcome.redispatched)]
    return DispatchResult(order_id, (sent or results)[0].outcome, max(r.version or 0 for r in results),
                          "; ".join(r.detail for r in results if r.detail))


def send_stop(order: Order, orders: TransactionalOrderStore, wms: WmsAdapter, now: datetime, *, actor: str,
              hop: str = HOP) -> tuple[Order, DispatchResult]:
    """Send the order's requested stop unless sent already, and record it: the same version on every resend, so
    the warehouse sees one instruction. `WmsUnavailable` propagates (nothing sent; the caller retries); a refusal is
    recorded on the stop (not asked again: a person acts)."""
    if order.fulfillment.parcels:  # a split order: each parcel's warehouse that can still stop gets it
        order, sent = send_parcel_stops(order, _parcel_deps(orders, wms, now, actor), hop=hop)
        return order, _no_stop(order) if sent is None else _result(order, sent)
    stop = order.fulfillment.stop
    if stop is not None and stop.pending and (stop.version or 0) <= order.fulfillment.instruction_version:
        order, _ = update_order(orders, order.order_id, renumbered, actor=actor, at=now)
        stop = order.fulfillment.stop
    if stop is None or stop.version is None or stop.sent_at is not None:
        return order, _no_stop(order)
    instruction = stop_instruction(order, version=stop.version, now=now)
    try:
        receipt = wms.send(instruction)
    except WmsRejected as exc:
        order, _ = update_order(orders, order.order_id, partial(stop_refused, reason=exc.message, now=now, hop=hop),
                                actor=actor, at=now)
        return order, DispatchResult(order.order_id, DispatchOutcome.rejected, instruction.version, exc.message)
    order, _ = update_order(orders, order.order_id,
                            partial(mark_stop_sent, instruction=instruction, receipt=receipt, now=now),
                            actor=actor, at=now)
    return order, DispatchResult(order.order_id, DispatchOutcome.stop_sent, instruction.version, receipt)


def _no_stop(order: Order) -> DispatchResult:
    """Why no stop is sent: none requested, sent already, or refused (its note says why)."""
    stop, version = order.fulfillment.stop, order.fulfillment.instruction_version
    if stop is not None and stop.sent_at is not None:
        return DispatchResult(order.order_id, DispatchOutcome.already_dispatched, version,
                              f"cancel instruction v{stop.version} sent")
    why = "no stop requested" if stop is None else stop.note
    return DispatchResult(order.order_id, DispatchOutcome.not_dispatchable, version, why)


def send_update(order: Order, deps: DispatchDeps) -> DispatchResult:
    """Send the update the order owes its warehouse (the next fulfil version, as the order is now). A change that
    lands while it is sent keeps the update owed, and it is sent again. One that can no longer be sent is dropped
    (the warehouse was asked to stop) or flagged for a person (picked meanwhile). `WmsUnavailable` propagates."""
    if order.fulfillment.parcels:  # a split order: each parcel's warehouse that has not picked it
        return _result(order, send_parcel_updates(order, _parcel_deps(deps.orders, deps.wms, deps.now(), ACTOR)))
    sent: DispatchResult | None = None
    for _ in range(UPDATE_ROUNDS):
        now, owed = deps.now(), order.fulfillment.update
        plan = plan_update(order, now)
        if isinstance(plan, Skip):
            if plan.outcome == DispatchOutcome.not_dispatchable:
                update_order(deps.orders, order.order_id, partial(drop_update, now=now), actor=ACTOR, at=now)
            return sent or DispatchResult(order.order_id, plan.outcome, order.fulfillment.instruction_version,
                                          plan.reason)
        assert owed is not None  # plan_update plans only an owed update
        try:
            receipt = deps.wms.send(plan)
        except WmsRejected as exc:
            update_order(deps.orders, order.order_id, partial(mark_rejected, warehouse=plan.warehouse,
                                                              reason=exc.message, now=now), actor=ACTOR, at=now)
            return DispatchResult(order.order_id, DispatchOutcome.rejected, plan.version, exc.message)
        order, _ = update_order(deps.orders, order.order_id,
                                partial(mark_updated, instruction=plan, receipt=receipt, sent_for=owed, now=now),
                                actor=ACTOR, at=now)
        sent = DispatchResult(order.order_id, DispatchOutcome.updated, plan.version, receipt)
        if order.fulfillment.update is None:
            break
    assert sent is not None  # every round sends or returns
    return sent


def _parcel_deps(orders: TransactionalOrderStore, wms: WmsAdapter, now: datetime, writer: str) -> ParcelDeps:
    return ParcelDeps(orders=orders, wms=wms, now=lambda: now, writer=writer)


def _result(order: Order, sent: Sent) -> DispatchResult:
    return DispatchResult(order.order_id, sent.outcome, sent.version, sent.detail)


def _dispatch_merged(order: Order, request: DispatchRequest, deps: DispatchDeps) -> DispatchResult | None:
    from ocp.services.fulfillment.merge import dispatch_merged  # imported here: that module builds on this one

    return dispatch_merged(order, request, deps)
