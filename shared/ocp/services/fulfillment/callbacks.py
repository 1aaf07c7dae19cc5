"""Callbacks from warehouses and carriers onto stored orders (the write-back of shipments to the channel is
`ocp.services.fulfillment.writeback`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, NamedTuple

from ocp.domain.fulfillment.callbacks import (
    Applied,
    FulfillmentEvent,
    FulfillmentEventName,
    Outcome,
    apply_event,
)
from ocp.domain.fulfillment.writeback import due_writebacks
from ocp.domain.inventory.books import BOOKS_REFUSED
from ocp.domain.order.model import Order, OrderStatus
from ocp.services.order.updates import update_order

if TYPE_CHECKING:
    from ocp.ports import CountTimes, TransactionalOrderStore

CALLBACK_ACTOR = "fulfillment_callback"


class CallbackDeps(NamedTuple):
    orders: TransactionalOrderStore
    """Stock-aware: a callback that ships or cancels the order moves its stock in the same write."""
    now: Callable[[], datetime]
    counts: CountTimes | None = None
    """When each stock was last counted by a WMS push: a parcel the push already counted is not taken off
    on_hand again (None: every shipment is)."""


class CallbackResult(NamedTuple):
    order_id: str
    status: OrderStatus
    outcome: Outcome
    order: Order

    writeback_due: bool = False
    """This callback recorded a shipment the channel is owed: queue its write-back now."""
    books_refused: bool = False
    """The stock books refused part of this callback's stock movement (`stock_books_refused` on the timeline)."""

    @property
    def applied(self) -> bool:
        return self.outcome == Outcome.applied


def record_callback(event: FulfillmentEvent, deps: CallbackDeps, read: Order | None = None) -> CallbackResult:
    """Apply one WMS/TMS callback to its order exactly once; `OrderNotFound` for an unknown order. `read`: the
    order as the caller just read it (spares a second read)."""
    now = deps.now()
    last: list[Applied] = []

    def change(order: Order) -> Order | None:
        last.append(apply_event(order, event, now))
        return last[-1].order if last[-1].changed else None

    stored, wrote = update_order(deps.orders, event.order_id, change, actor=CALLBACK_ACTOR, at=now,
                                 counts=deps.counts, read=read)
    due = wrote and event.event == FulfillmentEventName.shipped and any(
        s.tracking_no == event.tracking_no for s in due_writebacks(stored, now))
    refused = wrote and any(e.event == BOOKS_REFUSED and e.at == now for e in stored.timeline)
    return CallbackResult(order_id=stored.order_id, status=stored.status, outcome=last[-1].outcome, order=stored,
                          writeback_due=due, books_refused=refused)


# ---- write-back -----------------------------------------------------------------------------------------
