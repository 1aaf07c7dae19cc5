"""A marketplace's after-sale, from its signal: re-read the record through the channel's API, upsert it by (channel,
after-sale id, version), and start or resume its workflow. Redelivered and out-of-order signals change nothing: an
older or equal version is ignored, and the workflow is named by the after-sale."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, NamedTuple

from ocp.channels.aftersales.registry import aftersale_adapter_for
from ocp.domain.errors import ConcurrentModification, DomainError
from ocp.domain.returns.channel import AfterSaleSignal, ChannelAfterSale, ChannelState
from ocp.domain.returns.checks import ReturnRefused, priced_lines
from ocp.domain.returns.model import AfterSale, Label, RefundState, ReturnLine, ReturnStatus, with_step
from ocp.services.returns.progress import resume_if_waiting, settle, start
from ocp.services.returns.topics import POLL_TOPIC

if TYPE_CHECKING:
    from ocp.domain.order.inbox import InboxMessage
    from ocp.domain.order.model import Order
    from ocp.services.returns.deps import ReturnsDeps

_ATTEMPTS = 5


class AfterSaleOrderUnknown(DomainError):
    code = "aftersale_order_unknown"


def aftersale_return_id(channel: str, aftersale_id: str) -> str:
    """OCP's id of a channel's after-sale: safe in a URL path (a Shopify GID `gid://shopify/Return/9` → its number)."""
    local = aftersale_id.rsplit("/", 1)[-1] if aftersale_id.startswith("gid://") else aftersale_id
    return f"{channel}-as-{local}"


class Taken(NamedTuple):
    return_id: str
    outcome: str
    """created | updated | unchanged | settled"""


def take_signal(channel: str, signal: AfterSaleSignal, deps: ReturnsDeps) -> Taken:
    own = deps.returns.get(signal.aftersale_id)
    if own is not None and own.channel == channel:
        # A refund OCP issued for a return it started (the web store): the signal names OCP's own return.
        if signal.settled and own.refund is not None:
            settle(own.return_id, deps, f"channel:{channel}")
            return Taken(own.return_id, "settled")
        return Taken(own.return_id, "unchanged")
    if deps.channels is None:
        raise RuntimeError("after-sale signals need the channel APIs (composition)")
    record = deps.channels.aftersale_api(channel).fetch_aftersale(signal.aftersale_id)
    return take_record(record, deps, settled=signal.settled)


def take_record(record: ChannelAfterSale, deps: ReturnsDeps, settled: bool = False) -> Taken:
    return_id = aftersale_return_id(record.channel, record.aftersale_id)
    for _ in range(_ATTEMPTS):
        existing = deps.returns.get(return_id)
        if existing is None:
            created = _created(record, return_id, deps)
            if created is None:
                # The order's own message may still be on its way (both come from the same poll or push burst):
                # the signal is redelivered until it is, and then kept in the dead-letter queue for replay.
                raise AfterSaleOrderUnknown(f"{record.channel} order {record.channel_order_id} of after-sale "
                                            f"{record.aftersale_id} is not in OCP yet")
            if deps.returns.create(created):
                start(created, deps)
                return Taken(return_id, "created")
            continue
        start(existing, deps)  # a start lost after the create: named, so a second one changes nothing
        paid_out = settled or record.state == ChannelState.refunded
        if paid_out and existing.refund is not None and existing.refund.state != RefundState.settled:
            settle(return_id, deps, f"channel:{record.channel}")
            return Taken(return_id, "settled")
        updated = _updated(existing, record, deps.now())
        if updated is None:
            return Taken(return_id, "unchanged")
        try:
            stored = deps.returns.replace(updated, existing.revision)
        except ConcurrentModification:
            continue
        resume_if_waiting(stored, deps)
        return Taken(return_id, "updated")
    raise ConcurrentModification(f"after-sale {return_id} kept changing; will retry")


def _created(record: ChannelAfterSale, return_id: str, deps: ReturnsDeps) -> AfterSale | None:
    order = deps.orders.find_by_channel_order(record.channel, record.channel_order_id)
    if order is None:
        return None
    now = deps.now()
    wanted = [(line.channel_line_id, line.sku, line.quantity, record.reason) for line in record.lines]
    try:
        lines = priced_lines(order, wanted, deps.returns.of_order(order.order_id), exclude=return_id)
        note = None
    except ReturnRefused as refused:
        # Kept as asked: the workflow's validate step refuses it, and answers the channel with the reason.
        lines = _as_asked(order, record)
        note = refused.message
    after_sale = AfterSale(
        return_id=return_id, order_id=order.order_id, channel=record.channel, channel_aftersale_id=record.aftersale_id,
        channel_status=record.channel_status, channel_version=record.version, kind=record.kind,
        status=ReturnStatus.requested, status_since=now, lines=lines, currency=order.currency, reason=record.reason,
        requested_amount=record.requested_amount, shipping_paid=order.amounts.shipping, deadline=record.deadline,
        label=_buyer_label(record), created_at=now, updated_at=now)
    return with_step(after_sale, "requested", f"channel:{record.channel}", now,
                     f"{record.kind.value} {record.aftersale_id} ({record.channel_status})"
                     + (f"; {note}" if note else ""))


def _as_asked(order: Order, record: ChannelAfterSale) -> tuple[ReturnLine, ...]:
    """The record's lines as the buyer asked, priced from the order lines they name (an unknown line: worth 0)."""
    by_id = {line.line_id: line for line in order.lines}
    lines = []
    for asked in record.lines:
        known = by_id.get(asked.channel_line_id)
        lines.append(ReturnLine(line_id=asked.channel_line_id, sku=asked.sku or (known.sku if known else ""),
                                quantity=asked.quantity, reason=record.reason,
                                ordered=known.quantity if known else asked.quantity,
                                paid=known.paid if known else 0))
    return tuple(lines)


