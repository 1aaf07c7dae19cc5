"""Turning an inbox message into a stored unified order, exactly once however often it arrives."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, NamedTuple

from ocp.domain.clock import iso, parse_instant
from ocp.domain.errors import (
    ChannelApiRejected,
    ChannelNotConfigured,
    ConcurrentModification,
    OrderExists,
    UnmappableDocument,
)
from ocp.domain.fulfillment.changes import after_channel_update
from ocp.domain.order.inbox import QuarantineRecord
from ocp.domain.order.ingest import apply_channel_update, first_capture
from ocp.services.decisions.order_path import RulesDeps, merging, place, redispatch_if_never_sent, request_dispatch
from ocp.services.fulfillment.owed import request_owed
from ocp.services.inventory.chunked import settled
from ocp.services.order.intake import POLLED_PREFIX, delivery_from_envelope
from ocp.services.order.updates import WRITE_ATTEMPTS

if TYPE_CHECKING:
    from ocp.channels.base import ChannelAdapter
    from ocp.domain.order.inbox import InboxMessage
    from ocp.domain.order.model import Order
    from ocp.ports import ChannelApis, DispatchQueue, OrderStore, Quarantine, RawArchive
    from ocp.services.inventory.reservation import StockDeps

class Outcome(StrEnum):
    created = "created"
    updated = "updated"
    duplicate = "duplicate"
    """Already applied, or older than what is stored: nothing changed."""
    quarantined = "quarantined"


class ProcessingDeps(NamedTuple):
    orders: OrderStore
    archive: RawArchive
    quarantine: Quarantine
    now: Callable[[], datetime]
    channel_apis: ChannelApis | None = None
    """Where thin messages' full orders are pulled from; None: pulls are not configured."""
    stock: StockDeps | None = None
    """Inventory: reserve/release stock in the order's own write. None only in tests of ingestion
    alone: orders are then stored as captured, never reserved."""
    rules: RulesDeps | None = None
    """Rules: checks, gifts and routing from per-process caches. None only in tests of ingestion and
    inventory alone: every stocking warehouse is then a candidate and nothing is checked."""
    dispatch: DispatchQueue | None = None
    """Where a newly reserved order is handed to the dispatcher. None: nobody is told."""


class Processed(NamedTuple):
    outcome: Outcome
    order_id: str | None
    order: Order | None = None


def process_message(message: InboxMessage, adapter: ChannelAdapter, deps: ProcessingDeps) -> Processed:
    """Obtain the full channel document (pulling it when the message is thin), map it, store it.

    Raises `ChannelApiUnavailable` when a pull may succeed later (the queue redelivers the message); a pull
    the channel refuses for good, or a document that cannot be mapped, is quarantined with the reason.
    """
    try:
        document = _full_document(message, adapter, deps)
    except (ChannelApiRejected, ChannelNotConfigured) as exc:
        return _quarantine(message, deps, "pull", "the full order could not be pulled from the channel", [exc.message])
    try:
        incoming = adapter.to_order(document)
    except UnmappableDocument as exc:
        return _quarantine(message, deps, "mapping", "document cannot be mapped to an order", exc.reasons)
    return _store(incoming, parse_instant(message.received_at), deps)


def _full_document(message: InboxMessage, adapter: ChannelAdapter, deps: ProcessingDeps) -> dict[str, Any]:
    document = message.document if message.document is not None else _document_from_archive(message, adapter, deps)
    if not adapter.is_thin(document):
        return document
    if deps.channel_apis is None:
        raise ChannelNotConfigured(f"pulls from {message.channel} are not configured")
    try:
        reference = adapter.order_ref(document)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ChannelApiRejected(f"the thin message names no order: {exc}") from None
    return deps.channel_apis.api(message.channel).fetch_order(reference)


