"""The local platform over HTTP: webhook → archive → inbox → processor → orders table → operator API."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from infra.local import LocalPlatform
from infra.local.demo import DemoOrder, demo_orders, run_demo, shopify_headers

pytestmark = pytest.mark.e2e

VISIBILITY_TIMEOUT_S = 1
"""Short, so a failing message is redelivered (and dead-lettered) within seconds, not minutes."""


@pytest.fixture(scope="module")
def platform() -> Iterator[LocalPlatform]:
    with LocalPlatform(port=0, visibility_timeout_s=VISIBILITY_TIMEOUT_S) as running:
        yield running


@pytest.fixture(scope="module")
def orders() -> list[DemoOrder]:
    return demo_orders()


def _post_webhook(platform: LocalPlatform, body: bytes, headers: dict[str, str], channel: str = "shopify") -> Any:
    return requests.post(f"{platform.base_url}/webhooks/{channel}", data=body, headers=headers, timeout=15)


def _secret(platform: LocalPlatform) -> str:
    return platform.credentials["OCP_CHANNEL_SECRET_SHOPIFY"]


def _find(platform: LocalPlatform, channel_order_id: str) -> Any:
    return requests.get(
        f"{platform.base_url}/orders",
        params={"channel": "shopify", "channel_order_id": channel_order_id},
        headers={"x-api-key": platform.api_key},
        timeout=15,
    )


def _stored_items(platform: LocalPlatform, channel_order_id: str) -> list[dict[str, Any]]:
    table = platform.resources.by_id["orders"].name
    items = platform.client("dynamodb").scan(TableName=table)["Items"]
    return [item for item in items if item.get("channel_order_id", {}).get("S") == channel_order_id]


def test_signed_webhook_becomes_an_order_with_integer_fen(platform: LocalPlatform, orders: list[DemoOrder]) -> None:
    # Given a signed Shopify orders/create delivery (the API.md example order)
    order = orders[0]
    # When the channel posts it and the platform settles
    response = _post_webhook(platform, order.body, shopify_headers(order.body, _secret(platform)))
    platform.wait_idle(timeout=20)
    # Then it was acknowledged and the operator API finds the normalised order
    assert response.status_code == 200, response.text
    found = _find(platform, order.channel_order_id)
    assert found.status_code == 200, found.text
    [stored] = found.json()["orders"]
    assert stored["channel"] == "shopify"
    assert stored["channel_order_id"] == order.channel_order_id
    assert stored["currency"] == "CNY"
    amounts = {k: stored["amounts"][k] for k in ("items", "discount", "shipping", "paid")}
    assert amounts == {"items": 65800, "discount": 6000, "shipping": 1000, "paid": 60800}
    assert all(type(v) is int for v in stored["amounts"].values())
    assert [(line["unit_price"], line["quantity"], line["paid"]) for line in stored["lines"]] == [
        (19900, 2, 36171), (26000, 1, 23629)
    ]


def test_same_webhook_three_times_yields_one_order(platform: LocalPlatform, orders: list[DemoOrder]) -> None:
    # Given one delivery that the channel retries (same body, same headers, same webhook id)
    order = orders[1]
    headers = shopify_headers(order.body, _secret(platform))
    # When it arrives three times
    statuses = [_post_webhook(platform, order.body, headers).status_code for _ in range(3)]
    platform.wait_idle(timeout=20)
    # Then every delivery is acknowledged, and there is exactly one order, by lookup and in the table
    assert statuses == [200, 200, 200]
    found = _find(platform, order.channel_order_id).json()["orders"]
    assert len(found) == 1
    assert len(_stored_items(platform, order.channel_order_id)) == 1
    by_id = requests.get(
        f"{platform.base_url}/orders/{found[0]['order_id']}", headers={"x-api-key": platform.api_key}, timeout=15
    )
    assert by_id.status_code == 200, by_id.text
    assert by_id.json()["amounts"]["paid"] == 58131


def test_bad_signature_is_refused_with_401(platform: LocalPlatform, orders: list[DemoOrder]) -> None:
    # Given a delivery of an order nobody else sends, signed with the wrong secret
    unique_id = str(time.time_ns())
    body = orders[2].body.replace(orders[2].channel_order_id.encode(), unique_id.encode())
    headers = shopify_headers(body, "not-the-secret")
    # When it is posted
    response = _post_webhook(platform, body, headers)
    # Then it is refused with API.md's error body, and nothing reaches the orders
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "signature_invalid"
    platform.wait_idle(timeout=20)
    assert _find(platform, unique_id).json()["orders"] == []


def test_unknown_channel_is_404(platform: LocalPlatform, orders: list[DemoOrder]) -> None:
    # Given a delivery for a channel OCP does not speak
    body = orders[0].body
    # When it is posted
    response = _post_webhook(platform, body, shopify_headers(body, _secret(platform)), channel="ebay")
    # Then
    assert response.status_code == 404
    assert "code" in response.json()["error"]


@pytest.mark.parametrize(("headers", "status", "code"), [
    ({}, 401, "missing_api_key"),
    ({"x-api-key": "wrong-key"}, 403, "invalid_api_key"),
])
def test_operator_api_needs_the_api_key(
    platform: LocalPlatform, headers: dict[str, str], status: int, code: str
) -> None:
    # Given a caller without a valid key
    # When it asks for orders
    response = requests.get(f"{platform.base_url}/orders", params={"channel": "shopify"}, headers=headers, timeout=15)
    # Then the gateway refuses it before any function runs
    assert response.status_code == status
    assert response.json()["error"]["code"] == code


def test_unrouted_path_is_404_route_not_found(platform: LocalPlatform) -> None:
    # Given / When a path no route declares
    response = requests.get(f"{platform.base_url}/no/such/route", timeout=15)
    # Then
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "route_not_found"


def test_openapi_document_needs_no_key(platform: LocalPlatform) -> None:
    # Given / When
    response = requests.get(f"{platform.base_url}/openapi.json", timeout=15)
    # Then
    assert response.status_code == 200, response.text
    assert "/orders" in response.json()["paths"]


def test_poison_message_ends_in_the_dead_letter_queue(platform: LocalPlatform) -> None:
    # Given a message on the inbox that no processor can parse
    sqs = platform.client("sqs")
    poison = "this is not an inbox message {"
    sqs.send_message(QueueUrl=platform.queue_url("orders-inbox"), MessageBody=poison)
    # When it has failed maxReceiveCount (5) times, one visibility timeout apart
    dead = _wait_for_message(sqs, platform.queue_url("orders-inbox-dlq"), timeout_s=7 * VISIBILITY_TIMEOUT_S + 15)
    # Then the queue's redrive policy moved it, untouched, to the DLQ, and the inbox is clear
    assert dead is not None, "the poison message never reached the DLQ"
    assert dead["Body"] == poison
    assert int(dead["Attributes"]["ApproximateReceiveCount"]) >= 5
    platform.wait_idle(timeout=10)


def test_demo_reports_every_order(platform: LocalPlatform, orders: list[DemoOrder]) -> None:
    # Given the running platform / When `ocp demo` runs against it
    results = run_demo(platform.base_url, _secret(platform), platform.api_key, wait_s=20)
    # Then each demo order was accepted and shows with its paid total in fen
    assert [r.webhook_status for r in results] == [200] * len(orders)
    assert all(r.order_status for r in results), results
    assert [r.paid_fen for r in results] == [60800, 58131, 28980]


def _wait_for_message(sqs: Any, queue_url: str, timeout_s: float) -> dict[str, Any] | None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        messages = sqs.receive_message(
            QueueUrl=queue_url, WaitTimeSeconds=1, MessageSystemAttributeNames=["All"]
        ).get("Messages", [])
        if messages:
            return dict(messages[0])
    return None
