"""The published OpenAPI document: every API function's routes merged into one (`make openapi`).

Powertools derives each route's schema from its typed signature; `OpenAPIMerge` joins the resolvers of
all `functions/*/handler.py`. The result is committed as `shared/ocp/api/openapi.json` (served at
`GET /openapi.json`), and a test fails when the code and the committed document drift apart.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any

from aws_lambda_powertools.event_handler.openapi.merge import OpenAPIMerge
from aws_lambda_powertools.event_handler.openapi.models import APIKey, APIKeyIn

from infra import wiring

ROOT = Path(__file__).resolve().parents[1]
DOCUMENT = ROOT / "shared" / "ocp" / "api" / "openapi.json"


def build_document() -> dict[str, Any]:
    merge = OpenAPIMerge(
        title="OCP — order control platform",
        version="1",
        description="Channels push orders with their own signatures; operators and partners send `x-api-key`.",
        security_schemes={"apiKey": APIKey(name="x-api-key", in_=APIKeyIn.header)},
        on_conflict="error",
    )
    merge.discover(path=ROOT / "functions", pattern="handler.py", recursive=True, resolver_name="app",
                   project_root=ROOT)
    document: dict[str, Any] = json.loads(merge.get_openapi_json_schema())
    _drop_default_validation_errors(document)
    _apply_route_auth(document)
    return document


def path_shape(path: str) -> str:
    """`/inventory/{id}/{sku}` and `/inventory/{warehouse}/{sku}` name the same route."""
    return re.sub(r"\{[^}]+\}", "{}", path)


def serves(document_path: str, route_path: str) -> bool:
    """Whether a handler route serves a deployed API Gateway path.

    Same shape, or a literal deployed path that the handler's template matches: API Gateway cannot declare
    `/rules/{kind}:simulate`, so the wiring lists `/rules/routing:simulate` and friends literally.
    """
    if path_shape(document_path) == path_shape(route_path):
        return True
    pattern = "".join("[^/]+" if part.startswith("{") else re.escape(part)
                      for part in re.split(r"(\{[^}]+\})", document_path))
    return "{" not in route_path and re.fullmatch(pattern, route_path) is not None


def operations_for(document: dict[str, Any], route: wiring.Route) -> list[dict[str, Any]]:
    return [
        operation
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
        if method.upper() == route.method and serves(path, route.path)
    ]


_ERROR = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}}
_KEY_REFUSALS = {
    "401": {"description": "No x-api-key header", "content": _ERROR},
    "403": {"description": "The x-api-key header names no valid key", "content": _ERROR},
}
_DEFAULT_VALIDATION_ERROR = "#/components/schemas/HTTPValidationError"


def _apply_route_auth(document: dict[str, Any]) -> None:
    """Mark each operation's auth as the wiring declares it (the API Gateway method's `ApiKeyRequired`), with the
    gateway's refusals of a missing or wrong key (`ocp.api.responses.ErrorResponse`, as every error)."""
    for route in wiring.ROUTES:
        for operation in operations_for(document, route):
            operation["security"] = [{"apiKey": []}] if route.api_key_required else []
            if route.api_key_required:
                operation["responses"] = dict(sorted({**operation["responses"], **_KEY_REFUSALS}.items()))


def _drop_default_validation_errors(document: dict[str, Any]) -> None:
    """Powertools documents 422 `HTTPValidationError` on every validated route, but an invalid request is answered
    400 `invalid_request` (`ocp.api.errors`, documented per route with `ocp.api.responses.errors`)."""
    for methods in document["paths"].values():
        for operation in methods.values():
            default = operation.get("responses", {}).get("422", {})
            if default.get("content", {}).get("application/json", {}).get("schema", {}).get("$ref") == (
                    _DEFAULT_VALIDATION_ERROR):
                del operation["responses"]["422"]
    if _DEFAULT_VALIDATION_ERROR not in json.dumps(document["paths"]):
        for name in ("HTTPValidationError", "ValidationError"):
            document.get("components", {}).get("schemas", {}).pop(name, None)


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail when the committed document is stale")
    args = parser.parse_args()
    fresh = render(build_document())
    if args.check:
        if not DOCUMENT.exists() or DOCUMENT.read_text(encoding="utf-8") != fresh:
            raise SystemExit(f"{DOCUMENT.relative_to(ROOT)} is stale: run `make openapi`")
        return
    DOCUMENT.write_text(fresh, encoding="utf-8")
    print(f"wrote {DOCUMENT.relative_to(ROOT)} ({len(json.loads(fresh)['paths'])} paths)")


if __name__ == "__main__":
    main()
