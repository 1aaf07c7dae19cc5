"""Issue "access" done-when, against `ocp local`: principals with scopes, warehouse-bound callbacks and stock
pushes, the principal on the timeline, and a revoked key refused at once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import requests

from infra.cli import main
from infra.local import LocalPlatform
from ocp.domain.clock import iso
from tests.e2e.deliveries import deliver_shopify
from tests.held_support import shopify_document

pytestmark = pytest.mark.e2e

ROUTING = {"rules": [
    {"id": "south-china", "priority": 10, "when": {"field": "address.province", "in": ["广东省"]},
     "then": {"warehouses": ["WH-GZ"]}},
    {"id": "default", "priority": 100, "when": {"always": True}, "then": {"warehouses": ["WH-SH"]}},
]}


@pytest.fixture(scope="module")
def platform() -> Iterator[LocalPlatform]:
    with LocalPlatform(port=0, visibility_timeout_s=2) as running:
        yield running


def _call(platform: LocalPlatform, key: str, method: str, path: str, body: Any = None,
          person: str | None = None) -> requests.Response:
    headers = {"x-api-key": key} | ({"x-ocp-actor": person} if person else {})
    return requests.request(method, f"{platform.base_url}{path}", json=body, headers=headers, timeout=30)


def _new_key(platform: LocalPlatform, name: str, *scopes: str) -> str:
    created = _call(platform, platform.api_key, "POST", "/principals", {"name": name, "scopes": list(scopes)})
    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["name"], body["scopes"]) == (name, list(scopes)) and body["created_at"].endswith("Z")
    key: str = body["api_key"]
    return key


def _shipped(order_id: str, event_id: str) -> dict[str, Any]:
    return {"order_id": order_id, "event": "shipped", "event_id": event_id, "at": iso(datetime.now(UTC)),
            "carrier": "SF", "tracking_no": f"SF{event_id[-6:]}"}


def _forbidden(response: requests.Response) -> dict[str, Any]:
    assert response.status_code == 403, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == "forbidden" and error["message"]
    return error


def test_principals_scopes_and_warehouse_bound_callbacks(platform: LocalPlatform) -> None:
    # Given an admin (the bootstrap key) who creates an operator key and a WH-GZ warehouse key
    operator = _new_key(platform, "ops-console", "operator")
    gz = _new_key(platform, "wms-gz", "wms:WH-GZ")
    # When the operator changes the rules / Then it may
    assert _call(platform, operator, "PUT", "/rules/routing", ROUTING, person="li.na@shop.cn").status_code == 200
    for warehouse in ("WH-GZ", "WH-SH"):
        pushed = _call(platform, operator, "PUT", f"/inventory/{warehouse}/TEA-ACL", {"on_hand": 5, "version": 1})
        assert pushed.status_code == 200, pushed.text
    # and one order goes to WH-GZ (广东), one to WH-SH (北京 → default)
    south = deliver_shopify(platform, shopify_document(71, "TEA-ACL"))
    north = deliver_shopify(platform, shopify_document(72, "TEA-ACL", province="北京市", city="北京市",
                                                address1="朝阳区建国路1号"))
    platform.wait_idle(timeout=60)
    warehouses = [_call(platform, operator, "GET", f"/orders/{o}").json()["warehouse"] for o in (south, north)]
    assert warehouses == ["WH-GZ", "WH-SH"]

    # When the WH-GZ key reports its own order shipped / Then 200, and the timeline names the principal
    shipped = _call(platform, gz, "POST", "/fulfillment/events", _shipped(south, "gz-ship-000071"))
    assert shipped.status_code == 200 and shipped.json()["status"] == "shipped", shipped.text
    timeline = _call(platform, operator, "GET", f"/orders/{south}").json()["timeline"]
    shipped_entries = [e for e in timeline if e["event"] == "shipped"]
    assert shipped_entries and {e["principal"] for e in shipped_entries} == {"wms-gz"}, shipped_entries
    assert {e["principal"] for e in timeline if e["hop"] == "ingest"} == {None}  # the channel's, not an API call

    # When it reports on WH-SH's order, changes the rules, or pushes WH-SH's stock / Then 403 with the reason
    refused = _forbidden(_call(platform, gz, "POST", "/fulfillment/events", _shipped(north, "gz-ship-000072")))
    assert refused["details"]["warehouse"] == "WH-SH" and refused["details"]["order_id"] == north
    rules = _forbidden(_call(platform, gz, "PUT", "/rules/routing", ROUTING))
    assert "operator" in rules["message"] and "wms-gz" in rules["message"]
    stock = _forbidden(_call(platform, gz, "PUT", "/inventory/WH-SH/TEA-ACL", {"on_hand": 0, "version": 2}))
    assert stock["details"]["warehouse"] == "WH-SH"
    assert _call(platform, operator, "GET", "/orders/" + north).json()["status"] == "dispatched"
    # while its own stock push passes, and the ledger names it
    own = _call(platform, gz, "PUT", "/inventory/WH-GZ/TEA-ACL", {"on_hand": 9, "version": 2})
    assert own.status_code == 200 and own.json()["applied"], own.text
    ledger = _call(platform, operator, "GET", "/inventory-ledger/TEA-ACL").json()
    assert "wms-gz" in {e.get("principal") for e in ledger["entries"]}

    # When an admin lists principals / Then no key and no hash is shown
    listed = _call(platform, platform.api_key, "GET", "/principals")
    assert listed.status_code == 200
    assert {p["name"] for p in listed.json()["principals"]} == {"ops-console", "wms-gz"}
    assert operator not in listed.text and gz not in listed.text
    assert all(set(p) == {"name", "scopes", "created_at"} for p in listed.json()["principals"])
    # and a principal cannot manage principals
    _forbidden(_call(platform, operator, "GET", "/principals"))

    # When the WH-GZ key is revoked / Then it is refused at once
    assert _call(platform, platform.api_key, "DELETE", "/principals/wms-gz").status_code == 204
    revoked = _call(platform, gz, "PUT", "/inventory/WH-GZ/TEA-ACL", {"on_hand": 9, "version": 3})
    assert (revoked.status_code, revoked.json()["error"]["code"]) == (403, "invalid_api_key")
    missing = requests.get(f"{platform.base_url}/orders/{south}", timeout=30)
    assert (missing.status_code, missing.json()["error"]["code"]) == (401, "missing_api_key")


def test_ocp_keys_creates_lists_and_revokes_through_the_api(platform: LocalPlatform,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    # Given the local platform and its bootstrap key (the CLI's default)
    url = ["--url", platform.base_url, "--api-key", platform.api_key]
    # When a finance principal is created
    assert main(["keys", "create", "finance-bot", "--scope", "finance", "--scope", "read", *url]) == 0
    printed = capsys.readouterr().out
    key = printed.split("store it now): ")[1].strip()
    # Then its key works for what finance may read, and the listing shows it without the key
    assert _call(platform, key, "GET", "/returns").status_code == 200
    assert main(["keys", "list", *url]) == 0
    listing = capsys.readouterr().out
    assert "finance-bot" in listing and "finance read" in listing and key not in listing
    # When revoked / Then the key stops, and revoking again says why it failed
    assert main(["keys", "revoke", "finance-bot", *url]) == 0
    assert _call(platform, key, "GET", "/returns").json()["error"]["code"] == "invalid_api_key"
    assert main(["keys", "revoke", "finance-bot", *url]) == 1
    assert "404 principal_not_found" in capsys.readouterr().err
