"""The fulfilment loop through the local runtime over HTTP: re-dispatch → dispatch queue → dispatcher → the
warehouse's WMS queue; WMS callbacks in order, out of order and duplicated; the timeline; the stuck report.

Until reservation lands (issue #6 part 2), the order is seeded as `reserved` straight into the orders table.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
import requests

from infra import wiring
from infra.local import LocalPlatform
from ocp.adapters.dynamodb_orders import DynamoOrderStore
from ocp.domain.clock import iso
from ocp.domain.order import OrderStatus
from tests.fulfillment_support import ORDER_ID, order_at

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def platform() -> Iterator[LocalPlatform]:
    with LocalPlatform(port=0, visibility_timeout_s=1) as running:
        yield running


def _call(platform: LocalPlatform, method: str, path: str, body: Any = None, **params: str) -> requests.Response:
    return requests.request(method, f"{platform.base_url}{path}", json=body, params=params or None,
                            headers={"x-api-key": platform.api_key}, timeout=15)


def _seed(platform: LocalPlatform, **changes: Any) -> None:
    """Stand-in for ingest + reservation: store the order as they would leave it (the platform's env points
    boto3 at the embedded AWS while it runs)."""
    orders = boto3.resource("dynamodb").Table(platform.resources.by_id[wiring.ORDERS.id].name)
    DynamoOrderStore(orders).create(order_at(**changes))


def _wms_messages(platform: LocalPlatform, warehouse: str) -> list[dict[str, Any]]:
    sqs, url = platform.client("sqs"), platform.queue_url(wiring.wms_queue_id(warehouse))
    found: list[dict[str, Any]] = []
    deadline = time.monotonic() + 10
    while not found and time.monotonic() < deadline:
        found = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"],
                                    WaitTimeSeconds=1).get("Messages", [])
    return found


def test_an_order_is_dispatched_followed_by_callbacks_and_found_when_stuck(platform: LocalPlatform) -> None:
    # Given a reserved order for WH-GZ that has waited 20 minutes (past the 5-minute dispatch SLA), and another
    # order dispatched 20 minutes ago that its WMS never accepted (past the 15-minute acceptance SLA)
    since = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=20)
    _seed(platform, status=OrderStatus.reserved, since=since)
    _seed(platform, status=OrderStatus.dispatched, since=since, order_id="shopify-2", channel_order_id="2")
    # When an operator asks where orders are stuck
    stuck = {h["hop"]: h for h in _call(platform, "GET", "/orders/stuck").json()["hops"]}
    # Then each is under its hop
    assert [o["order_id"] for o in stuck["dispatch"]["orders"]] == [ORDER_ID]
    assert [o["order_id"] for o in stuck["wms_acceptance"]["orders"]] == ["shopify-2"]

    # When an operator re-dispatches the `dispatch` hop and the platform settles
    queued = _call(platform, "POST", "/orders:redispatch", {"hop": "dispatch", "actor": "ops"})
    assert (queued.status_code, queued.json()["queued"]) == (202, [ORDER_ID])
    platform.wait_idle(timeout=20)

    # Then WH-GZ's WMS queue holds the instruction and the order is dispatched
    [message] = _wms_messages(platform, "WH-GZ")
    assert message["MessageAttributes"]["idempotency_key"]["StringValue"] == f"{ORDER_ID}:1"
    assert json.loads(message["Body"])["lines"][0]["sku"] == "TEA-LONGJING-250"
    assert _call(platform, "GET", f"/orders/{ORDER_ID}").json()["status"] == "dispatched"

    # When the WMS calls back out of order and twice, then ships
    at = iso(datetime.now(UTC))
    answers = [
        _call(platform, "POST", "/fulfillment/events", {"order_id": ORDER_ID, "event": event, "event_id": event_id,
                                                        "at": at, **extra}).json()
        for event, event_id, extra in [
            ("picked", "wms-2", {}), ("accepted", "wms-1", {}), ("picked", "wms-2", {}),
            ("shipped", "wms-3", {"carrier": "SF", "tracking_no": "SF1234567890"}),
        ]
    ]
    # Then each answer says what happened, and the order ends shipped with one timeline entry per event id
    assert [(a["outcome"], a["status"]) for a in answers] == [
        ("applied", "picked"), ("late", "picked"), ("duplicate", "picked"), ("applied", "shipped")]
    order = _call(platform, "GET", f"/orders/{ORDER_ID}").json()
    assert order["status"] == "shipped"
    assert [(e["event"], e["source"]) for e in order["timeline"] if e["hop"] == "fulfillment"] == [
        ("dispatched", "ocp"), ("picked", "wms:WH-GZ"), ("accepted", "wms:WH-GZ"),
        ("shipped", "wms:WH-GZ")]
    assert order["fulfillment"]["shipments"][0]["writeback"]["state"] == "pending"
    # and a bad callback is refused with the field named
    refused = _call(platform, "POST", "/fulfillment/events", {"order_id": ORDER_ID, "event": "lost", "event_id": "x",
                                                              "at": at})
    assert refused.status_code == 400 and refused.json()["error"]["details"][0]["field"] == "event"
