"""Rules and catalog over HTTP on the local platform: the colon paths (`/rules/routing:simulate`,
`/catalog:bulk`) reach the handler exactly as API Gateway routes them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from infra.local import LocalPlatform
from tests.rules_support import order_doc

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def platform() -> Iterator[LocalPlatform]:
    with LocalPlatform(port=0) as running:
        yield running


def _call(platform: LocalPlatform, method: str, path: str, body: Any = None) -> requests.Response:
    return requests.request(method, f"{platform.base_url}{path}", json=body, timeout=15,
                            headers={"x-api-key": platform.api_key})


def test_rules_are_versioned_and_simulated_over_http(platform: LocalPlatform) -> None:
    # Given a routing document PUT over HTTP
    document = {"rules": [
        {"id": "south", "priority": 1, "when": {"field": "address.province", "eq": "广东省"},
         "then": {"warehouses": ["WH-GZ"]}},
        {"id": "default", "priority": 9, "when": {"always": True}, "then": {"warehouses": ["*"]}}]}
    stored = _call(platform, "PUT", "/rules/routing", document)

    # When an order is simulated at the colon path, plain and percent-encoded
    plain = _call(platform, "POST", "/rules/routing:simulate", {"order": order_doc()})
    encoded = _call(platform, "POST", "/rules/routing%3Asimulate", {"order": order_doc()})

    # Then the document is version 1 and both paths name the rule that fired
    assert (stored.status_code, stored.json()["version"]) == (200, 1)
    assert (plain.status_code, plain.json()["rule"], plain.json()["version"]) == (200, "south", 1)
    assert encoded.json() == plain.json()
    # and an invalid document is a 400 listing its problems, without an API key a 401
    assert _call(platform, "PUT", "/rules/routing", {"rules": [{"id": "x"}]}).status_code == 400
    assert requests.get(f"{platform.base_url}/rules/routing", timeout=15).status_code == 401


def test_catalog_bulk_and_lookup_over_http(platform: LocalPlatform) -> None:
    response = _call(platform, "POST", "/catalog:bulk", {"items": [
        {"sku": "TEA-1", "name": "龙井", "category": "tea", "list_price": 19900, "min_price": 15000}]})
    assert (response.status_code, response.json()["stored"]) == (200, 1)
    item = _call(platform, "GET", "/catalog/TEA-1")
    assert (item.status_code, item.json()["category"]) == (200, "tea")
