"""Bad input is a 4xx with a reason, everywhere: a hand-written table of hostile requests for every route in
`infra.wiring.ROUTES`, sent over HTTP to the local runtime (which answers as API Gateway would). Every answer is a
4xx in the contract's shape (`{"error": {"code", "message"}}`), never a 5xx; a few honest requests stay 2xx."""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests

from infra import wiring
from infra.local import LocalPlatform
from infra.local.apigw import MAX_BODY_BYTES
from infra.local.demo import shopify_headers

pytestmark = pytest.mark.e2e

JSON = "application/json"
DEEP = b"[" * 5_000 + b"1" + b"]" * 5_000
SAMPLE_PARAMS = {
    "channel": "shopify", "order_id": "shopify-hostile-1", "id": "WH-GZ", "sku": "SKU-HOSTILE", "kind": "routing",
    "warehouse": "WH-HOSTILE", "return_id": "R-hostile", "refund_id": "RF-hostile",
}
# A plausible body per JSON route, so the number, type and quantity cases reach the route's own checks.
SHAPES: dict[tuple[str, str], dict[str, Any]] = {
    ("PUT", "/inventory/{id}/{sku}"): {"on_hand": 5, "version": 1},
    ("PUT", "/inventory-policy"): {"unpaid_expiry_minutes": 60},
    ("PUT", "/rules/{kind}"): {"rules": []},
    ("PUT", "/catalog/{sku}"): {"name": "hostile", "category": "test", "list_price": 100, "min_price": 50},
    ("POST", "/catalog:bulk"): {"items": [{"sku": "SKU-HOSTILE", "name": "x", "list_price": 1}]},
    ("PUT", "/warehouses/{warehouse}"): {"region": "CN-GD", "kind": "own"},
    ("PATCH", "/orders/{order_id}"): {"lines": [{"sku": "SKU-HOSTILE", "quantity": 1}]},
    ("POST", "/orders:bulk"): {"action": "release", "order_ids": ["shopify-hostile-1"]},
    ("POST", "/fulfillment/events"): {"order_id": "shopify-hostile-1", "event": "accepted",
                                      "at": "2026-11-11T12:00:00Z", "event_id": "e-1"},
    ("POST", "/orders:redispatch"): {"order_ids": ["shopify-hostile-1"], "limit": 1},
    ("POST", "/returns"): {"order_id": "shopify-hostile-1", "lines": [{"sku": "SKU-HOSTILE", "quantity": 1}]},
    ("POST", "/returns/{return_id}/receipt"): {"lines": [{"sku": "SKU-HOSTILE", "quantity": 1, "grade": "intact"}]},
    ("POST", "/refunds/{refund_id}/settled"): {"amount": 100},
}
SIMULATIONS = {"order": {"order_id": "x", "lines": [{"sku": "SKU-HOSTILE", "quantity": 1}]}}
OPTIONAL_NOTE = {"note": "hostile"}
"""The operator actions whose body is optional (`{"note"}`)."""


@dataclass(frozen=True)
class Case:
    name: str
    method: str
    path: str
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    expect: str = "4xx"
    """`4xx`, `2xx`, or an exact status such as `400:too_deep` (status and error code)."""


def _path(route: wiring.Route, **override: str) -> str:
    def fill(m: re.Match[str]) -> str:
        return override.get(m.group(1), SAMPLE_PARAMS.get(m.group(1), "x-hostile"))

    return re.sub(r"\{([^}+]+)\+?\}", fill, route.path)


def _with(shape: dict[str, Any], value: Any) -> bytes:
    """The shape with every leaf number (and list of numbers) replaced by `value`'s JSON text."""
    text = json.dumps(shape)
    return re.sub(r"(?<=: )-?\d+(?=[,}\]])", value, text).encode()


