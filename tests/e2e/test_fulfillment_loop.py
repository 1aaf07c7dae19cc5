"""The fulfilment loop through the local runtime over HTTP, from a real order to the channel and back:
stock pushed (PUT /inventory) → signed Shopify webhook → processor (reserved) → dispatcher → the warehouse's WMS queue
→ WMS callbacks in order, out of order and duplicated → shipped, stock deducted → the tracking number written back to
the (fake, HTTP) Shopify Admin API; an order the WMS never accepts turns up in `GET /orders/stuck` under its hop; and
when the buyer cancels it on Shopify, reconciliation tells the warehouse to stop."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
import requests

from infra import wiring
from infra.local import LocalPlatform
from infra.local.demo import shopify_headers
from ocp.channels.base import ChannelCredentials
from ocp.domain.clock import iso
from tests.e2e.wms import wms_messages
from tests.fakes.channel_apis import FakeChannelApis
from tests.support import fixture_json

pytestmark = pytest.mark.e2e

DOCUMENT = "channels/shopify/orders_create.cn_discounted.json"
TOKEN = "e2e-shopify-admin-token"
FIRST, SECOND = "5840912375611902001", "5840912375611902002"


@pytest.fixture(scope="module")
def shopify() -> Iterator[tuple[FakeChannelApis, str]]:
    fake = FakeChannelApis(credentials={"shopify": ChannelCredentials(secret="unused", access_token=TOKEN)})
    with fake.serve() as root:
        yield fake, root


@pytest.fixture(scope="module")
def platform(shopify: tuple[FakeChannelApis, str]) -> Iterator[LocalPlatform]:
    _, root = shopify
    with pytest.MonkeyPatch.context() as env:
        env.setenv("OCP_CHANNEL_API_URL_SHOPIFY", f"{root}/shopify")
        env.setenv("OCP_CHANNEL_ACCESS_TOKEN_SHOPIFY", TOKEN)
        with LocalPlatform(port=0, visibility_timeout_s=1) as running:
            yield running


def _call(platform: LocalPlatform, method: str, path: str, body: Any = None) -> requests.Response:
    return requests.request(method, f"{platform.base_url}{path}", json=body, headers={"x-api-key": platform.api_key},
                            timeout=15)


def _document(channel_order_id: str, street: str) -> dict[str, Any]:
    """The sample order under another id and street, the district written in the street as Chinese buyers of a
    web store do (Shopify has no district field)."""
    document = copy.deepcopy(fixture_json(DOCUMENT))
    document.update(id=int(channel_order_id), admin_graphql_api_id=f"gid://shopify/Order/{channel_order_id}")
    document["shipping_address"] = document["shipping_address"] | {"address1": street}
    return document


def _order(platform: LocalPlatform, channel_order_id: str) -> dict[str, Any]:
    response = _call(platform, "GET", f"/orders/shopify-{channel_order_id}")
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def _board(platform: LocalPlatform, sku: str) -> tuple[int, int]:
    totals = _call(platform, "GET", f"/inventory/{sku}").json()["totals"]
    return totals["on_hand"], totals["reserved"]


def _ingest_and_dispatch(platform: LocalPlatform, shopify: FakeChannelApis, channel_order_id: str,
                         street: str) -> dict[str, Any]:
    """The buyer's order on Shopify and its signed `orders/create` webhook: the processor reserves it and asks the
    dispatcher to hand it to its warehouse."""
    document = _document(channel_order_id, street)
    shopify.put_order("shopify", document)
    body = json.dumps(document, ensure_ascii=False).encode()
    secret = platform.credentials["OCP_CHANNEL_SECRET_SHOPIFY"]
    response = requests.post(f"{platform.base_url}/webhooks/shopify", data=body,
                             headers=shopify_headers(body, secret), timeout=15)
    assert response.status_code == 200, response.text
    platform.wait_idle(timeout=20)
    order = _order(platform, channel_order_id)
    assert (order["status"], order["warehouse"]) == ("dispatched", "WH-GZ"), (order["holds"], order["timeline"])
    assert [e["event"] for e in order["timeline"]][-2:] == ["reserved", "dispatched"]
    return order


def test_a_real_order_is_dispatched_shipped_written_back_and_its_stock_deducted(
    platform: LocalPlatform, shopify: tuple[FakeChannelApis, str]
) -> None:
    # Given the WMS reports 10 teas and 10 cups at WH-GZ
    for sku in ("TEA-LONGJING-250", "CUP-CELADON"):
        pushed = _call(platform, "PUT", f"/inventory/WH-GZ/{sku}", {"on_hand": 10, "version": 1})
        assert pushed.status_code == 200, pushed.text
    fake, _ = shopify
    # When a buyer's order (2 teas, 1 cup) arrives from Shopify and the platform settles
    order = _ingest_and_dispatch(platform, fake, FIRST, "天河区天河路385号")
    # Then it reserved its stock at WH-GZ, and WH-GZ's WMS queue holds its instruction, keyed for idempotency
    assert _board(platform, "TEA-LONGJING-250") == (10, 2)
    [message] = wms_messages(platform, "WH-GZ", expected=1)
    assert message["MessageAttributes"]["idempotency_key"]["StringValue"] == f"{order['order_id']}:1"
    assert [line["sku"] for line in json.loads(message["Body"])["lines"]] == ["TEA-LONGJING-250", "CUP-CELADON"]

    # When the WMS calls back out of order and twice, then ships the parcel, and the platform settles
    at = iso(datetime.now(UTC))
    answers = [
        _call(platform, "POST", "/fulfillment/events", {"order_id": order["order_id"], "event": event,
                                                        "event_id": event_id, "at": at, **extra}).json()
        for event, event_id, extra in [
            ("picked", "wms-2", {}), ("accepted", "wms-1", {}), ("picked", "wms-2", {}),
            ("shipped", "wms-3", {"carrier": "SF", "tracking_no": "SF1234567890"}),
        ]
    ]
    platform.wait_idle(timeout=20)
    # Then each answer says what happened, and the order ends shipped with one timeline entry per event id
    assert [(a["outcome"], a["status"]) for a in answers] == [
        ("applied", "picked"), ("late", "picked"), ("duplicate", "picked"), ("applied", "shipped")]
    order = _order(platform, FIRST)
    assert [(e["event"], e["source"]) for e in order["timeline"] if e["hop"] == "fulfillment"] == [
        ("dispatched", "ocp"), ("picked", "wms:WH-GZ"), ("accepted", "wms:WH-GZ"), ("shipped", "wms:WH-GZ")]
    # and the parcel's units left on_hand and reserved together
    assert (_board(platform, "TEA-LONGJING-250"), _board(platform, "CUP-CELADON")) == ((8, 0), (9, 0))
    # and Shopify was told: one fulfillment with the tracking number, SF's name and the order's lines
    [written] = fake.shipped_to("shopify")
    assert (written.order_id, written.tracking_no, written.carrier, written.lines) == (
        FIRST, "SF1234567890", "SF Express", [("13370001", 2), ("13370002", 1)])
    assert all(call.signature_ok for call in fake.calls_to("shopify"))
    writeback = order["fulfillment"]["shipments"][0]["writeback"]
    assert (writeback["state"], writeback["attempts"]) == ("confirmed", 1)
    assert [e["event"] for e in order["timeline"] if e["hop"] == "channel_writeback"] == ["written_back"]
    # and a bad callback is refused with the field named
    refused = _call(platform, "POST", "/fulfillment/events", {"order_id": FIRST, "event": "lost", "event_id": "x",
                                                              "at": at})
    assert refused.status_code == 400 and refused.json()["error"]["details"][0]["field"] == "event"


def test_an_order_the_wms_never_accepts_is_stuck_and_stopped_when_the_buyer_cancels(
    platform: LocalPlatform, shopify: tuple[FakeChannelApis, str]
) -> None:
    # Given a second real order dispatched to WH-GZ, which its WMS never accepts
    fake, _ = shopify
    order = _ingest_and_dispatch(platform, fake, SECOND, "天河区体育西路191号")
    wms_messages(platform, "WH-GZ", expected=1)
    # When 20 minutes pass (past the 15-minute acceptance SLA): its dispatch time is moved back by that much
    orders = boto3.resource("dynamodb").Table(platform.resources.by_id[wiring.ORDERS.id].name)
    since = iso(datetime.now(UTC) - timedelta(minutes=20))
    orders.update_item(Key={"order_id": order["order_id"]}, UpdateExpression="SET status_since = :since",
                       ExpressionAttributeValues={":since": since})
    # Then an operator asking where orders are stuck finds it under `wms_acceptance`, since then
    stuck = {h["hop"]: h for h in _call(platform, "GET", "/orders/stuck").json()["hops"]}
    assert [(o["order_id"], o["since"]) for o in stuck["wms_acceptance"]["orders"]] == [(order["order_id"], since)]
    assert stuck["wms_acceptance"]["status"] == "dispatched"
    assert stuck["channel_writeback"]["count"] == 0  # the first order's parcel was acknowledged

    # When the buyer cancels it on Shopify and the reconciliation schedule ticks
    fake.cancel("shopify", SECOND, datetime.now(UTC))
    result = platform.run_schedule("reconciliation")
    # Then the warehouse gets a cancel instruction superseding the first, and the order says why
    assert (result["cancelled_on_channel"], result["stopped"]) == ([order["order_id"]], [order["order_id"]])
    [stop] = wms_messages(platform, "WH-GZ", expected=1)
    assert stop["MessageAttributes"]["idempotency_key"]["StringValue"] == f"{order['order_id']}:2"
    assert json.loads(stop["Body"])["kind"] == "cancel"
    reconciled = _order(platform, SECOND)
    assert reconciled["status"] == "dispatched"  # until the warehouse confirms it stopped
    assert [i["kind"] for i in reconciled["fulfillment"]["issues"]] == ["cancelled_on_channel"]
    # When the warehouse confirms / Then the order is cancelled and its units are back on sale
    confirmed = _call(platform, "POST", "/fulfillment/events", {
        "order_id": order["order_id"], "event": "cancelled", "event_id": "wms-stop", "at": iso(datetime.now(UTC))})
    assert confirmed.json()["status"] == "cancelled"
    assert _board(platform, "TEA-LONGJING-250") == (8, 0)
