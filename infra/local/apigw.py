"""API Gateway (REST, v1) in miniature: route matching, the proxy event, and the proxy response.

Pure functions over plain values, so they are tested without a server. Behaviour follows API Gateway's
Lambda proxy integration: literal path segments win over `{param}` and `{param+}`; `path` keeps the
client's percent-encoding while `pathParameters` and query parameters are decoded; `headers` and
`queryStringParameters` hold the last value of a repeated name, the `multiValue*` fields hold them all;
a body that is not UTF-8 is passed base64-encoded with `isBase64Encoded: true`.
"""

from __future__ import annotations

import base64
import json
import re
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, unquote

from infra import wiring
from infra.local import config
from ocp.domain.access.routes import policy_allows


@dataclass(frozen=True)
class HttpRequest:
    method: str
    path: str
    """As on the request line, percent-encoding kept, without the query string."""
    query: str = ""
    headers: Sequence[tuple[str, str]] = ()
    body: bytes = b""
    source_ip: str = "127.0.0.1"

    def header(self, name: str) -> str | None:
        values = [v for k, v in self.headers if k.lower() == name.lower()]
        return values[-1] if values else None


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""


@dataclass(frozen=True)
class RouteMatch:
    route: wiring.Route
    path_parameters: dict[str, str]


@dataclass(frozen=True)
class _Segment:
    text: str
    """The literal text, or the parameter name."""
    rank: int
    """0 literal, 1 `{param}`, 2 greedy `{param+}`: lower is more specific."""


class _CompiledRoute:
    _PARAM = re.compile(r"^\{([A-Za-z0-9_.-]+)(\+?)\}$")

    def __init__(self, route: wiring.Route) -> None:
        self.route = route
        self.segments = [self._segment(s) for s in _split(route.path)]
        self.rank = tuple(s.rank for s in self.segments)

    @classmethod
    def _segment(cls, text: str) -> _Segment:
        param = cls._PARAM.match(text)
        if param is None:
            return _Segment(text, 0)
        return _Segment(param.group(1), 2 if param.group(2) else 1)

    def match(self, raw_path: str) -> dict[str, str] | None:
        parts, params = _split(raw_path), {}
        for i, segment in enumerate(self.segments):
            if segment.rank == 2:
                rest = "/".join(parts[i:])
                if not rest:
                    return None
                params[segment.text] = unquote(rest)
                return params
            if i >= len(parts) or not parts[i]:
                return None
            if segment.rank == 0 and unquote(parts[i]) != segment.text:
                return None
            if segment.rank == 1:
                params[segment.text] = unquote(parts[i])
        return params if len(parts) == len(self.segments) else None


def _split(path: str) -> list[str]:
    """`/orders/1` → `["orders", "1"]`; `/` → `[]`. Segments stay percent-encoded."""
    return path[1:].split("/") if path not in ("", "/") else []


class RouteTable:
    def __init__(self, routes: Iterable[wiring.Route]) -> None:
        self._routes = [_CompiledRoute(route) for route in routes]

    def allowed_methods(self, raw_path: str) -> list[str]:
        """The methods some route declares for the path (sorted); empty when no route has the path at all."""
        return sorted({c.route.method for c in self._routes if c.match(raw_path) is not None})

    def match(self, method: str, raw_path: str) -> RouteMatch | None:
        """The most specific route for the method and path (literal > `{param}` > `{param+}`), or None."""
        candidates = []
        for compiled in self._routes:
            if compiled.route.method != method.upper():
                continue
            params = compiled.match(raw_path)
            if params is not None:
                candidates.append((compiled.rank, compiled.route, params))
        if not candidates:
            return None
        _, route, params = min(candidates, key=lambda c: c[0])
        return RouteMatch(route=route, path_parameters=params)


MAX_BODY_BYTES = 10 * 1024 * 1024
"""API Gateway refuses a larger request body with 413 before any integration runs."""


