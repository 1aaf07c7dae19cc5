"""The issue's "done when", through the local runtime over HTTP: 40 units, 100 buyers in a live-stream burst,
every signed webhook delivered at least twice → exactly 40 reserved, 60 held `insufficient_stock`, nothing left,
no order twice; and the stock stream turns the sell-out into signals."""

from __future__ import annotations

import copy
import json
import random
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from infra.local import LocalPlatform
from infra.local.demo import shopify_headers
from tests.support import fixture_json

pytestmark = pytest.mark.e2e

SKU = "LIVE-HOT-1"
STOCK = 40
BUYERS = 100


@pytest.fixture(scope="module")
def platform() -> Iterator[LocalPlatform]:
    with LocalPlatform(port=0, visibility_timeout_s=2) as running:
        yield running


def _live_order(n: int, sku: str = SKU) -> bytes:
    """Buyer n's one-unit order for the hot SKU (or `sku`), as Shopify sends it."""
    doc = copy.deepcopy(fixture_json("channels/shopify/orders_create.cn_discounted.json"))
    order_id, customer_id = 6_100_000_000_000_000_000 + n, 8_100_000_000_000_000_000 + n
    money = {"shop_money": {"amount": "99.00", "currency_code": "CNY"},
             "presentment_money": {"amount": "99.00", "currency_code": "CNY"}}
    zero = {"shop_money": {"amount": "0.00", "currency_code": "CNY"},
            "presentment_money": {"amount": "0.00", "currency_code": "CNY"}}
    doc.update(id=order_id, admin_graphql_api_id=f"gid://shopify/Order/{order_id}", name=f"#L{n}",
               total_line_items_price="99.00", total_discounts="0.00", subtotal_price="99.00", total_price="99.00",
               total_price_set=money, total_shipping_price_set=zero, discount_codes=[], discount_applications=[],
               shipping_lines=[],
               customer={"id": customer_id, "admin_graphql_api_id": f"gid://shopify/Customer/{customer_id}"})
    line = doc["line_items"][0] | {"id": 13_380_000 + n, "admin_graphql_api_id": f"gid://shopify/LineItem/{n}",
                                   "sku": sku, "title": "直播爆款", "quantity": 1, "price": "99.00",
                                   "discount_allocations": []}
    doc["line_items"] = [line]
    return json.dumps(doc, ensure_ascii=False).encode()


def _api(platform: LocalPlatform, method: str, path: str, **kwargs: Any) -> Any:
    return requests.request(method, f"{platform.base_url}{path}", headers={"x-api-key": platform.api_key},
                            timeout=30, **kwargs)


