"""Dispatch: send the warehouse instruction, and only once it is handed over move the order to `dispatched`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from ocp.domain.fulfillment.dispatch import (
    DispatchOutcome,
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
from ocp.domain.order.model import Order, OrderStatus
from ocp.ports import TransactionalOrderStore, WmsAdapter
from ocp.services.order.updates import update_order

ACTOR = "dispatcher"


@dataclass(frozen=True)
class DispatchDeps:
    orders: TransactionalOrderStore
    wms: WmsAdapter
    now: Callable[[], datetime]


@dataclass(frozen=True)
class DispatchResult:
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
    return dispatch(DispatchRequest(order_id=order_id, after_version=order.fulfillment.instruction_version,
                                    actor=actor), deps)
