"""Turning an inbox message into a stored unified order, exactly once however often it arrives."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from ocp.channels.base import ChannelAdapter
from ocp.domain.clock import iso, parse_instant
from ocp.domain.errors import ConcurrentModification, OrderExists, UnmappableDocument
from ocp.domain.ingest import apply_channel_update, first_capture
from ocp.domain.order import Order
from ocp.ports import InboxMessage, OrderStore, Quarantine, QuarantineRecord, RawArchive
from ocp.services.intake import delivery_from_envelope

_WRITE_ATTEMPTS = 3


class Outcome(StrEnum):
    created = "created"
    updated = "updated"
    duplicate = "duplicate"
    """Already applied, or older than what is stored: nothing changed."""
    quarantined = "quarantined"


@dataclass(frozen=True)
class ProcessingDeps:
    orders: OrderStore
    archive: RawArchive
    quarantine: Quarantine
    now: Callable[[], datetime]


@dataclass(frozen=True)
class Processed:
    outcome: Outcome
    order_id: str | None
    order: Order | None = None


def process_message(message: InboxMessage, adapter: ChannelAdapter, deps: ProcessingDeps) -> Processed:
    document = message.document if message.document is not None else _document_from_archive(message, adapter, deps)
    try:
        incoming = adapter.to_order(document)
    except UnmappableDocument as exc:
        deps.quarantine.put(QuarantineRecord(
            delivery_id=message.delivery_id, message_id=message.message_id, channel=message.channel,
            stage="mapping", reason="document cannot be mapped to an order", details=exc.reasons,
            archive_key=message.archive_key, at=iso(deps.now()),
        ))
        return Processed(Outcome.quarantined, None)
    return _store(incoming, parse_instant(message.received_at), deps)


def _store(incoming: Order, received_at: datetime, deps: ProcessingDeps) -> Processed:
    captured = first_capture(incoming, received_at, deps.now())
    try:
        deps.orders.create(captured)
        return Processed(Outcome.created, captured.order_id, captured)
    except OrderExists:
        pass
    for _ in range(_WRITE_ATTEMPTS):
        existing = deps.orders.get(incoming.order_id)
        if existing is None:  # pragma: no cover - orders are never deleted
            raise ConcurrentModification(f"order {incoming.order_id} vanished")
        merged = apply_channel_update(existing, incoming, deps.now())
        if merged is None:
            return Processed(Outcome.duplicate, existing.order_id, existing)
        try:
            deps.orders.replace(merged, expected_revision=existing.revision)
            return Processed(Outcome.updated, merged.order_id, merged)
        except ConcurrentModification:
            continue
    raise ConcurrentModification(f"order {incoming.order_id} kept changing; will retry")


def _document_from_archive(message: InboxMessage, adapter: ChannelAdapter, deps: ProcessingDeps) -> dict[str, Any]:
    delivery = delivery_from_envelope(deps.archive.get(message.archive_key))
    for candidate in adapter.messages(delivery):
        if candidate.message_id == message.message_id:
            return candidate.document
    raise UnmappableDocument([f"message {message.message_id} not found in {message.archive_key}"])
