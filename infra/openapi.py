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
    _apply_route_auth(document)
    return document


def path_shape(path: str) -> str:
    """`/inventory/{id}/{sku}` and `/inventory/{warehouse}/{sku}` name the same route."""
    return re.sub(r"\{[^}]+\}", "{}", path)


def _apply_route_auth(document: dict[str, Any]) -> None:
    """Mark each operation's auth as the wiring declares it (the API Gateway method's `ApiKeyRequired`)."""
    operations = {
        (method.upper(), path_shape(path)): operation
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
    }
    for route in wiring.ROUTES:
        operation = operations.get((route.method, path_shape(route.path)))
        if operation is not None:
            operation["security"] = [{"apiKey": []}] if route.api_key_required else []


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
