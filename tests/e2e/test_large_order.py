"""Orders too large for one DynamoDB transaction, through the local runtime over HTTP: a signed 60-line Shopify
webhook is reserved whole (in chunks), dispatched as one instruction, shipped, and every SKU's ledger explains its
board; a 300-line one is reserved and dispatched. (A 60-line order with one SKU short, held with every other
SKU's stock as it was, is covered over the in-memory twins and on DynamoDB Local: through the embedded AWS its
hundred-odd stock-stream records alone take minutes.)"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pytest
import requests

from infra.local import LocalPlatform
from ocp.domain.clock import iso
from tests.e2e.deliveries import deliver_shopify
from tests.e2e.wms import bodies, wms_messages
from tests.held_support import shopify_document

pytestmark = pytest.mark.e2e

SKUS = [f"BULK-{n:02}" for n in range(60)]
IDLE_S = 240
"""Each SKU an order moves is one stock-stream record for the signals and restock consumer; the embedded AWS takes
tens of milliseconds per call, so a 300-line order keeps the local platform busy for a minute."""


@pytest.fixture(scope="module")
def platform() -> Iterator[LocalPlatform]:
    with LocalPlatform(port=0, visibility_timeout_s=2) as running:
        yield running


def _api(platform: LocalPlatform, method: str, path: str, body: Any = None) -> requests.Response:
    return requests.request(method, f"{platform.base_url}{path}", json=body, timeout=30,
                            headers={"x-api-key": platform.api_key, "x-ocp-actor": "e2e@shop.cn"})


def _sixty_lines(n: int, skus: list[str] = SKUS) -> dict[str, Any]:
    """Buyer n's paid Shopify order of one unit of each of `skus` (the 60 SKUs by default)."""
    document = shopify_document(n, skus[0])
    item = document["line_items"][0]
    document["line_items"] = [copy.deepcopy(item) | {"id": 13_500_000 + i, "sku": sku, "title": sku,
                                                     "admin_graphql_api_id": f"gid://shopify/LineItem/{i}"}
                              for i, sku in enumerate(skus)]
    total = f"{float(item['price']) * len(skus):.2f}"
    money = {"amount": total, "currency_code": "CNY"}
    document.update(total_line_items_price=total, subtotal_price=total, total_price=total,
                    total_price_set={"shop_money": money, "presentment_money": money})
    return document


def _stock(platform: LocalPlatform, on_hand: dict[str, int]) -> None:
    """The WMS's counts, pushed as it would: one request per SKU, eight at a time."""
    def push(item: tuple[str, int]) -> bool:
        return bool(_api(platform, "PUT", f"/inventory/WH-GZ/{item[0]}", {"on_hand": item[1], "version": 1}).ok)

    with ThreadPoolExecutor(8) as pool:
        assert all(pool.map(push, on_hand.items()))


def _boards(platform: LocalPlatform, skus: list[str] = SKUS) -> set[tuple[int, int]]:
    totals = [_api(platform, "GET", f"/inventory/{sku}").json()["totals"] for sku in skus]
    return {(t["on_hand"], t["reserved"]) for t in totals}


def _explained(platform: LocalPlatform, skus: list[str] = SKUS) -> bool:
    views = [_api(platform, "GET", f"/inventory-ledger/{sku}").json() for sku in skus]
    return all(w["explains_board"] for view in views for w in view["warehouses"])


def test_a_60_line_order_is_reserved_whole_dispatched_and_shipped(platform: LocalPlatform) -> None:
    # Given 5 units of each of 60 SKUs at WH-GZ
    for sku in SKUS:
        pushed = _api(platform, "PUT", f"/inventory/WH-GZ/{sku}", {"on_hand": 5, "version": 1})
        assert (pushed.status_code, pushed.json()["applied"]) == (200, True), pushed.text
    # When a paid 60-line order arrives (121 items: more than one transaction takes)
    order_id = deliver_shopify(platform, _sixty_lines(1), idle_timeout=IDLE_S)
    # Then it is reserved whole and handed to the warehouse as one instruction with every line
    order = _api(platform, "GET", f"/orders/{order_id}").json()
    assert order["status"] == "dispatched" and order.get("reservation_intent") is None
    assert len(order["reservation"]["allocations"]) == 60
    assert _boards(platform) == {(5, 1)} and _explained(platform)
    [instruction] = bodies(wms_messages(platform, "WH-GZ", expected=1))
    assert instruction["order_id"] == order_id and len(instruction["lines"]) == 60
    # When the warehouse ships it
    for event, event_id, extra in [("accepted", "big-1", {}), ("picked", "big-2", {}),
                                   ("shipped", "big-3", {"carrier": "SF", "tracking_no": "SF60"})]:
        answer = _api(platform, "POST", "/fulfillment/events", {
            "order_id": order_id, "event": event, "event_id": event_id, "at": iso(datetime.now(UTC)), **extra})
        assert answer.status_code == 200, answer.text
    platform.wait_idle(timeout=30)
    # Then its 60 units left on_hand and reserved together, in chunks, and the ledger still explains every SKU
    assert _api(platform, "GET", f"/orders/{order_id}").json()["status"] == "shipped"
    assert _boards(platform) == {(4, 0)} and _explained(platform)


def test_a_300_line_order_is_reserved_whole_and_dispatched(platform: LocalPlatform) -> None:
    # Given 2 units of each of 300 SKUs at WH-GZ
    skus = [f"WHOLESALE-{n:03}" for n in range(300)]
    _stock(platform, dict.fromkeys(skus, 2))
    platform.wait_idle(timeout=120)
    # When a paid 300-line wholesale order arrives (601 items: seven chunks)
    order_id = deliver_shopify(platform, _sixty_lines(2, skus), idle_timeout=IDLE_S)
    # Then it is reserved whole, dispatched with every line, and every SKU's ledger explains its board
    order = _api(platform, "GET", f"/orders/{order_id}").json()
    assert order["status"] == "dispatched" and order.get("reservation_intent") is None
    assert len(order["reservation"]["allocations"]) == 300
    [instruction] = bodies(wms_messages(platform, "WH-GZ", expected=1))
    assert instruction["order_id"] == order_id and len(instruction["lines"]) == 300
    sample = skus[::10]  # every tenth SKU's board and ledger (each is one request)
    assert _boards(platform, sample) == {(2, 1)} and _explained(platform, sample)