def _quarantine(message: InboxMessage, deps: ProcessingDeps, stage: str, reason: str, details: list[str]) -> Processed:
    deps.quarantine.put(QuarantineRecord(
        delivery_id=message.delivery_id, message_id=message.message_id, channel=message.channel,
        stage=stage, reason=reason, details=details, archive_key=message.archive_key, at=iso(deps.now()),
    ))
    return Processed(Outcome.quarantined, None)


def _store(incoming: Order, received_at: datetime, deps: ProcessingDeps) -> Processed:
    """Create the order, or merge a newer channel view into it; either way decided by the rules and with its stock
    effects in the same transaction (`place`). A new order costs one conditional write and no read: only when it
    exists already is it read, merged and written at the revision that was read. A newly reserved order is then
    handed to the dispatcher, and so is what an order with the warehouse owes it after the change (a stop, an
    update: `ocp.domain.fulfillment.changes`)."""
    captured = first_capture(incoming, received_at, deps.now())
    if deps.stock is None:
        return _store_without_stock(incoming, captured, deps)
    stored = place(None, captured, deps.stock, deps.rules)
    merge = merging(deps.rules, deps.stock.orders, deps.now)
    if stored is not None:
        request_dispatch(None, stored, deps.dispatch, merge=merge)
        return Processed(Outcome.created, stored.order_id, stored)
    for _ in range(WRITE_ATTEMPTS):
        existing = deps.orders.get(incoming.order_id)
        if existing is None:  # pragma: no cover - orders are never deleted
            raise ConcurrentModification(f"order {incoming.order_id} vanished")
        # A delivery that died between the chunks of a large order's stock change: finish or undo it first.
        existing = settled(deps.stock.orders, existing, deps.now())
        merged = apply_channel_update(existing, incoming, deps.now())
        if merged is None:
            redispatch_if_never_sent(existing, deps.dispatch, merge)
            request_owed(existing, deps.dispatch)  # the first request may have been lost after the write
            return Processed(Outcome.duplicate, existing.order_id, existing)
        stored = place(existing, after_channel_update(existing, merged, deps.now()), deps.stock, deps.rules)
        if stored is not None:
            request_dispatch(existing, stored, deps.dispatch, merge=merge)
            request_owed(stored, deps.dispatch)
            return Processed(Outcome.updated, stored.order_id, stored)
    raise ConcurrentModification(f"order {incoming.order_id} kept changing; will retry")


store_order = _store
"""Public name for storing an already-mapped order (load and race tests drive it directly)."""


def _store_without_stock(incoming: Order, captured: Order, deps: ProcessingDeps) -> Processed:
    try:
        deps.orders.create(captured)
        return Processed(Outcome.created, captured.order_id, captured)
    except OrderExists:
        pass
    for _ in range(WRITE_ATTEMPTS):
        existing = deps.orders.get(incoming.order_id)
        if existing is None:  # pragma: no cover - orders are never deleted
            raise ConcurrentModification(f"order {incoming.order_id} vanished")
        merged = apply_channel_update(existing, incoming, deps.now())
        if merged is None:
            return Processed(Outcome.duplicate, existing.order_id, existing)
        try:
            stored = deps.orders.replace(merged, expected_revision=existing.revision)
            return Processed(Outcome.updated, stored.order_id, stored)
        except ConcurrentModification:
            continue
    raise ConcurrentModification(f"order {incoming.order_id} kept changing; will retry")


def _document_from_archive(message: InboxMessage, adapter: ChannelAdapter, deps: ProcessingDeps) -> dict[str, Any]:
    raw = deps.archive.get(message.archive_key)
    if message.archive_key.startswith(f"{POLLED_PREFIX}/"):
        polled: dict[str, Any] = json.loads(raw)  # a poller archives the channel document itself
        return polled
    delivery = delivery_from_envelope(raw)
    for candidate in adapter.messages(delivery):
        if candidate.message_id == message.message_id:
            return candidate.document
    raise UnmappableDocument([f"message {message.message_id} not found in {message.archive_key}"])