def _body_cases(route: wiring.Route) -> list[Case]:
    key = (route.method, route.path)
    path = _path(route)
    shape = SHAPES.get(key) or (SIMULATIONS if route.path.endswith(":simulate") else OPTIONAL_NOTE)
    good = json.dumps(shape).encode()
    cases = [
        Case("deep", route.method, path, DEEP, {"Content-Type": JSON}, "400:too_deep"),
        Case("deep unclosed", route.method, path, b'{"a":' + b"[" * 100_000, {"Content-Type": JSON}, "400:too_deep"),
        Case("deep without content type", route.method, path, DEEP, {}, "400:too_deep"),
        Case("invalid utf-8", route.method, path, good[:-1] + b', "x": "\xff\xfe\xc3"}', {"Content-Type": JSON},
             "400:invalid_encoding"),
        Case("text/plain", route.method, path, good, {"Content-Type": "text/plain"}, "415:unsupported_media_type"),
        Case("multipart without boundary", route.method, path, good, {"Content-Type": "multipart/form-data"},
             "415:unsupported_media_type"),
        Case("form", route.method, path, b"a=1&b=2", {"Content-Type": "application/x-www-form-urlencoded"},
             "415:unsupported_media_type"),
        Case("latin-1 charset", route.method, path, good, {"Content-Type": "application/json; charset=latin-1"},
             "415:unsupported_media_type"),
        Case("malformed", route.method, path, b'{"a": ', {"Content-Type": JSON}),
        Case("raw NUL byte", route.method, path, b'{"a": "x\x00y"}', {"Content-Type": JSON}),
        Case("array", route.method, path, b"[1, 2]", {"Content-Type": JSON}),
        Case("string", route.method, path, b'"hello"', {"Content-Type": JSON}),
        Case("NaN", route.method, path, b'{"a": NaN}', {"Content-Type": JSON}, "400:invalid_number"),
        Case("-Infinity", route.method, path, b'{"a": [-Infinity]}', {"Content-Type": JSON}, "400:invalid_number"),
        Case("1e400", route.method, path, b'{"a": 1e400}', {"Content-Type": JSON}, "400:invalid_number"),
        Case("10**30", route.method, path, f'{{"a": {10**30}}}'.encode(), {"Content-Type": JSON},
             "400:invalid_number"),
        Case("5,000 digits", route.method, path, b'{"a": ' + b"9" * 5_000 + b"}", {"Content-Type": JSON},
             "400:invalid_number"),
    ]
    # The route's own numbers: huge, negative, of the wrong type (where its plausible body has numbers)
    for name, value, expect in (("1e400", "1e400", "400:invalid_number"), ("10**30", str(10**30), "400:invalid_number"),
                                ("10**40", str(10**40), "400:invalid_number"), ("negative", "-3", "4xx"),
                                ("strings for numbers", '"many"', "4xx"), ("fractions", "1.5", "4xx")):
        body = _with(shape, value)
        if key == ("POST", "/catalog:bulk") and expect == "4xx":
            expect = "any"  # a bulk write answers 200 naming each item it refused
        if body != good:
            cases.append(Case(f"{name} in the route's fields", route.method, path, body, {"Content-Type": JSON},
                              expect))
    cases += [
        Case("NUL escape in values", route.method, path,
             json.dumps(shape).replace('"SKU-HOSTILE"', '"SKU\\u0000X"').replace('"hostile"', '"a\\u0000b"').encode(),
             {"Content-Type": JSON}, "any"),
        Case("duplicate keys", route.method, path, good[:-1] + b', ' + good[1:-1] + b"}", {"Content-Type": JSON},
             "any"),
    ]
    if route.method == "PUT" and route.path.startswith("/catalog"):
        cases.append(Case("over 10 MB", route.method, path, b'{"name": "' + b"x" * (MAX_BODY_BYTES + 1024) + b'"}',
                          {"Content-Type": JSON}, "413:payload_too_large"))
    return cases


def _path_cases(route: wiring.Route) -> list[Case]:
    params = re.findall(r"\{([^}+]+)\+?\}", route.path)
    body = json.dumps(SHAPES.get((route.method, route.path), {})).encode() if route.method != "GET" else None
    headers = {"Content-Type": JSON} if body else {}
    cases: list[Case] = []
    for param in params:
        cases += [
            Case(f"overlong {param}", route.method, _path(route, **{param: "A" * 5_000}), body, headers),
            Case(f"NUL in {param}", route.method, _path(route, **{param: "a%00b"}), body, headers,
                 "400:invalid_path_parameter"),
            Case(f"newline in {param}", route.method, _path(route, **{param: "a%0Ab"}), body, headers,
                 "400:invalid_path_parameter"),
            Case(f"slash in {param}", route.method, _path(route, **{param: "a%2Fb"}), body, headers, "any"),
        ]
    return cases


