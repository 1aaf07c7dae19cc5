"""Reconciliation: what OCP believes about an order with the warehouse against what its channel says (pure).

The scheduled job reads the channel's view of every order OCP has with a warehouse (`dispatched`, `accepted`,
`picked`, `packed`). An order the channel cancelled meanwhile is not cancelled here (the warehouse holds it, and
only the warehouse knows whether it can still stop it). Instead OCP records it once (`fulfillment.channel_cancel`,
an issue and a timeline entry), sends the warehouse a cancel instruction unless a parcel already left, and raises
one alert. Every step is stored when done, so a run that stops half-way is completed by the next one and an order
is alerted once, not once per run. A stop requested already (by an operator, or by the channel's push through
ingest) is the stop: reconciliation sends it only if it is still pending, never a second one
(`ocp.domain.fulfillment.stops`). The warehouse confirms with a `cancelled` callback
(`ocp.domain.fulfillment.callbacks`).
"""

from __future__ import annotations

from datetime import datetime

from ocp.domain.clock import iso
from ocp.domain.fulfillment.parcels import stoppable
from ocp.domain.fulfillment.state import ChannelCancel, FulfillmentIssue, IssueKind, StopRequest, StopRequester
from ocp.domain.fulfillment.stops import new_stop, with_stop
from ocp.domain.inventory.events import DomainEvent
from ocp.domain.order.model import Order, OrderStatus, TimelineEntry

HOP = "reconciliation"
EVENT_SOURCE = "ocp.fulfillment"
ALERT_DETAIL_TYPE = "order.cancelled_on_channel"
RECONCILED: tuple[OrderStatus, ...] = (
    OrderStatus.dispatched, OrderStatus.accepted, OrderStatus.picked, OrderStatus.packed,
)
"""With the warehouse and not yet shipped: where a cancellation on the channel can still stop a parcel."""


def record_channel_cancel(order: Order, channel_status: str | None, now: datetime) -> Order | None:
    """The order once the channel's cancellation is recorded; None when recorded already or no longer relevant
    (the order moved on meanwhile: shipped, or cancelled by the warehouse's own callback)."""
    if order.fulfillment.channel_cancel is not None or order.status not in RECONCILED:
        return None
    stop = order.fulfillment.stop or _stop(order, now)
    if order.fulfillment.stop is not None:
        what = f"the warehouse was asked to stop already ({stop.requested_by.value})"
    elif stop.version is None:
        what = "not stopped: a parcel already left"
    else:
        what = f"stopping the warehouse (v{stop.version})"
    cancel = ChannelCancel(detected_at=now, channel_status=channel_status)
    reason = f"cancelled on {order.channel.value} ({channel_status or 'cancelled'}) while {order.status.value}"
    issue = FulfillmentIssue(at=now, kind=IssueKind.cancelled_on_channel, reason=reason)
    entry = TimelineEntry(at=now, hop=HOP, event="cancelled_on_channel", source=order.channel.value,
                          detail=f"{reason}; {what}")
    fulfillment = with_stop(order.fulfillment.model_copy(update={
        "channel_cancel": cancel, "issues": (*order.fulfillment.issues, issue),
    }), stop)
    return order.model_copy(update={
        "fulfillment": fulfillment, "timeline": (*order.timeline, entry),
    })


def _stop(order: Order, now: datetime) -> StopRequest:
    """Reconciliation's own stop: the next version, unless a parcel already left (a split order: unless every
    warehouse's did; the others are stopped)."""
    if not order.fulfillment.shipments or stoppable(order):
        return new_stop(order, StopRequester.reconciliation, now, reason=f"cancelled on {order.channel.value}")
    return StopRequest(requested_by=StopRequester.reconciliation, requested_at=now,
                       note="a parcel already left the warehouse: not stopped, an operator decides")


def mark_alerted(order: Order, now: datetime) -> Order | None:
    cancel = order.fulfillment.channel_cancel
    if cancel is None or cancel.alerted_at is not None:
        return None
    fulfillment = order.fulfillment.model_copy(update={"channel_cancel": cancel.model_copy(update={
        "alerted_at": now})})
    return order.model_copy(update={"fulfillment": fulfillment})


def alert_event(order: Order) -> DomainEvent:
    """The alert: ids, statuses and what was done about the warehouse; never buyer data."""
    cancel = order.fulfillment.channel_cancel
    assert cancel is not None
    if cancel.stop_sent_at is not None:
        stop = f"cancel instruction v{cancel.stop_version} sent"
    elif cancel.stop_version is not None:
        stop = "cancel instruction pending (warehouse unreachable; retried next run)"
    else:
        stop = cancel.note or "not sent"
    return DomainEvent(source=EVENT_SOURCE, detail_type=ALERT_DETAIL_TYPE, detail={
        "order_id": order.order_id, "channel": order.channel.value, "channel_order_id": order.channel_order_id,
        "status": order.status.value, "warehouse": order.warehouse, "channel_status": cancel.channel_status,
        "detected_at": iso(cancel.detected_at), "warehouse_stop": stop,
        "parcels_shipped": len(order.fulfillment.shipments),
    })