def error_response(status: int, code: str, message: str, details: Any = None,
                   headers: Sequence[tuple[str, str]] = ()) -> HttpResponse:
    """API.md's error body: `{"error": {"code", "message", "details"?}}`."""
    error: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        error["details"] = details
    body = json.dumps({"error": error}).encode()
    return HttpResponse(status=status, headers=[("Content-Type", "application/json"), *headers], body=body)


def check_request(request: HttpRequest, routes: RouteTable) -> HttpResponse | RouteMatch:
    """What API Gateway refuses before any integration: a body over 10 MB (413), a path no route has (404), a
    method no route declares on a path that has routes (405, with `Allow`). Else the matched route."""
    if len(request.body) > MAX_BODY_BYTES:
        return error_response(413, "payload_too_large", f"request bodies are at most {MAX_BODY_BYTES} bytes",
                              {"max_bytes": MAX_BODY_BYTES})
    match = routes.match(request.method, request.path)
    if match is not None:
        return match
    allowed = routes.allowed_methods(request.path)
    if not allowed:
        return error_response(404, "route_not_found", f"no route for {request.method} {request.path}")
    return error_response(405, "method_not_allowed", f"{request.path} does not take {request.method}",
                          {"allowed": allowed}, headers=[("Allow", ", ".join(allowed))])


AUTHORIZER_FUNCTION = "authorizer"
"""The REQUEST authorizer every keyed route has in AWS (`infra/wiring.py`); called in-process here."""


def method_arn(request: HttpRequest) -> str:
    """The ARN API Gateway evaluates the authorizer's policy against: `<api>/<stage>/<METHOD>/<path>`."""
    return (f"arn:aws:execute-api:{config.REGION}:{config.ACCOUNT_ID}:local/{config.STAGE}/"
            f"{request.method.upper()}{request.path}")


def authorizer_event(request: HttpRequest, match: RouteMatch) -> dict[str, Any] | None:
    """The REQUEST authorizer event for a keyed route, None for a public one. Without an `x-api-key` API Gateway
    answers 401 itself (the identity source is missing) and never calls the authorizer: see `authorize`."""
    if not match.route.api_key_required:
        return None
    event = build_event(request, match)
    return {"type": "REQUEST", "methodArn": method_arn(request),
            **{k: event[k] for k in ("resource", "path", "httpMethod", "headers", "multiValueHeaders",
                                     "queryStringParameters", "multiValueQueryStringParameters",
                                     "pathParameters", "stageVariables", "requestContext")}}


def missing_key(route: wiring.Route, request: HttpRequest) -> HttpResponse | None:
    if route.api_key_required and not request.header("x-api-key"):
        return error_response(401, "missing_api_key", "this route needs an x-api-key header")
    return None


def enforce(route: wiring.Route, request: HttpRequest, answer: dict[str, Any]) -> HttpResponse | dict[str, Any]:
    """Evaluate the authorizer's policy as API Gateway does: the 403 when it does not allow this request, else
    the `requestContext.authorizer` the integration receives (its context plus `principalId`)."""
    context = dict(answer.get("context") or {})
    if policy_allows(answer["policyDocument"]["Statement"], method_arn(request)):
        return {**context, "principalId": answer["principalId"]}
    if context.get("error_code") != "forbidden":
        return error_response(403, "invalid_api_key", "the x-api-key header does not name a valid key")
    principal = context.get("principal", "")
    return error_response(
        403, "forbidden",
        f"principal {principal!r} may not call {route.method} {route.path}: it needs one of {', '.join(route.scopes)}",
        {"principal": principal, "scopes": str(context.get("scopes", "")).split(), "needs": list(route.scopes)},
    )


