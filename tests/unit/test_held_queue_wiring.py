"""The held queue's wiring: its routes reach the right function locally as in API Gateway, the functions that
place orders can read what the rules read and hand orders to dispatch, and the read-only API stays read-only."""

from __future__ import annotations

import pytest

from infra import wiring
from infra.local.apigw import RouteTable

DECIDING = ("order_processor", "orders_ops", "presale_release", "stock_events")


@pytest.mark.parametrize(("method", "path", "function", "resource"), [
    ("GET", "/orders", "operator_api", "/orders"),
    ("PATCH", "/orders/shopify-1", "orders_ops", "/orders/{order_id}"),
    ("POST", "/orders/shopify-1/release", "orders_ops", "/orders/{order_id}/release"),
    ("POST", "/orders/shopify-1/cancel", "orders_ops", "/orders/{order_id}/cancel"),
    ("POST", "/orders:bulk", "orders_ops", "/orders:bulk"),
    ("POST", "/orders%3Abulk", "orders_ops", "/orders:bulk"),
    ("PUT", "/warehouses/WH-GZ", "rules_api", "/warehouses/{warehouse}"),
    ("GET", "/warehouses", "rules_api", "/warehouses"),
])
def test_held_queue_and_warehouse_routes_are_matched_behind_the_api_key(method: str, path: str, function: str,
                                                                        resource: str) -> None:
    # Given every declared route / When the path is matched
    match = RouteTable(wiring.ROUTES).match(method, path)
    # Then it reaches its function, behind the API key
    assert match is not None and (match.route.function, match.route.path) == (function, resource)
    assert match.route.api_key_required


@pytest.mark.parametrize("function_id", DECIDING)
def test_functions_that_place_orders_read_the_rules_and_hand_orders_to_dispatch(function_id: str) -> None:
    # Given the declaration
    declared = wiring.function(function_id)
    # Then rules, catalog and warehouses are readable, duplicate keys writable, the dispatch queue reachable
    for table in (wiring.RULES, wiring.CATALOG, wiring.WAREHOUSES):
        assert wiring.Grant(table.id, "read") in declared.grants
    assert wiring.Grant(wiring.ORDER_FINGERPRINTS.id, "read_write") in declared.grants
    assert wiring.Grant(wiring.DISPATCH_QUEUE.id, "send") in declared.grants
    assert {"RULES_TABLE", "CATALOG_TABLE", "WAREHOUSES_TABLE", "FINGERPRINTS_TABLE", "DISPATCH_QUEUE_URL"} <= set(
        declared.env)


def test_the_lookup_api_stays_read_only_and_the_sla_readers_read_the_rules() -> None:
    # Given / When / Then
    assert {g.access for g in wiring.function("operator_api").grants} == {"read"}
    for function_id in ("fulfillment_ops", "watchdog"):
        assert wiring.Grant(wiring.RULES.id, "read") in wiring.function(function_id).grants
    assert any(s.function == "presale_release" for s in wiring.SCHEDULES)
    assert wiring.ORDER_FINGERPRINTS.ttl_attribute == "expires_at"
