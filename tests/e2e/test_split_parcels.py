"""A split order through the local runtime over HTTP: a routing rule that may split (PUT /rules/routing), stock that no
one warehouse holds whole, a signed Shopify webhook → processor (reserved over WH-GZ and WH-SH) → dispatcher → one
instruction on each warehouse's WMS queue with its own lines and key → each WMS ships its parcel → the order is
shipped, each warehouse's stock deducted, and each parcel written back to the (fake, HTTP) Shopify Admin API."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import requests

from infra.local import LocalPlatform
from infra.local.demo import shopify_headers
from ocp.channels.base import ChannelCredentials
from ocp.domain.clock import iso
from tests.e2e.wms import wms_messages
from tests.fakes.channel_apis import FakeChannelApis
from tests.support import fixture_json

pytestmark = pytest.mark.e2e

TOKEN = "e2e-shopify-admin-token"
CHANNEL_ORDER_ID = "5840912375611902001"
ORDER_ID = f"shopify-{CHANNEL_ORDER_ID}"
TEA, CUP = "TEA-LONGJING-250", "CUP-CELADON"
SPLIT = {"rules": [{"id": "split", "priority": 1, "when": {"always": True},
                    "then": {"warehouses": ["WH-GZ", "WH-SH"], "split": True}}]}


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


def _board(platform: LocalPlatform, sku: str) -> dict[str, tuple[int, int]]:
    return {w["warehouse"]: (w["on_hand"], w["reserved"])
            for w in _call(platform, "GET", f"/inventory/{sku}").json()["warehouses"]}


def _ship(platform: LocalPlatform, warehouse: str, tracking_no: str) -> dict[str, Any]:
    response = _call(platform, "POST", "/fulfillment/events", {
        "order_id": ORDER_ID, "event": "shipped", "event_id": f"{warehouse}-ship", "at": iso(datetime.now(UTC)),
        "carrier": "SF", "tracking_no": tracking_no, "warehouse": warehouse})
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def test_a_split_orders_parcels_reach_two_warehouses_ship_apart_and_are_written_back_apart(
    platform: LocalPlatform, shopify: tuple[FakeChannelApis, str]
) -> None:
    # Given a routing rule that may split, one tea at WH-GZ, one tea and the cups at WH-SH
    assert _call(platform, "PUT", "/rules/routing", SPLIT).status_code == 200
    for warehouse, sku, on_hand in (("WH-GZ", TEA, 1), ("WH-SH", TEA, 1), ("WH-SH", CUP, 5)):
        pushed = _call(platform, "PUT", f"/inventory/{warehouse}/{sku}", {"on_hand": on_hand, "version": 1})
        assert pushed.status_code == 200, pushed.text
    # When a buyer's order (2 teas, 1 cup) arrives from Shopify and the platform settles
    fake, _ = shopify
    document = fixture_json("channels/shopify/orders_create.cn_discounted.json")
    document["shipping_address"] = document["shipping_address"] | {"address1": "天河区天河路385号"}
    fake.put_order("shopify", document)
    body = json.dumps(document, ensure_ascii=False).encode()
    response = requests.post(f"{platform.base_url}/webhooks/shopify", data=body, timeout=15,
                             headers=shopify_headers(body, platform.credentials["OCP_CHANNEL_SECRET_SHOPIFY"]))
    assert response.status_code == 200, response.text
    platform.wait_idle(timeout=20)
    # Then it is dispatched as two parcels, and each warehouse's WMS queue holds its own instruction
    order = _call(platform, "GET", f"/orders/{ORDER_ID}").json()
    assert order["status"] == "dispatched", (order["holds"], order["timeline"])
    assert [(p["warehouse"], p["status"]) for p in order["fulfillment"]["parcels"]] == [
        ("WH-GZ", "dispatched"), ("WH-SH", "dispatched")]
    for warehouse, lines in (("WH-GZ", [(TEA, 1)]), ("WH-SH", [(TEA, 1), (CUP, 1)])):
        [message] = wms_messages(platform, warehouse, expected=1)
        assert message["MessageAttributes"]["idempotency_key"]["StringValue"] == f"{ORDER_ID}@{warehouse}:1"
        assert [(x["sku"], x["quantity"]) for x in json.loads(message["Body"])["lines"]] == lines

    # When a callback does not say which parcel / Then 400 naming the field
    refused = _call(platform, "POST", "/fulfillment/events", {"order_id": ORDER_ID, "event": "accepted",
                                                              "event_id": "x", "at": iso(datetime.now(UTC))})
    assert refused.status_code == 400 and refused.json()["error"]["details"][0]["field"] == "warehouse"
    # When each WMS ships its parcel and the platform settles
    first, last = _ship(platform, "WH-GZ", "SF1"), _ship(platform, "WH-SH", "SF2")
    platform.wait_idle(timeout=20)
    # Then the order is shipped with the last parcel, and each warehouse's units left its own stock
    assert (first["status"], last["status"]) == ("dispatched", "shipped")
    assert _board(platform, TEA) == {"WH-GZ": (0, 0), "WH-SH": (0, 0)} and _board(platform, CUP) == {"WH-SH": (4, 0)}
    # and Shopify was told of each parcel with its tracking number and its own lines
    written = sorted(fake.shipped_to("shopify"), key=lambda s: s.tracking_no)
    assert [(s.tracking_no, s.lines) for s in written] == [
        ("SF1", [("13370001", 1)]), ("SF2", [("13370001", 1), ("13370002", 1)])]
