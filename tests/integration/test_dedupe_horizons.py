"""Dedupe outlives every retry: a delivery, a WMS callback and a stock push replayed long after the first copy — a
day later (a channel's retries are over within hours), and 14 days later (a dead-lettered message redriven at the
end of the DLQ's retention) — are recognised as duplicates and change nothing. Every function's clock is moved
forward (`composition.utc_now`); the keys and how long each lives: docs/ARCHITECTURE.md, "Dedupe horizons"."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import boto3
import pytest

from functions.inventory_api.handler import lambda_handler as inventory_api
from infra import wiring
from infra.local.provision import Resources
from ocp import composition
from ocp.domain.order.model import OrderStatus
from tests.integration.test_faults_after_commit import (
    KEY,
    ON_HAND,
    ORDER_ID,
    ORDERED,
    WAREHOUSE,
    Clock,
    _callback,
    _inbox,
    _inventory,
    _post_webhook,
    _process_and_dispatch,
    _queue_messages,
    _stock,
    _stored,
    assert_end_state,
)
from tests.support import FakeContext, api_event


@pytest.fixture
def clock(aws: Resources, monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(composition, "utc_now", clock)
    composition.reset()
    return clock


def _ledger() -> dict[str, list[str]]:
    return {sku: sorted(e["entry_id"] for e in _inventory(f"/inventory-ledger/{sku}", "/inventory-ledger/{sku}",
                                                           sku)["entries"]) for sku in ORDERED}


def _fingerprints(aws: Resources) -> list[tuple[str, str]]:
    table = boto3.resource("dynamodb").Table(aws.resolve(wiring.Ref(wiring.ORDER_FINGERPRINTS.id)))
    return sorted((str(i["fingerprint"]), str(i["order_id"])) for i in table.scan()["Items"])


@pytest.mark.parametrize("later", [timedelta(days=1), timedelta(days=14)], ids=["a-day-later", "14-days-later"])
def test_a_delivery_callback_and_stock_push_replayed_long_after_are_duplicates_and_nothing_is_doubled(
    aws: Resources, clock: Clock, caplog: pytest.LogCaptureFixture, later: timedelta
) -> None:
    # Given an order taken from a Shopify delivery, dispatched, and shipped by the WMS (its write-back queued once)
    _stock()
    _post_webhook("wh-1")
    assert _process_and_dispatch(aws) == [f"{ORDER_ID}:1"]
    answer = _callback(event="shipped", event_id="wms-ship-1", carrier="SF", tracking_no="SF1")
    assert (answer["status"], answer["outcome"]) == ("shipped", "applied")
    assert len(_queue_messages(aws, wiring.WRITEBACK_QUEUE.id)) == 1
    before, ledger, fingerprints = _stored(aws), _ledger(), _fingerprints(aws)
    assert fingerprints  # the duplicate check claimed its keys with the order
    # When, long after, Shopify's delivery arrives again (same webhook id, same body) and is processed
    clock.later(minutes=later.total_seconds() / 60)
    caplog.clear()
    with caplog.at_level(logging.INFO):
        _post_webhook("wh-1")
        assert _inbox(aws).run_until_empty() == 0
    # Then the processor calls it a duplicate, and nobody is asked to dispatch it again
    assert [getattr(r, "outcome", None) for r in caplog.records if r.getMessage() == "message processed"] == [
        "duplicate"]
    assert _queue_messages(aws, wiring.DISPATCH_QUEUE.id) == []
    # When the WMS's shipped callback and its stock push (version 1) are replayed too
    replayed = _callback(event="shipped", event_id="wms-ship-1", carrier="SF", tracking_no="SF1")
    push = inventory_api(api_event("PUT", "/inventory/{id}/{sku}", f"/inventory/{WAREHOUSE}/TEA-LONGJING-250",
                                   headers=KEY, path_params={"id": WAREHOUSE, "sku": "TEA-LONGJING-250"},
                                   body=json.dumps({"on_hand": ON_HAND, "version": 1})), FakeContext())
    # Then each is a duplicate: no second shipment, no second write-back, the push ignored as a repeated version
    assert (replayed["status"], replayed["outcome"]) == ("shipped", "duplicate")
    assert _queue_messages(aws, wiring.WRITEBACK_QUEUE.id) == []
    assert push["statusCode"] == 200, push["body"]
    assert (json.loads(push["body"])["applied"], json.loads(push["body"])["reason"]) == (False, "repeated_version")
    # And nothing is doubled: the order unchanged (same revision), the same ledger entries, the same duplicate-check
    # keys, and one order reserved once, handed over once, shipped once
    after = _stored(aws)
    assert (after.revision, after.timeline, after.fulfillment.event_ids) == (
        before.revision, before.timeline, ("wms-ship-1",))
    assert _ledger() == ledger
    assert _fingerprints(aws) == fingerprints
    assert_end_state(aws, wms_keys=[f"{ORDER_ID}:1"], status=OrderStatus.shipped, shipped=True)
