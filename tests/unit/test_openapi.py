"""The published OpenAPI document agrees with the code and with the wiring."""

from __future__ import annotations

from typing import Any

import pytest

from infra import wiring
from infra.openapi import DOCUMENT, build_document, operations_for, render, serves
from ocp.api.published import openapi_document


@pytest.fixture(scope="module")
def fresh() -> dict[str, Any]:
    return build_document()


def test_committed_document_matches_the_code(fresh: dict[str, Any]) -> None:
    # Given the handlers' typed routes / When the document is rebuilt / Then it equals the committed one
    assert DOCUMENT.read_text(encoding="utf-8") == render(fresh), "run `make openapi` and commit the result"
    assert openapi_document() == fresh  # what GET /openapi.json serves


@pytest.mark.parametrize("route", wiring.ROUTES, ids=lambda r: f"{r.method} {r.path}")
def test_every_deployed_route_is_documented_with_its_auth(fresh: dict[str, Any], route: wiring.Route) -> None:
    operations = operations_for(fresh, route)
    assert operations, f"{route.method} {route.path} is deployed but not documented"
    for operation in operations:
        assert operation["security"] == ([{"apiKey": []}] if route.api_key_required else [])


def test_every_documented_route_is_deployed(fresh: dict[str, Any]) -> None:
    unreachable = [
        f"{method.upper()} {path}"
        for path, methods in fresh["paths"].items()
        for method in methods
        if not any(r.method == method.upper() and serves(path, r.path) for r in wiring.ROUTES)
    ]
    assert unreachable == [], "a handler serves a route API Gateway never sends to it"


def test_literal_colon_routes_match_their_template() -> None:
    assert serves("/rules/{kind}:simulate", "/rules/routing:simulate")
    assert serves("/inventory/{warehouse}/{sku}", "/inventory/{id}/{sku}")
    assert not serves("/rules/{kind}:simulate", "/rules/routing")
    assert not serves("/orders/{order_id}", "/orders/stuck/extra")
