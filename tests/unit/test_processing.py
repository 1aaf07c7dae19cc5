"""The processing service over in-memory ports: exactly-once effects, ordering by channel time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ocp.adapters.memory.intake import MemoryQuarantine, MemoryRawArchive
from ocp.adapters.memory.orders import MemoryOrderStore
from ocp.channels.shopify import ShopifyAdapter
from ocp.domain.errors import ConcurrentModification
from ocp.domain.order.inbox import InboxMessage
from ocp.domain.order.model import Order, OrderStatus
from ocp.services.order.processing import Outcome, ProcessingDeps, process_message
from tests.support import fixture_json

NOW = datetime(2026, 11, 11, 12, 6, tzinfo=UTC)


def _deps(store: MemoryOrderStore | None = None) -> ProcessingDeps:
    return ProcessingDeps(orders=store or MemoryOrderStore(), archive=MemoryRawArchive(),
                          quarantine=MemoryQuarantine(), now=lambda: NOW)


def _message(document: dict[str, Any], message_id: str = "m-1") -> InboxMessage:
    return InboxMessage(delivery_id=message_id, message_id=message_id, channel="shopify",
                        archive_key=f"raw/shopify/{message_id}.json", received_at="2026-11-11T12:05:16Z",
                        document=document)


def _doc(**changes: Any) -> dict[str, Any]:
    return fixture_json("channels/shopify/orders_create.cn_discounted.json") | changes


def test_first_capture_starts_the_timeline() -> None:
    deps = _deps()
    result = process_message(_message(_doc()), ShopifyAdapter(), deps)
    assert result.outcome == Outcome.created
    stored = deps.orders.get("shopify-5840912375611902001")
    assert stored is not None and stored.revision == 1
    assert [(e.hop, e.event, e.source) for e in stored.timeline] == [
        ("ingest", "received", "shopify"), ("processing", "normalised", "ocp")]


def test_redelivery_is_a_no_op() -> None:
    deps = _deps()
    process_message(_message(_doc()), ShopifyAdapter(), deps)
    again = process_message(_message(_doc(), "m-2"), ShopifyAdapter(), deps)
    assert again.outcome == Outcome.duplicate
    assert deps.orders.get("shopify-5840912375611902001").revision == 1  # type: ignore[union-attr]


def test_channel_cancel_after_dispatch_keeps_status_but_records_it() -> None:
    # Given an order already with the warehouse
    deps = _deps()
    process_message(_message(_doc()), ShopifyAdapter(), deps)
    stored = deps.orders.get("shopify-5840912375611902001")
    assert stored is not None
    dispatched = stored.model_copy(update={"status": OrderStatus.dispatched, "revision": 2})
    deps.orders.replace(dispatched, expected_revision=1)
    # When the channel cancels it
    cancelled = _doc(cancelled_at="2026-11-11T21:00:00+08:00", updated_at="2026-11-11T21:00:00+08:00")
    result = process_message(_message(cancelled, "m-3"), ShopifyAdapter(), deps)
    # Then the status stays with the warehouse's truth and the timeline says what happened
    assert result.outcome == Outcome.updated
    assert result.order is not None and result.order.status == OrderStatus.dispatched
    assert result.order.timeline[-1].event == "cancel_requested_after_dispatch"


def test_cancel_before_dispatch_cancels() -> None:
    deps = _deps()
    process_message(_message(_doc()), ShopifyAdapter(), deps)
    cancelled = _doc(cancelled_at="2026-11-11T21:00:00+08:00", updated_at="2026-11-11T21:00:00+08:00")
    result = process_message(_message(cancelled, "m-3"), ShopifyAdapter(), deps)
    assert result.order is not None and result.order.status == OrderStatus.cancelled
    assert result.order.status_since == NOW


class _RacingStore(MemoryOrderStore):
    """Loses every optimistic write, as if another writer always got there first."""

    def replace(self, order: Order, expected_revision: int) -> None:
        raise ConcurrentModification("lost the race")


def test_persistent_write_conflicts_surface_for_a_retry() -> None:
    deps = _deps(_RacingStore())
    process_message(_message(_doc(updated_at="2026-11-11T20:00:00+08:00")), ShopifyAdapter(), deps)
    with pytest.raises(ConcurrentModification):
        process_message(_message(_doc(), "m-2"), ShopifyAdapter(), deps)


def test_unmappable_document_is_quarantined_with_reasons() -> None:
    deps = _deps()
    result = process_message(_message(_doc(currency=None)), ShopifyAdapter(), deps)
    assert result.outcome == Outcome.quarantined
    [record] = deps.quarantine.records.values()  # type: ignore[attr-defined]
    assert record.stage == "mapping" and "currency" in record.details[0]


def test_order_model_refuses_lines_that_do_not_reconcile() -> None:
    order = process_message(_message(_doc()), ShopifyAdapter(), _deps()).order
    assert order is not None
    data = order.model_dump()
    data["amounts"]["paid"] += 1
    with pytest.raises(ValueError, match="!= amounts.paid"):
        Order.model_validate(data)
    assert order.status_since - order.created_at > timedelta(0)
