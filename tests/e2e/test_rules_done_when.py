"""The rules end to end, through the local runtime over HTTP: rules by province and amount route as written, with
fallback when the first warehouse runs dry; a nonsense address and a 0.01 price are held with their reasons; an
operator fixes and releases; the dry run names the rule that fired; an invalid rule document is refused and the
previous version keeps routing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from infra.local import LocalPlatform
from infra.local.demo import shopify_headers
from tests.held_support import shopify_document

pytestmark = pytest.mark.e2e

ROUTING = {"rules": [
    {"id": "big-ticket", "priority": 5, "when": {"field": "amounts.paid", "gte": 500000},
     "then": {"warehouses": ["WH-BJ"]}},
    {"id": "south-china", "priority": 10, "when": {"field": "address.province", "in": ["广东省", "广西壮族自治区"]},
     "then": {"warehouses": ["WH-GZ", "WH-SH"]}},
    {"id": "default", "priority": 100, "when": {"always": True}, "then": {"warehouses": ["WH-SH"]}},
]}


@pytest.fixture(scope="module")
def platform() -> Iterator[LocalPlatform]:
    with LocalPlatform(port=0, visibility_timeout_s=2) as running:
        yield running


def _api(platform: LocalPlatform, method: str, path: str, body: Any = None, **params: str) -> requests.Response:
    return requests.request(method, f"{platform.base_url}{path}", json=body, params=params or None, timeout=30,
                            headers={"x-api-key": platform.api_key, "x-ocp-actor": "wang.fang@shop.cn"})


def _order_in(platform: LocalPlatform, document: dict[str, Any]) -> str:
    body = json.dumps(document, ensure_ascii=False).encode()
    headers = shopify_headers(body, platform.credentials["OCP_CHANNEL_SECRET_SHOPIFY"])
    response = requests.post(f"{platform.base_url}/webhooks/shopify", data=body, headers=headers, timeout=30)
    assert response.status_code == 200, response.text
    return f"shopify-{document['id']}"


def _order(platform: LocalPlatform, order_id: str) -> dict[str, Any]:
    response = _api(platform, "GET", f"/orders/{order_id}")
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def test_rules_route_hold_and_release_through_the_local_platform(platform: LocalPlatform) -> None:
    # Given routing by province and amount, a catalog floor, and stock: one unit at WH-GZ, more elsewhere
    stored = _api(platform, "PUT", "/rules/routing", ROUTING)
    assert (stored.status_code, stored.json()["version"]) == (200, 1)
    assert _api(platform, "PUT", "/catalog/TEA-1", {"name": "明前龙井", "list_price": 19900,
                                                    "min_price": 15000}).status_code == 200
    for warehouse, units in (("WH-GZ", 1), ("WH-SH", 10), ("WH-BJ", 10)):
        pushed = _api(platform, "PUT", f"/inventory/{warehouse}/TEA-1", {"on_hand": units, "version": 1})
        assert (pushed.status_code, pushed.json()["applied"]) == (200, True), pushed.text

    # When buyers order: two from 广东 (one unit at WH-GZ), one from 北京, one big ticket from 广东
    first = _order_in(platform, shopify_document(1, "TEA-1", price="199.00"))
    platform.wait_idle(timeout=30)
    second = _order_in(platform, shopify_document(2, "TEA-1", price="199.00"))
    north = _order_in(platform, shopify_document(3, "TEA-1", price="199.00", province="北京市", city="北京市",
                                                 address1="朝阳区建国路1号"))
    big = _order_in(platform, shopify_document(4, "TEA-1", price="1999.00", quantity=3))
    # and one to a province that does not exist, and one paying 0.01 CNY
    nonsense = _order_in(platform, shopify_document(5, "TEA-1", price="199.00", province="火星省",
                                                    city="奥林匹斯市", address1="山区1号"))
    cheap = _order_in(platform, shopify_document(6, "TEA-1", price="0.01"))
    platform.wait_idle(timeout=60)

    # Then they are routed as written, the second falling back to WH-SH, and each went on to its warehouse
    routed = {order_id: _order(platform, order_id) for order_id in (first, second, north, big)}
    assert [(o["status"], o["warehouse"], o["rules_applied"]["routing_rule"]) for o in routed.values()] == [
        ("dispatched", "WH-GZ", "south-china"), ("dispatched", "WH-SH", "south-china"),
        ("dispatched", "WH-SH", "default"), ("dispatched", "WH-BJ", "big-ticket")]
    assert {o["rules_applied"]["versions"]["routing"] for o in routed.values()} == {1}
    # And the nonsense address and the 0.01 price are held with their reasons, each keeping its paid unit meanwhile
    held = {order_id: _order(platform, order_id) for order_id in (nonsense, cheap)}
    assert [(o["status"], [h["reason"] for h in o["holds"]], o["reservation"]["state"]) for o in held.values()] == [
        ("held", ["address_unresolved"], "active"), ("held", ["price_abnormal"], "active")]
    assert held[cheap]["holds"][0]["detail"] == "TEA-1: paid 0.01 CNY/unit, below the floor 150.00 CNY"

    # When an operator finds it in the held queue, fixes the address and releases it
    queue = _api(platform, "GET", "/orders", status="held", reason="address_unresolved").json()
    assert [o["order_id"] for o in queue["orders"]] == [nonsense]
    fixed = _api(platform, "PATCH", f"/orders/{nonsense}", {"address": {"province": "广东省", "city": "广州市",
                                                                         "district": "天河区"}})
    released = _api(platform, "POST", f"/orders/{nonsense}/release", {"note": "买家确认了地址"})
    platform.wait_idle(timeout=30)
    # Then it is reserved (where the fixed province routes it) and sent on, each step audited with the operator
    assert (fixed.status_code, released.status_code, released.json()["status"]) == (200, 200, "reserved")
    after = _order(platform, nonsense)
    assert (after["status"], after["warehouse"]) == ("dispatched", "WH-SH")
    assert [(e["event"], e["actor"]) for e in after["timeline"] if e["hop"] == "operator"] == [
        ("edited", "wang.fang@shop.cn"), ("released", "wang.fang@shop.cn")]

    # When the routing of a 广西 order is dry-run
    dry = _api(platform, "POST", "/rules/routing:simulate",
               {"order": {**after, "address": {**after["address"], "province": "广西壮族自治区"}}}).json()
    # Then it names the rule that fired and why
    assert (dry["rule"], dry["decision"]["candidates"]) == ("south-china", ["WH-GZ", "WH-SH"])
    assert ("south-china", "when", True) in [(t["rule"], t["at"], t["result"]) for t in dry["trace"]]

    # When an invalid routing document is PUT
    refused = _api(platform, "PUT", "/rules/routing", {"rules": [{"id": "broken", "priority": 1,
                                                                   "when": {"field": "address.province"},
                                                                   "then": {"warehouses": []}}]})
    # Then it is refused with its problems, and the previous version keeps routing new orders
    assert (refused.status_code, refused.json()["error"]["code"]) == (400, "invalid_rule_document")
    assert _api(platform, "GET", "/rules/routing").json()["version"] == 1
    later = _order_in(platform, shopify_document(7, "TEA-1", price="199.00"))
    platform.wait_idle(timeout=30)
    last = _order(platform, later)
    assert (last["warehouse"], last["rules_applied"]["versions"]["routing"]) == ("WH-SH", 1)
