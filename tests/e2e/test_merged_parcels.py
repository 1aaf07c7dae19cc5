"""Merged parcels through the local runtime over HTTP: a merge window in the routing document, two signed Shopify
orders of one customer to one address (webhook → processor: reserved, waiting), the `parcel-merge` schedule once
the window ended → the dispatcher → one instruction naming both in WH-GZ's WMS queue, and the parcel's `shipped`
callback shipping both orders with each one's stock. The functions' clock is moved by the test (the window is
minutes long); the runtime runs them in this process."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
import requests

from infra.local import LocalPlatform
from infra.local.demo import shopify_headers
from ocp import composition
from ocp.channels.base import ChannelCredentials
from ocp.domain.clock import iso, utc_now
from tests.e2e.wms import wms_messages
from tests.fakes.channel_apis import FakeChannelApis
from tests.held_support import shopify_document

pytestmark = pytest.mark.e2e

TOKEN = "e2e-shopify-admin-token"
CUSTOMER = 8_200_000_000_000_000_555
ROUTING = {"merge_window_minutes": 3,
           "rules": [{"id": "default", "priority": 1, "when": {"always": True}, "then": {"warehouses": ["WH-GZ"]}}]}


class Clock:
    def __init__(self) -> None:
        self.at = utc_now()

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture(scope="module")
def clock() -> Clock:
    return Clock()


@pytest.fixture(scope="module")
def platform(clock: Clock) -> Iterator[LocalPlatform]:
    fake = FakeChannelApis(credentials={"shopify": ChannelCredentials(secret="unused", access_token=TOKEN)})
    with fake.serve() as root, pytest.MonkeyPatch.context() as env:
        env.setenv("OCP_CHANNEL_API_URL_SHOPIFY", f"{root}/shopify")
        env.setenv("OCP_CHANNEL_ACCESS_TOKEN_SHOPIFY", TOKEN)
        env.setattr(composition, "utc_now", clock)
        composition.reset()
        with LocalPlatform(port=0, visibility_timeout_s=1) as running:
            yield running
        composition.reset()


def _call(platform: LocalPlatform, method: str, path: str, body: Any = None) -> requests.Response:
    return requests.request(method, f"{platform.base_url}{path}", json=body, headers={"x-api-key": platform.api_key},
                            timeout=15)


def _order_in(platform: LocalPlatform, document: dict[str, Any]) -> str:
    body = json.dumps(document, ensure_ascii=False).encode()
    headers = shopify_headers(body, platform.credentials["OCP_CHANNEL_SECRET_SHOPIFY"])
    response = requests.post(f"{platform.base_url}/webhooks/shopify", data=body, headers=headers, timeout=15)
    assert response.status_code == 200, response.text
    return f"shopify-{document['id']}"


def _order(platform: LocalPlatform, order_id: str) -> dict[str, Any]:
    response = _call(platform, "GET", f"/orders/{order_id}")
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def test_two_orders_of_one_customer_leave_as_one_parcel_through_the_local_platform(
    platform: LocalPlatform, clock: Clock
) -> None:
    # Given a 3-minute merge window and stock at WH-GZ
    assert _call(platform, "PUT", "/rules/routing", ROUTING).status_code == 200
    for sku in ("TEA-1", "CUP-1"):
        assert _call(platform, "PUT", f"/inventory/WH-GZ/{sku}", {"on_hand": 10, "version": 1}).status_code == 200
    # When one customer orders tea, and a minute later cups to the same address
    first = _order_in(platform, shopify_document(41, "TEA-1", customer=CUSTOMER))
    platform.wait_idle(timeout=20)
    clock.at += timedelta(minutes=1)
    second = _order_in(platform, shopify_document(42, "CUP-1", quantity=2, customer=CUSTOMER))
    platform.wait_idle(timeout=20)
    # Then both are reserved and wait: nothing reached the WMS
    assert [_order(platform, o)["fulfillment"]["merge"]["wait_until"] is not None for o in (first, second)] == [
        True, True]
    assert wms_messages(platform, "WH-GZ", expected=1) == []
    # When the first window ended and the schedule ticks
    clock.at += timedelta(minutes=2, seconds=30)
    platform.run_schedule("parcel-merge")
    platform.wait_idle(timeout=20)
    # Then one instruction naming both orders reached WH-GZ's queue under the group's key
    [message] = wms_messages(platform, "WH-GZ", expected=1)
    group = f"merge:{first}"
    assert message["MessageAttributes"]["idempotency_key"]["StringValue"] == f"{group}:1"
    assert json.loads(message["Body"])["merged_order_ids"] == [first, second]
    assert [_order(platform, o)["status"] for o in (first, second)] == ["dispatched", "dispatched"]
    # When the WMS ships the parcel, naming the group
    shipped = _call(platform, "POST", "/fulfillment/events", {
        "order_id": group, "event": "shipped", "event_id": "wms-e2e-1", "at": iso(clock()), "carrier": "SF",
        "tracking_no": "SFE2E1"})
    # Then both orders shipped and each one's units left the board
    assert shipped.status_code == 200, shipped.text
    assert [(o["order_id"], o["status"]) for o in shipped.json()["orders"]] == [
        (first, "shipped"), (second, "shipped")]
    for sku, on_hand in (("TEA-1", 9), ("CUP-1", 8)):
        totals = _call(platform, "GET", f"/inventory/{sku}").json()["totals"]
        assert (totals["on_hand"], totals["reserved"]) == (on_hand, 0)