def build_event(request: HttpRequest, match: RouteMatch, now: float | None = None) -> dict[str, Any]:
    """The Lambda proxy event API Gateway would send for `request` on the matched route."""
    moment = time.time() if now is None else now
    body, is_base64 = _event_body(request.body)
    multi_query = _multi(parse_qsl(request.query, keep_blank_values=True))
    return {
        "resource": match.route.path,
        "path": request.path,
        "httpMethod": request.method.upper(),
        "headers": {name: values[-1] for name, values in _multi(request.headers).items()},
        "multiValueHeaders": _multi(request.headers),
        "queryStringParameters": {k: v[-1] for k, v in multi_query.items()} or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": match.path_parameters or None,
        "stageVariables": None,
        "requestContext": _request_context(request, match, moment),
        "body": body,
        "isBase64Encoded": is_base64,
    }


def _multi(pairs: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for name, value in pairs:
        grouped.setdefault(name, []).append(value)
    return grouped


def _event_body(raw: bytes) -> tuple[str | None, bool]:
    if not raw:
        return None, False
    try:
        return raw.decode("utf-8"), False
    except UnicodeDecodeError:
        return base64.b64encode(raw).decode("ascii"), True


def _request_context(request: HttpRequest, match: RouteMatch, moment: float) -> dict[str, Any]:
    return {
        "accountId": config.ACCOUNT_ID,
        "apiId": "local",
        "resourceId": "local",
        "resourcePath": match.route.path,
        "httpMethod": request.method.upper(),
        "path": f"/{config.STAGE}{request.path}",
        "stage": config.STAGE,
        "protocol": "HTTP/1.1",
        "domainName": request.header("host") or "127.0.0.1",
        "domainPrefix": "local",
        "requestId": str(uuid.uuid4()),
        "extendedRequestId": str(uuid.uuid4()),
        "requestTime": datetime.fromtimestamp(moment, UTC).strftime("%d/%b/%Y:%H:%M:%S +0000"),
        "requestTimeEpoch": int(moment * 1000),
        "identity": _identity(request, match.route),
    }


def _identity(request: HttpRequest, route: wiring.Route) -> dict[str, Any]:
    identity: dict[str, Any] = dict.fromkeys(
        ("accessKey", "accountId", "apiKeyId", "caller", "cognitoAuthenticationProvider",
         "cognitoAuthenticationType", "cognitoIdentityId", "cognitoIdentityPoolId", "principalOrgId",
         "user", "userArn", "clientCert"),
    )
    identity["sourceIp"] = request.source_ip
    identity["userAgent"] = request.header("user-agent")
    identity["apiKey"] = request.header("x-api-key") if route.api_key_required else None
    return identity


class MalformedProxyResponse(ValueError):
    """The handler returned something API Gateway would answer with 502 "Malformed Lambda proxy response"."""


def to_http_response(result: Any) -> HttpResponse:
    """The HTTP response API Gateway builds from a Lambda proxy result."""
    if not isinstance(result, dict) or not isinstance(result.get("statusCode"), int):
        raise MalformedProxyResponse(f"expected a dict with an int statusCode, got {type(result).__name__}")
    body = result.get("body")
    body = "" if body is None else body
    if not isinstance(body, str):
        raise MalformedProxyResponse(f"body must be a string, got {type(body).__name__}")
    raw = base64.b64decode(body) if result.get("isBase64Encoded") else body.encode("utf-8")
    return HttpResponse(status=result["statusCode"], headers=_merge_headers(result), body=raw)


_HOP_BY_HOP = {"content-length", "transfer-encoding", "connection", "keep-alive"}


def _merge_headers(result: dict[str, Any]) -> list[tuple[str, str]]:
    """`multiValueHeaders` win over `headers` for the same name, as API Gateway merges them."""
    multi: dict[str, list[Any]] = result.get("multiValueHeaders") or {}
    single: dict[str, Any] = result.get("headers") or {}
    multi_names = {name.lower() for name in multi}
    merged = [(name, str(value)) for name, values in multi.items() for value in values]
    merged += [(name, str(value)) for name, value in single.items() if name.lower() not in multi_names]
    return [(name, value) for name, value in merged if name.lower() not in _HOP_BY_HOP]