def test_forty_units_a_hundred_buyers_retried_deliveries(platform: LocalPlatform) -> None:
    # Given the WMS reports 40 units of the live-stream SKU (safety stock 5)
    pushed = _api(platform, "PUT", f"/inventory/WH-GZ/{SKU}", json={"on_hand": STOCK, "version": 1,
                                                                     "safety_stock": 5})
    assert pushed.status_code == 200 and pushed.json()["created"], pushed.text
    # And 100 buyers' signed orders, each delivered twice or three times (Shopify retries with the same webhook
    # id), shuffled and posted 24 at a time
    secret = platform.credentials["OCP_CHANNEL_SECRET_SHOPIFY"]
    deliveries = []
    for n in range(1, BUYERS + 1):
        body = _live_order(n)
        headers = shopify_headers(body, secret)
        deliveries += [(body, headers)] * (3 if n % 4 == 0 else 2)
    random.Random(11).shuffle(deliveries)

    def post(delivery: tuple[bytes, dict[str, str]]) -> int:
        body, headers = delivery
        status: int = requests.post(f"{platform.base_url}/webhooks/shopify", data=body, headers=headers,
                                    timeout=30).status_code
        return status

    # When they all arrive at once and the platform settles
    with ThreadPoolExecutor(max_workers=24) as pool:
        statuses = Counter(pool.map(post, deliveries))
    platform.wait_idle(timeout=90)
    assert statuses == Counter({200: len(deliveries)})

    # Then exactly 40 orders are reserved and 60 held for insufficient stock, each stored once
    table = platform.resources.by_id["orders"].name
    items = platform.client("dynamodb").scan(TableName=table, ConsistentRead=True)["Items"]
    mine = [i for i in items if i["lines"]["L"][0]["M"]["sku"]["S"] == SKU]
    assert len(mine) == len({i["order_id"]["S"] for i in mine}) == BUYERS
    # (each reserved order then went on to its warehouse: the processor hands it to the dispatcher)
    assert Counter(i["status"]["S"] for i in mine) == Counter({"dispatched": STOCK, "held": BUYERS - STOCK})
    held = [i for i in mine if i["status"]["S"] == "held"]
    assert {h["M"]["reason"]["S"] for i in held for h in i["holds"]["L"]} == {"insufficient_stock"}
    assert {h["M"]["detail"]["S"] for i in held for h in i["holds"]["L"]} == {f"{SKU} needs 1, 0 available"}
    # And availability is 0, and the ledger explains the board
    board = _api(platform, "GET", f"/inventory/{SKU}").json()
    assert board["totals"] == {"on_hand": STOCK, "reserved": STOCK, "available": 0, "safety_stock": 5}
    assert all(c["listed"] == 0 for c in board["channels"].values())
    ledger = _api(platform, "GET", f"/inventory-ledger/{SKU}").json()
    assert [(w["warehouse"], w["totals"]["reserved"], w["explains_board"]) for w in ledger["warehouses"]] == [
        ("WH-GZ", STOCK, True)]
    # And the operator API shows a held buyer with the reason
    one = requests.get(f"{platform.base_url}/orders/{held[0]['order_id']['S']}",
                       headers={"x-api-key": platform.api_key}, timeout=15).json()
    assert one["status"] == "held" and one["holds"][0]["reason"] == "insufficient_stock"

    # And the stock stream (read by the local runtime) suspended coupons once and listed 0 everywhere
    inventory = platform.resources.by_id["inventory"].name
    signals = {i["pk"]["S"]: i for i in platform.client("dynamodb").scan(TableName=inventory)["Items"]
               if i["pk"]["S"].startswith("signal#")}
    assert signals[f"signal#coupon#{SKU}"]["value"]["N"] == "1"
    assert signals[f"signal#stock_alert#WH-GZ#{SKU}"]["value"]["N"] == "1"
    assert signals[f"signal#listing#{SKU}"]["value"]["N"] == "0"
    assert all(s["notified"]["BOOL"] for s in signals.values())


def test_orders_held_for_stock_are_reserved_when_the_wms_restocks(platform: LocalPlatform) -> None:
    # Given a sold-out SKU and three buyers' orders held for it, one after the other
    sku, secret = "RESTOCK-1", platform.credentials["OCP_CHANNEL_SECRET_SHOPIFY"]
    assert _api(platform, "PUT", f"/inventory/WH-GZ/{sku}", json={"on_hand": 0, "version": 1}).status_code == 200
    for n in (201, 202, 203):
        body = _live_order(n, sku)
        posted = requests.post(f"{platform.base_url}/webhooks/shopify", data=body,
                               headers=shopify_headers(body, secret), timeout=30)
        assert posted.status_code == 200, posted.text
        platform.wait_idle(timeout=30)
    # When the WMS pushes 2 units, and the local runtime's stream poller hands the change to stock_events
    assert _api(platform, "PUT", f"/inventory/WH-GZ/{sku}", json={"on_hand": 2, "version": 2}).status_code == 200
    platform.wait_idle(timeout=60)
    # Then the two oldest are reserved (and sent to their warehouse) by OCP, the third still waits
    orders = {n: requests.get(f"{platform.base_url}/orders/shopify-{6_100_000_000_000_000_000 + n}",
                              headers={"x-api-key": platform.api_key}, timeout=15).json() for n in (201, 202, 203)}
    assert {n: o["status"] for n, o in orders.items()} == {201: "dispatched", 202: "dispatched", 203: "held"}
    released = [(e["actor"], e["detail"]) for e in orders[201]["timeline"] if e["event"] == "released"]
    assert released == [("ocp", f"released automatically: stock arrived for {sku}")]
    board = _api(platform, "GET", f"/inventory/{sku}").json()
    assert board["totals"]["reserved"] == 2 and board["totals"]["available"] == 0
