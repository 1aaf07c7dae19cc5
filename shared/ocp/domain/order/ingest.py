"""From a channel's view of an order to OCP's stored order, without ever moving backwards.

Every lifecycle event a channel reports — created/unpaid, paid, cancelled/closed, address changed, amount
changed, refund started — reaches OCP as a full view of the order (pushed, pulled for a thin push, or
polled). Views apply in the order of the channel's own modification time (`channel_updated_at`): a view
older than the stored one is late and changes nothing, and so is a duplicate with the same time. The one
exception: channels stamp times to the second, so a view with the *same* time that moves the lifecycle
strictly forward (unpaid → paid → cancelled, or a refund newly started) is applied; it can never undo one.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from ocp.domain.order.model import GIFT_LINE_PREFIX, Order, OrderLine, OrderStatus, TimelineEntry, sold_lines

# Statuses a channel may still change (a cancellation applies, and the order's write releases its stock). `reserved`
# is among them: the order has not reached the warehouse. Past these it is in the warehouse's hands: a cancellation
# is recorded (`cancel_requested_after_dispatch`) and the warehouse is asked to stop (`ocp.domain.fulfillment.changes`).
_CHANNEL_MUTABLE = {OrderStatus.pending_payment, OrderStatus.received, OrderStatus.held, OrderStatus.reserved}
_CHANNEL_FIELDS = {
    "channel_order_name", "paid_at", "cancelled_at", "channel_updated_at", "currency", "amounts", "address",
    "buyer_id", "buyer_note", "seller_note", "tags", "lines", "channel_status", "seller_flag", "cash_on_delivery",
    "presale", "cross_border",
}


class LifecycleEvent(StrEnum):
    """The timeline events a channel update records (hop `ingest`, source = the channel)."""

    paid = "paid"
    cancelled = "cancelled_by_channel"
    cancel_after_dispatch = "cancel_requested_after_dispatch"
    address_changed = "address_changed"
    amount_changed = "amount_changed"
    refund_started = "refund_started"
    updated = "channel_updated"
    """Anything else the channel changed (notes, flags, pre-sale stage, channel status)."""


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
    if incoming.channel_updated_at < existing.channel_updated_at:
        return None
    if incoming.channel_updated_at == existing.channel_updated_at and not _moves_forward(existing, incoming):
        return None
    status, status_event = _next_status(existing.status, incoming.status)
    source = incoming.channel.value
    entries = [
        TimelineEntry(at=processed_at, hop="ingest", event=event, source=source, detail=detail)
        for event, detail in _events(existing, incoming, status, status_event)
    ]
    channel_fields = incoming.model_dump(include=_CHANNEL_FIELDS)
    channel_fields["lines"] = [line.model_dump() for line in _merged_lines(existing, incoming)]
    # A channel view that lacks a time it already told us (paid, cancelled) does not erase it.
    channel_fields["paid_at"] = incoming.paid_at or existing.paid_at
    channel_fields["cancelled_at"] = incoming.cancelled_at or existing.cancelled_at
    update = {
        **channel_fields,
        "status": status,
        "status_since": processed_at if status != existing.status else existing.status_since,
        "timeline": (*existing.timeline, *entries),
    }
    return Order.model_validate({**existing.model_dump(), **update})


def lifecycle_events(existing: Order, incoming: Order) -> list[LifecycleEvent]:
    """What a channel view changes, as lifecycle events (without applying it)."""
    status, status_event = _next_status(existing.status, incoming.status)
    return [event for event, _ in _events(existing, incoming, status, status_event)]


def _events(
    existing: Order, incoming: Order, status: OrderStatus, status_event: LifecycleEvent | None
) -> list[tuple[LifecycleEvent, str | None]]:
    events: list[tuple[LifecycleEvent, str | None]] = []
    if status_event is not None:
        moved = None if status == existing.status else f"{existing.status.value} → {status.value}"
        events.append((status_event, moved))
    if incoming.address != existing.address:
        events.append((LifecycleEvent.address_changed, None))  # never the address itself: it is PII
    if incoming.amounts != existing.amounts or _line_money(incoming) != _line_money(existing):
        events.append((LifecycleEvent.amount_changed, f"paid {existing.amounts.paid} → {incoming.amounts.paid}"))
    refunds = sorted(_refunding(incoming) - _refunding(existing))
    if refunds:
        events.append((LifecycleEvent.refund_started, f"lines {', '.join(refunds)}"))
    return events or [(LifecycleEvent.updated, None)]


def _next_status(current: OrderStatus, reported: OrderStatus) -> tuple[OrderStatus, LifecycleEvent | None]:
    if reported == OrderStatus.cancelled:
        if current == OrderStatus.cancelled:
            return current, None
        if current in _CHANNEL_MUTABLE:
            return OrderStatus.cancelled, LifecycleEvent.cancelled
        # Already with the warehouse: keep the status, the timeline shows the cancellation to act on.
        return current, LifecycleEvent.cancel_after_dispatch
    if current == OrderStatus.pending_payment and reported == OrderStatus.received:
        return OrderStatus.received, LifecycleEvent.paid
    return current, None


def _moves_forward(existing: Order, incoming: Order) -> bool:
    return _rank(incoming.status) > _rank(existing.status) or bool(_refunding(incoming) - _refunding(existing))


def _rank(status: OrderStatus) -> int:
    """Where a status stands in the channel's lifecycle: unpaid < paid (and all of fulfilment) < cancelled."""
    if status == OrderStatus.pending_payment:
        return 0
    return 2 if status == OrderStatus.cancelled else 1


def _refunding(order: Order) -> set[str]:
    return {line.line_id for line in order.lines if line.refund_requested}


def _line_money(order: Order) -> list[tuple[str, int, int]]:
    return [(line.line_id, line.quantity, line.paid) for line in sold_lines(order)]


def _merged_lines(existing: Order, incoming: Order) -> tuple[OrderLine, ...]:
    """The channel's lines, with the gift lines OCP added kept while the sold units stay the same; when they
    change, the gifts go and the gift rules decide them again against the new lines."""
    gifts = tuple(line for line in existing.lines if line.line_id.startswith(GIFT_LINE_PREFIX))
    if not gifts or _units(sold_lines(existing)) != _units(incoming.lines):
        return incoming.lines
    return (*incoming.lines, *gifts)


def _units(lines: tuple[OrderLine, ...]) -> list[tuple[str, int]]:
    totals: dict[str, int] = {}
    for line in lines:
        totals[line.sku] = totals.get(line.sku, 0) + line.quantity
    return sorted(totals.items())
