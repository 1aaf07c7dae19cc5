"""Dispatch of an order split across warehouses: one instruction per parcel, each recorded once handed over.

The dispatcher (`ocp.services.fulfillment.dispatch`) hands a split order here: its first hand-over and re-dispatches,
its stop and its updates go to each parcel's warehouse (`ocp.domain.fulfillment.parcels`). Each parcel's hand-over is
written on its own, right after it, so a WMS that is down (`WmsUnavailable` propagates) only leaves its own parcel to
the retry: the redelivered request finds the others handed over already. A WMS that refuses is recorded on the
order and the other warehouses still get theirs.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, NamedTuple

from ocp.domain.fulfillment.changes import drop_update
from ocp.domain.fulfillment.dispatch import (
    DispatchOutcome,
    DispatchRequest,
    Skip,
    WarehouseInstruction,
    WmsRejected,
    WmsUnavailable,
    mark_rejected,
)
from ocp.domain.fulfillment.parcels import (
    mark_parcel_dispatched,
    mark_parcel_rejected,
    mark_parcel_stop_sent,
    mark_parcel_updated,
    not_dispatchable,
    owed_stops,
    plan_parcel_updates,
    plan_parcels,
    renumbered_stop,
)
from ocp.domain.fulfillment.stops import stop_refused
from ocp.domain.order.model import Order, OrderStatus
from ocp.services.order.updates import update_order

if TYPE_CHECKING:
    from ocp.ports import TransactionalOrderStore, WmsAdapter


class ParcelDeps(NamedTuple):
    orders: TransactionalOrderStore
    wms: WmsAdapter
    now: Callable[[], datetime]
    writer: str
    """Who writes the order (the dispatcher, reconciliation)."""


class Sent(NamedTuple):
    """What one request did to a split order's parcels (the dispatcher reports it as its `DispatchResult`)."""

    outcome: DispatchOutcome
    version: int | None
    detail: str | None


def dispatch_parcels(order: Order, request: DispatchRequest, deps: ParcelDeps) -> Sent:
    """Hand each parcel the request names its next instruction, unless handed over already."""
    plan = plan_parcels(order, request, deps.now())
    if isinstance(plan, Skip):
        return Sent(plan.outcome, order.fulfillment.instruction_version, plan.reason)
    handed: list[str] = []
    refused: list[str] = []
    for instruction in plan:
        if not_dispatchable(order):
            break  # cancelled (or stopped) meanwhile: the warehouses still waiting are not sent it
        try:
            receipt = deps.wms.send(instruction)
        except WmsRejected as exc:
            order = _write(deps, order, partial(mark_parcel_rejected, warehouse=instruction.warehouse,
                                                reason=exc.message, now=deps.now(), actor=request.actor))
            refused.append(f"{instruction.warehouse} v{instruction.version}: {exc.message}")
            continue
        order = _write(deps, order, partial(mark_parcel_dispatched, instruction=instruction, receipt=receipt,
                                            now=deps.now(), actor=request.actor))
        handed.append(f"{instruction.warehouse} v{instruction.version} ({receipt})")
    if order.status == OrderStatus.cancelled:
        _cancel_after_cancel(order, deps)
    version = max(i.version for i in plan)
    if not handed:
        return Sent(DispatchOutcome.rejected, version, "; ".join(refused))
    outcome = DispatchOutcome.redispatched if version > 1 else DispatchOutcome.dispatched
    return Sent(outcome, version, "; ".join(handed + refused))


def _cancel_after_cancel(order: Order, deps: ParcelDeps) -> None:
    """Instructions reached warehouses while the order was being cancelled: tell them at once. A WMS that is down or
    refuses leaves the `dispatched_after_cancel` issue for an operator (not retried here)."""
    try:
        send_parcel_stops(order, deps)
    except WmsUnavailable:
        return


def send_parcel_stops(order: Order, deps: ParcelDeps, hop: str = "fulfillment") -> tuple[Order, Sent | None]:
    """Send each warehouse the cancel instruction the order owes it (`owed_stops`), recording each; None when none
    is owed. A refusal of the requested stop is recorded on it (not asked again: a person acts); `WmsUnavailable`
    propagates (the parcels sent are recorded; the retry sends the rest)."""
    if renumbered_stop(order) is not None:
        order = _write(deps, order, renumbered_stop)
    owed = owed_stops(order, deps.now())
    if not owed:
        return order, None
    sent: list[str] = []
    for instruction in owed:
        try:
            receipt = deps.wms.send(instruction)
        except WmsRejected as exc:
            order = _write(deps, order, partial(_refused, instruction=instruction, reason=exc.message,
                                                now=deps.now(), hop=hop))
            return order, Sent(DispatchOutcome.rejected, instruction.version, exc.message)
        order = _write(deps, order, partial(mark_parcel_stop_sent, instruction=instruction, receipt=receipt,
                                            now=deps.now()))
        sent.append(f"{instruction.warehouse} v{instruction.version} ({receipt})")
    return order, Sent(DispatchOutcome.stop_sent, max(i.version for i in owed), "; ".join(sent))


def _refused(order: Order, instruction: WarehouseInstruction, reason: str, now: datetime, hop: str) -> Order | None:
    """A warehouse refused its cancel instruction: the requested stop notes it (a person acts); a cancel owed after
    OCP cancelled the order becomes an issue."""
    why = f"{instruction.warehouse}: {reason}"
    if order.fulfillment.stop is not None:
        return stop_refused(order, why, now, hop=hop)
    return mark_rejected(order, instruction.warehouse, f"cancel instruction refused: {reason}", now)


def send_parcel_updates(order: Order, deps: ParcelDeps) -> Sent:
    """Send the update the order owes its warehouses: the next fulfil version of each parcel not picked yet. An
    update that can no longer be sent is dropped (the warehouses were asked to stop)."""
    now, owed = deps.now(), order.fulfillment.update
    plan = plan_parcel_updates(order, now)
    if isinstance(plan, Skip):
        if plan.outcome == DispatchOutcome.not_dispatchable:
            _write(deps, order, partial(drop_update, now=now))
        return Sent(plan.outcome, order.fulfillment.instruction_version, plan.reason)
    assert owed is not None  # plan_parcel_updates plans only an owed update
    sent: list[str] = []
    for n, instruction in enumerate(plan, start=1):
        try:
            receipt = deps.wms.send(instruction)
        except WmsRejected as exc:
            _write(deps, order, partial(mark_rejected, warehouse=instruction.warehouse, reason=exc.message, now=now))
            return Sent(DispatchOutcome.rejected, instruction.version, exc.message)
        order = _write(deps, order, partial(mark_parcel_updated, instruction=instruction, receipt=receipt,
                                            sent_for=owed, now=now, last=n == len(plan)))
        sent.append(f"{instruction.warehouse} v{instruction.version} ({receipt})")
    return Sent(DispatchOutcome.updated, max(i.version for i in plan), "; ".join(sent))


def _write(deps: ParcelDeps, order: Order, change: Callable[[Order], Order | None]) -> Order:
    stored, _ = update_order(deps.orders, order.order_id, change, actor=deps.writer, at=deps.now())
    return stored