def _method_cases() -> list[Case]:
    paths = sorted({_path(route) for route in wiring.ROUTES if route.path != "/webhooks/{channel}"})
    cases = [Case(f"{method} on a known path", method, path, expect="405:method_not_allowed")
             for path in paths for method in ("TRACE", "OPTIONS", "PROPFIND")]
    cases += [
        Case("DELETE an order", "DELETE", "/orders/x", expect="405:method_not_allowed"),
        Case("TRACE the webhook", "TRACE", "/webhooks/shopify", expect="405:method_not_allowed"),
        Case("unknown path", "GET", "/nope", expect="404:route_not_found"),
        Case("TRACE an unknown path", "TRACE", "/nope/deeper", expect="404:route_not_found"),
        Case("overlong unknown path", "GET", "/" + "x" * 5_000, expect="404:route_not_found"),
    ]
    return cases


def _query_cases() -> list[Case]:
    return [
        Case("limit 10**30", "GET", f"/orders?status=held&limit={10**30}"),
        Case("limit negative", "GET", "/orders?status=held&limit=-1"),
        Case("limit 1e400", "GET", "/orders?status=held&limit=1e400"),
        Case("garbage next_token", "GET", "/orders?status=held&next_token=%00%FF" + "A" * 100),
        Case("overlong channel order id", "GET", "/orders?channel=shopify&channel_order_id=" + "9" * 5_000),
        Case("NUL in status", "GET", "/orders?status=he%00ld"),
        Case("stuck sample negative", "GET", "/orders/stuck?sample=-5"),
        Case("stuck sample huge", "GET", f"/orders/stuck?sample={10**30}"),
        Case("returns status garbage", "GET", "/returns?status=%00" + "x" * 3_000),
        Case("returns next_token garbage", "GET", "/returns?next_token=not-a-token"),
    ]


def _webhook_cases() -> list[Case]:
    route = "/webhooks/shopify"
    return [
        Case("unsigned deep", "POST", route, DEEP, {"Content-Type": JSON}, "401"),
        Case("unsigned invalid utf-8", "POST", route, b'{"id": "\xff"}', {"Content-Type": JSON}, "401"),
        Case("unknown channel", "POST", "/webhooks/" + "x" * 3_000, b"{}", {"Content-Type": JSON}, "404"),
        Case("NUL channel", "POST", "/webhooks/sho%00pify", b"{}", {"Content-Type": JSON}, "404"),
    ]


def table() -> list[Case]:
    cases: list[Case] = []
    for route in wiring.ROUTES:
        if route.method in ("POST", "PUT", "PATCH") and route.function != "channel_webhook":
            cases += _body_cases(route)
        if route.function != "channel_webhook":
            cases += _path_cases(route)
    return cases + _method_cases() + _query_cases() + _webhook_cases()


@pytest.fixture(scope="module")
def platform() -> Iterator[LocalPlatform]:
    with LocalPlatform(port=0, visibility_timeout_s=2) as running:
        yield running


_SESSIONS = threading.local()


def _send(platform: LocalPlatform, case: Case) -> requests.Response:
    session = getattr(_SESSIONS, "session", None) or requests.Session()
    _SESSIONS.session = session
    headers = {"x-api-key": platform.api_key, "x-ocp-actor": "hostile@shop.cn", **case.headers}
    request = requests.Request(case.method, f"{platform.base_url}{case.path}", data=case.body, headers=headers)
    prepared = session.prepare_request(request)
    prepared.url = f"{platform.base_url}{case.path}"  # exactly as written: keep %00, %2F and friends
    return session.send(prepared, timeout=30)


def _problem(case: Case, response: requests.Response) -> str | None:
    status = response.status_code
    if status >= 500:
        return f"{status} (server error): {response.text[:300]}"
    if case.expect == "2xx":
        return None if 200 <= status < 300 else f"expected 2xx, got {status}: {response.text[:300]}"
    if case.expect == "any" and 200 <= status < 300:
        return None
    if not 400 <= status < 500:
        return f"expected a 4xx, got {status}"
    try:
        error = response.json()["error"]
    except (ValueError, KeyError, TypeError):
        return f"{status} without the contract's error body: {response.text[:200]}"
    if not (isinstance(error.get("code"), str) and isinstance(error.get("message"), str)):
        return f"{status} error body lacks code/message: {error}"
    wanted_status, _, wanted_code = case.expect.partition(":")
    if wanted_status.isdigit() and status != int(wanted_status):
        return f"expected {case.expect}, got {status} {error['code']}"
    if wanted_code and error["code"] != wanted_code:
        return f"expected {case.expect}, got {status} {error['code']}"
    return None


