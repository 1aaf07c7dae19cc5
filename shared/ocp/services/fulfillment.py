"""Callbacks from warehouses and carriers onto stored orders, and the write-back of shipments to the channel."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from ocp.domain.fulfillment import (
    Applied,
    FulfillmentEvent,
    Outcome,
    WritebackRejected,
    WritebackUnavailable,
    apply_event,
    due_writebacks,
    writeback_confirmed,
    writeback_failed,
)
from ocp.domain.order import Order, OrderStatus
from ocp.ports import ChannelWriteback, OrderStore
from ocp.services.order_updates import update_order


@dataclass(frozen=True)
class CallbackDeps:
    orders: OrderStore
    now: Callable[[], datetime]


@dataclass(frozen=True)
class CallbackResult:
    order_id: str
    status: OrderStatus
    outcome: Outcome
    order: Order

    @property
    def applied(self) -> bool:
        return self.outcome == Outcome.applied


def record_callback(event: FulfillmentEvent, deps: CallbackDeps) -> CallbackResult:
    """Apply one WMS/TMS callback to its order exactly once; `OrderNotFound` for an unknown order."""
    now = deps.now()
    last: list[Applied] = []

    def change(order: Order) -> Order | None:
        last.append(apply_event(order, event, now))
        return last[-1].order if last[-1].changed else None

    stored, _ = update_order(deps.orders, event.order_id, change)
    return CallbackResult(order_id=stored.order_id, status=stored.status, outcome=last[-1].outcome, order=stored)


# ---- write-back -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WritebackDeps:
    orders: OrderStore
    channel: ChannelWriteback
    now: Callable[[], datetime]


@dataclass(frozen=True)
class WritebackAttempt:
    tracking_no: str
    confirmed: bool
    error: str | None = None
    retryable: bool = False


def write_back(order_id: str, deps: WritebackDeps) -> list[WritebackAttempt]:
    """Confirm every due shipment of the order on its channel and record each answer on the order.

    Pending write-backs stay pending with a growing backoff until the channel acknowledges them; a refusal for
    good marks the write-back failed with an issue. Either way the order shows it, and until it is confirmed the
    order stays in the sparse `by_writeback_pending` index, which the stuck report reads (hop `channel_writeback`).
    Any other exception propagates: the caller's retry (queue redelivery, the next sweep) tries again.
    """
    order = deps.orders.get(order_id)
    if order is None:
        return []
    attempts: list[WritebackAttempt] = []
    for shipment in due_writebacks(order, deps.now()):
        attempt = _attempt(deps.channel, order, shipment.tracking_no, shipment.carrier)
        attempts.append(attempt)
        change: Callable[[Order], Order | None] = (
            partial(writeback_confirmed, tracking_no=attempt.tracking_no, now=deps.now()) if attempt.confirmed
            else partial(writeback_failed, tracking_no=attempt.tracking_no, error=attempt.error or "",
                         retryable=attempt.retryable, now=deps.now())
        )
        order, _ = update_order(deps.orders, order_id, change)
    return attempts


def _attempt(channel: ChannelWriteback, order: Order, tracking_no: str, carrier: str) -> WritebackAttempt:
    try:
        channel.confirm_shipment(order, tracking_no, carrier)
    except WritebackUnavailable as exc:
        return WritebackAttempt(tracking_no, confirmed=False, error=exc.message, retryable=True)
    except WritebackRejected as exc:
        return WritebackAttempt(tracking_no, confirmed=False, error=exc.message, retryable=False)
    return WritebackAttempt(tracking_no, confirmed=True)
