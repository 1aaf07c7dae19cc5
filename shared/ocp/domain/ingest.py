"""From a channel's view of an order to OCP's stored order, without ever moving backwards."""

from __future__ import annotations

from datetime import datetime

from ocp.domain.order import Order, OrderStatus, TimelineEntry

# Statuses a channel may still change; past these the order is in the warehouse's hands.
_CHANNEL_MUTABLE = {OrderStatus.pending_payment, OrderStatus.received, OrderStatus.held}


def first_capture(incoming: Order, received_at: datetime, processed_at: datetime) -> Order:
    """The order as first stored: its timeline starts with the channel delivery and our normalisation."""
    entries = (
        TimelineEntry(at=received_at, hop="ingest", event="received", source=incoming.channel.value),
        TimelineEntry(at=processed_at, hop="processing", event="normalised", source="ocp"),
    )
    return incoming.model_copy(update={"timeline": entries, "status_since": processed_at, "revision": 1})


def apply_channel_update(existing: Order, incoming: Order, processed_at: datetime) -> Order | None:
    """Merge a newer channel view into the stored order; None when it is a duplicate or older.

    The channel owns what the buyer bought and paid; OCP owns the status once fulfilment has started,
    holds, the warehouse and the timeline.
    """
    if incoming.channel_updated_at <= existing.channel_updated_at:
        return None
    status, event = _next_status(existing.status, incoming.status)
    channel_fields = incoming.model_dump(
        include={
            "channel_order_name", "paid_at", "cancelled_at", "channel_updated_at", "currency", "amounts",
            "address", "buyer_id", "buyer_note", "seller_note", "tags", "lines",
        }
    )
    entry = TimelineEntry(
        at=processed_at, hop="ingest", event=event, source=incoming.channel.value,
        detail=None if status == existing.status else f"{existing.status.value} → {status.value}",
    )
    update = {
        **channel_fields,
        "status": status,
        "status_since": processed_at if status != existing.status else existing.status_since,
        "timeline": (*existing.timeline, entry),
        "revision": existing.revision + 1,
    }
    return Order.model_validate({**existing.model_dump(), **update})


def _next_status(current: OrderStatus, reported: OrderStatus) -> tuple[OrderStatus, str]:
    if reported == OrderStatus.cancelled:
        if current in _CHANNEL_MUTABLE:
            return OrderStatus.cancelled, "cancelled_by_channel"
        # Already with the warehouse: keep the status, the timeline shows the cancellation to act on.
        return current, "cancel_requested_after_dispatch"
    if current == OrderStatus.pending_payment and reported == OrderStatus.received:
        return OrderStatus.received, "paid"
    return current, "channel_updated"
