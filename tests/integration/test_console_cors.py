"""The API answers the operator console's origin, and only it, with CORS headers (`ocp.api.cors`)."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest

from ocp.api import cors
from tests.support import FakeContext, api_event

CONSOLE = "https://d1234abcd.cloudfront.net"
ROOT = Path(__file__).resolve().parents[2]


def _openapi(origin: str | None) -> dict[str, Any]:
    from functions.operator_api.handler import lambda_handler

    headers = {"Origin": origin} if origin else {}
    response: dict[str, Any] = lambda_handler(api_event("GET", "/openapi.json", "/openapi.json", headers=headers),
                                              FakeContext())
    return response


def _headers(response: dict[str, Any]) -> dict[str, str]:
    merged = {**response.get("headers", {}), **{k: v[-1] for k, v in response.get("multiValueHeaders", {}).items()}}
    return {name.lower(): value for name, value in merged.items()}


def test_the_consoles_origin_gets_the_headers_it_sends_and_may_read(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a stack whose console is served from CloudFront
    monkeypatch.setenv("CONSOLE_ORIGIN", CONSOLE)

    # When the console's page asks the API
    headers = _headers(_openapi(CONSOLE))

    # Then the answer allows that origin, the console's request headers, and lets it read the ETag
    assert headers["access-control-allow-origin"] == CONSOLE
    allowed = {h.strip().lower() for h in headers["access-control-allow-headers"].split(",")}
    assert {"x-api-key", "x-ocp-actor", "if-match", "content-type"} <= allowed
    assert headers["access-control-expose-headers"] == "ETag"
    # and exactly what API Gateway's preflight allows (`infra/constructs/api.py` reads the same constants)
    assert headers["access-control-allow-headers"].split(",") == cors.ALLOWED_HEADERS
    assert headers["access-control-max-age"] == str(cors.MAX_AGE_S) == "600"


@pytest.mark.parametrize("origin", ["https://evil.example", "http://d1234abcd.cloudfront.net", None])
def test_any_other_origin_gets_no_cors_headers(monkeypatch: pytest.MonkeyPatch, origin: str | None) -> None:
    monkeypatch.setenv("CONSOLE_ORIGIN", CONSOLE + "/")  # a trailing slash in the setting still names the origin
    response = _openapi(origin)
    assert response["statusCode"] == 200
    assert not {h for h in _headers(response) if h.startswith("access-control-")}


def test_without_a_console_origin_nobody_gets_cors_headers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CONSOLE_ORIGIN", raising=False)
    assert not {h for h in _headers(_openapi(CONSOLE)) if h.startswith("access-control-")}


def test_an_error_answer_carries_the_headers_too(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the console's origin, and a body the API refuses before touching any storage
    monkeypatch.setenv("CONSOLE_ORIGIN", CONSOLE)
    from functions.inventory_api.handler import lambda_handler

    event = api_event("PUT", "/inventory/{warehouse}/{sku}", "/inventory/WH-GZ/TEA", body="{not json",
                      headers={"Origin": CONSOLE, "Content-Type": "application/json"},
                      path_params={"warehouse": "WH-GZ", "sku": "TEA"})

    # When it is sent, Then the 400 is readable by the console (else the browser shows a blank network error)
    response = lambda_handler(event, FakeContext())
    assert response["statusCode"] == 400
    assert _headers(response)["access-control-allow-origin"] == CONSOLE


def _resolvers(path: Path) -> list[ast.Call]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [node for node in ast.walk(tree) if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id == "APIGatewayRestResolver"]


API_HANDLERS = [path for path in sorted((ROOT / "functions").glob("*/handler.py")) if _resolvers(path)]
"""The handlers that build a REST resolver: only these are checked below (a handler without one has nothing to)."""


def test_the_api_handlers_are_found() -> None:
    # every handler that names the resolver builds it in the form checked below, and there are some
    naming = [p for p in sorted((ROOT / "functions").glob("*/handler.py"))
              if "APIGatewayRestResolver" in p.read_text(encoding="utf-8")]
    assert naming == API_HANDLERS
    assert {path.parent.name for path in API_HANDLERS} >= {"operator_api", "inventory_api"}


@pytest.mark.parametrize("path", API_HANDLERS, ids=lambda p: p.parent.name)
def test_every_api_resolver_takes_the_one_cors_helper(path: Path) -> None:
    for call in _resolvers(path):
        given = [k.value for k in call.keywords if k.arg == "cors"]
        assert given and ast.unparse(given[0]) == "console_cors()", f"{path}: APIGatewayRestResolver without CORS"