def test_every_hostile_request_is_a_4xx_with_a_reason(platform: LocalPlatform) -> None:
    cases = table()
    problems: list[str] = []
    outcomes: dict[int, int] = {}
    with ThreadPoolExecutor(max_workers=8) as pool:  # the local front serves each request on its own thread
        responses = list(pool.map(lambda case: _send(platform, case), cases))
    for case, response in zip(cases, responses, strict=True):
        outcomes[response.status_code] = outcomes.get(response.status_code, 0) + 1
        problem = _problem(case, response)
        if problem:
            problems.append(f"{case.method} {case.path[:80]} [{case.name}]: {problem}")
    print(f"\n{len(cases)} hostile requests: {dict(sorted(outcomes.items()))}")
    assert len(cases) > 300
    assert not problems, f"{len(problems)} of {len(cases)}:\n" + "\n".join(problems)


def test_405_names_the_declared_methods_in_allow(platform: LocalPlatform) -> None:
    response = requests.request("TRACE", f"{platform.base_url}/orders/x", timeout=10)
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET, PATCH"
    assert response.json()["error"]["details"] == {"allowed": ["GET", "PATCH"]}


def _quarantined(platform: LocalPlatform, delivery_id: str) -> list[dict[str, Any]]:
    table_name = platform.resources.by_id[wiring.QUARANTINE.id].name
    items = platform.client("dynamodb").scan(TableName=table_name)["Items"]
    return [item for item in items if item.get("delivery_id", {}).get("S") == delivery_id]


@pytest.mark.parametrize(("name", "body", "reason"), [
    ("deep", DEEP, "nested deeper than 64"),
    ("invalid utf-8", b'{"id": 1, "note": "\xff\xfe"}', "not JSON"),
])
def test_a_signed_hostile_delivery_is_kept_quarantined_and_400(
    platform: LocalPlatform, name: str, body: bytes, reason: str,
) -> None:
    # Given a correctly signed Shopify delivery whose body is hostile
    webhook_id = str(uuid.uuid4())
    headers = shopify_headers(body, platform.credentials["OCP_CHANNEL_SECRET_SHOPIFY"]) | {
        "X-Shopify-Webhook-Id": webhook_id}
    # When the channel posts it
    response = requests.post(f"{platform.base_url}/webhooks/shopify", data=body, headers=headers, timeout=15)
    # Then 400 with the reason, and the delivery is quarantined with it (archived, never lost)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "malformed_delivery"
    records = _quarantined(platform, webhook_id)  # Shopify's delivery id is its webhook id
    assert records and reason in records[0]["reason"]["S"], records
    assert records[0]["archive_key"]["S"].startswith("raw/shopify/")


def test_a_signed_delivery_over_10_mb_is_413_before_the_handler(platform: LocalPlatform) -> None:
    body = b'{"id": 1, "note": "' + b"x" * (11 * 1024 * 1024) + b'"}'
    headers = shopify_headers(body, platform.credentials["OCP_CHANNEL_SECRET_SHOPIFY"])
    response = requests.post(f"{platform.base_url}/webhooks/shopify", data=body, headers=headers, timeout=30)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


def test_honest_requests_stay_2xx(platform: LocalPlatform) -> None:
    api = {"x-api-key": platform.api_key, "x-ocp-actor": "hostile@shop.cn"}
    url = platform.base_url
    # a stock push with duplicate keys (the last wins, as JSON parsers do), with a charset, and without a type
    pushes = [
        (b'{"on_hand": 1, "on_hand": 4, "version": 1}', {"Content-Type": JSON}),
        (b'{"on_hand": 5, "version": 2}', {"Content-Type": "Application/JSON; charset=UTF-8"}),
        (b'{"on_hand": 6, "version": 3}', {}),
        (b'[' * 10 + b"]" * 10, {"Content-Type": JSON}),  # shallow nesting: an ordinary validation problem
    ]
    answers = [requests.put(f"{url}/inventory/WH-GZ/SKU-HONEST", data=body, headers=api | extra, timeout=15)
               for body, extra in pushes]
    assert [a.status_code for a in answers] == [200, 200, 200, 400], [a.text for a in answers]
    assert requests.get(f"{url}/inventory/SKU-HONEST", headers=api, timeout=15).json()["totals"]["on_hand"] == 6
    assert requests.get(f"{url}/openapi.json", timeout=15).status_code == 200
    assert requests.get(f"{url}/orders", params={"status": "held", "limit": 5}, headers=api, timeout=15).ok