def _buyer_label(record: ChannelAfterSale) -> Label | None:
    shipment = record.buyer_shipment
    if shipment is None:
        return None
    return Label(carrier=shipment.carrier, waybill_no=shipment.waybill_no, source="buyer")


def _updated(existing: AfterSale, record: ChannelAfterSale, now: datetime) -> AfterSale | None:
    """The after-sale with what the channel's newer record says; None when the record is not newer."""
    if existing.channel_version is not None and record.version is not None and not _newer(record.version,
                                                                                            existing.channel_version):
        return None
    changes: dict[str, object] = {"channel_status": record.channel_status, "channel_version": record.version,
                                  "deadline": record.deadline or existing.deadline}
    detail = f"channel status {record.channel_status}"
    label = _buyer_label(record)
    if label is not None and existing.label != label:
        changes["label"] = label
        detail += f"; buyer shipped {label.carrier} {label.waybill_no}"
        if existing.status == ReturnStatus.awaiting_buyer_shipment:
            changes["status"] = ReturnStatus.awaiting_receipt
    if record.state == ChannelState.closed and not existing.final and existing.refund is None:
        changes["status"] = ReturnStatus.closed
        detail += "; closed on the channel"
    if record.state == ChannelState.refused and not existing.final:
        changes["status"] = ReturnStatus.rejected
    return with_step(existing, "channel_update", f"channel:{record.channel}", now, detail, **changes)


def _newer(incoming: str, stored: str) -> bool:
    """Versions are numbers on every channel that has one (Taobao refund_version, Douyin update_time); compare them
    as numbers when both are, else as text."""
    if incoming.isdigit() and stored.isdigit():
        return int(incoming) > int(stored)
    return incoming > stored


def polled_signal(topic: str | None, document: dict[str, object]) -> AfterSaleSignal | None:
    """The after-sale a polled message names (`ocp.services.returns.polling`); None for any other message."""
    if topic != POLL_TOPIC or not isinstance(document.get("aftersale_id"), str):
        return None
    return AfterSaleSignal(aftersale_id=str(document["aftersale_id"]))


def signal_of(message: InboxMessage) -> AfterSaleSignal | None:
    """The after-sale an inbox message is about (the webhook put it on the after-sales inbox for that reason)."""
    if message.document is None:
        return None
    polled = polled_signal(message.topic, message.document)
    if polled is not None:
        return polled
    return aftersale_adapter_for(message.channel).aftersale_signal(message.topic, message.document)
