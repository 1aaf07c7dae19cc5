"""`ocp keys`: manage principals through the API (`POST/GET /principals`, `DELETE /principals/{name}`).

    ocp keys create NAME --scope S [--scope S ...] [--url URL] [--api-key K]   prints the new key, once
    ocp keys list [--url URL] [--api-key K]
    ocp keys revoke NAME [--url URL] [--api-key K]
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.parse
from collections.abc import Callable
from typing import Any

from infra.local.demo import http

DEFAULT_URL = "http://127.0.0.1:3000"


class KeysError(Exception):
    """The API refused: its contract error, or it could not be reached."""


def add_parser(commands: Any) -> None:
    keys = commands.add_parser("keys", help="create, list and revoke principals and their API keys (scope admin)")
    actions = keys.add_subparsers(required=True, metavar="ACTION")

    def common(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--url", default=DEFAULT_URL, help="the API's base URL")
        sub.add_argument("--api-key", default=None,
                         help="an admin's x-api-key (default: $OCP_API_KEY or the local key)")

    create = actions.add_parser("create", help="a new principal; its key is printed once and never stored")
    create.add_argument("name", help="[a-z0-9][a-z0-9-]{1,62}")
    create.add_argument("--scope", action="append", dest="scopes", required=True,
                        help="admin | operator | finance | read | wms:<WAREHOUSE> (repeatable)")
    common(create)
    create.set_defaults(command=_create)

    listing = actions.add_parser("list", help="every principal with its scopes (never a key)")
    common(listing)
    listing.set_defaults(command=_list)

    revoke = actions.add_parser("revoke", help="revoke a principal: its key stops at once (AWS: within 60 s)")
    revoke.add_argument("name")
    common(revoke)
    revoke.set_defaults(command=_revoke)


def call(url: str, api_key: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    """(status, parsed JSON body or None); a refusal or an unreachable API raises KeysError."""
    data = json.dumps(body).encode() if body is not None else None
    headers = {"x-api-key": api_key, "Content-Type": "application/json"}
    try:
        status, answer = http(method, f"{url.rstrip('/')}{path}", data, headers, timeout_s=30)
    except OSError as unreachable:
        raise KeysError(f"cannot reach {url}: {getattr(unreachable, 'reason', unreachable)}") from None
    if status >= 400:
        raise KeysError(_refusal(status, answer))
    return status, answer


def _refusal(status: int, answer: Any) -> str:
    """The contract error's code and message; a body that is not one (a proxy's HTML page) still gives its status."""
    error = answer.get("error") if isinstance(answer, dict) else None
    if not isinstance(error, dict):
        return f"{status}: the answer is not an API error"
    return f"{status} {error.get('code', '')}: {error.get('message', '')}"


def _key(args: argparse.Namespace) -> str:
    from infra.local import config
    return str(args.api_key or config.api_key())


def _create(args: argparse.Namespace) -> int:
    return _run(lambda: _print_created(call(args.url, _key(args), "POST", "/principals",
                                            {"name": args.name, "scopes": args.scopes})[1]))


def _print_created(created: dict[str, Any]) -> None:
    print(f"principal {created['name']} ({' '.join(created['scopes'])}), created {created['created_at']}")
    print(f"api key (shown once, store it now): {created['api_key']}")


def _list(args: argparse.Namespace) -> int:
    def show() -> None:
        principals = call(args.url, _key(args), "GET", "/principals")[1]["principals"]
        width = max((len(p["name"]) for p in principals), default=4)
        print(f"{'name':<{width}}  {'created_at':<20}  scopes")
        for p in principals:
            print(f"{p['name']:<{width}}  {p['created_at']:<20}  {' '.join(p['scopes'])}")
    return _run(show)


def _revoke(args: argparse.Namespace) -> int:
    def revoke() -> None:
        call(args.url, _key(args), "DELETE", f"/principals/{urllib.parse.quote(args.name, safe='')}")
        print(f"revoked {args.name}")
    return _run(revoke)


def _run(action: Callable[[], None]) -> int:
    try:
        action()
    except KeysError as exc:
        print(f"ocp keys: {exc}", file=sys.stderr)
        return 1
    return 0
