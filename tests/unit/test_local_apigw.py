"""The local API Gateway without servers: route matching, HTTP → proxy event, proxy result → HTTP."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from aws_lambda_powertools.utilities.parser.models import APIGatewayProxyEventModel

from infra import wiring
from infra.local import apigw
from infra.local.http_front import ApiGateway
from ocp.domain.access.principals import Principal

ROUTES = (
    wiring.Route("POST", "/webhooks/{channel}", "hook", wiring.PUBLIC),
    wiring.Route("GET", "/orders", "api", wiring.LOOKUP),
    wiring.Route("GET", "/orders/{order_id}", "api", wiring.LOOKUP),
    wiring.Route("GET", "/orders/stuck", "api", wiring.LOOKUP),
    wiring.Route("GET", "/files/{path+}", "api", wiring.LOOKUP),
    wiring.Route("PUT", "/rules/{kind}", "api", wiring.OPERATOR),
)
FUNCTIONS = (
    wiring.Function(id="hook", handler="x.hook.handler.lambda_handler", description=""),
    wiring.Function(id="api", handler="x.api.handler.lambda_handler", description=""),
    wiring.Function(id="authorizer", handler="functions.authorizer.handler.lambda_handler", description=""),
)
PRINCIPALS = {"k": Principal(name="reader", scopes=("read",), created_at="2026-01-01T00:00:00Z")}


def _match(method: str, path: str) -> apigw.RouteMatch | None:
    return apigw.RouteTable(ROUTES).match(method, path)


# ---- route matching ----------------------------------------------------------------------------------

def test_a_path_parameter_is_captured_by_name() -> None:
    # Given / When
    match = _match("GET", "/orders/shopify-123")
    # Then
    assert match is not None
    assert match.route.path == "/orders/{order_id}"
    assert match.path_parameters == {"order_id": "shopify-123"}


def test_a_literal_segment_wins_over_a_parameter() -> None:
    # Given routes `/orders/stuck` and `/orders/{order_id}` / When
    match = _match("GET", "/orders/stuck")
    # Then
    assert match is not None and match.route.path == "/orders/stuck"
    assert match.path_parameters == {}


@pytest.mark.parametrize(("method", "path"), [
    ("POST", "/orders"),  # declared path, undeclared method
    ("GET", "/orders/1/2"),
    ("GET", "/orders/"),
    ("GET", "/"),
    ("GET", "/webhooks/shopify"),
])
def test_unmatched_method_or_path_has_no_route(method: str, path: str) -> None:
    # Given the routes above / When / Then
    assert _match(method, path) is None


def test_path_parameters_are_decoded_and_an_encoded_slash_stays_in_its_segment() -> None:
    # Given / When
    match = _match("GET", "/orders/a%2Fb%20c")
    # Then
    assert match is not None and match.path_parameters == {"order_id": "a/b c"}


def test_a_greedy_parameter_takes_the_rest_of_the_path() -> None:
    # Given `/files/{path+}` / When
    match = _match("GET", "/files/raw/shopify/x.json")
    # Then
    assert match is not None and match.path_parameters == {"path": "raw/shopify/x.json"}


def test_every_wiring_route_matches_its_own_template() -> None:
    # Given the real routes, with each `{param}` filled in
    table = apigw.RouteTable(wiring.ROUTES)
    for route in wiring.ROUTES:
        path = route.path.replace("{", "").replace("}", "")
        # When / Then
        match = table.match(route.method, path)
        assert match is not None and match.route == route


# ---- HTTP → API Gateway proxy event ------------------------------------------------------------------

def _request(**overrides: Any) -> apigw.HttpRequest:
    values: dict[str, Any] = {
        "method": "POST",
        "path": "/webhooks/shopify",
        "query": "a=1&b=x%20y&a=2",
        "headers": [("Host", "127.0.0.1:3000"), ("X-Shopify-Topic", "orders/create"),
                    ("Accept", "text/plain"), ("Accept", "application/json"), ("User-Agent", "curl/8")],
        "body": '{"id": 1, "note": "送货"}'.encode(),
        "source_ip": "10.1.2.3",
    }
    return apigw.HttpRequest(**{**values, **overrides})


def _event(request: apigw.HttpRequest) -> dict[str, Any]:
    match = apigw.RouteTable(ROUTES).match(request.method, request.path)
    assert match is not None
    return apigw.build_event(request, match, now=1_795_000_000.25)


def test_event_has_the_rest_api_proxy_shape() -> None:
    # Given / When
    event = _event(_request())
    # Then it is what API Gateway sends, down to the powertools model of it
    APIGatewayProxyEventModel.model_validate(event)
    assert event["resource"] == "/webhooks/{channel}"
    assert event["path"] == "/webhooks/shopify"
    assert event["httpMethod"] == "POST"
    assert event["pathParameters"] == {"channel": "shopify"}
    assert event["stageVariables"] is None
    assert event["body"] == '{"id": 1, "note": "送货"}'
    assert event["isBase64Encoded"] is False


def test_repeated_headers_and_query_parameters_keep_the_last_single_value() -> None:
    # Given a request repeating `Accept` and `a` / When
    event = _event(_request())
    # Then
    assert event["headers"]["Accept"] == "application/json"
    assert event["multiValueHeaders"]["Accept"] == ["text/plain", "application/json"]
    assert event["queryStringParameters"] == {"a": "2", "b": "x y"}
    assert event["multiValueQueryStringParameters"] == {"a": ["1", "2"], "b": ["x y"]}


def test_request_context_names_the_resource_stage_and_caller() -> None:
    # Given / When
    context = _event(_request())["requestContext"]
    # Then
    assert context["resourcePath"] == "/webhooks/{channel}"
    assert context["httpMethod"] == "POST"
    assert context["path"] == "/local/webhooks/shopify"
    assert context["stage"] == "local"
    assert context["identity"]["sourceIp"] == "10.1.2.3"
    assert context["identity"]["userAgent"] == "curl/8"
    assert context["requestTimeEpoch"] == 1_795_000_000_250
    assert len(context["requestId"]) == 36


def test_absent_query_path_parameters_and_body_are_null() -> None:
    # Given a bare GET
    request = _request(method="GET", path="/orders", query="", body=b"")
    # When
    event = _event(request)
    # Then
    assert event["queryStringParameters"] is None
    assert event["multiValueQueryStringParameters"] is None
    assert event["pathParameters"] is None
    assert event["body"] is None


def test_a_body_that_is_not_utf8_travels_base64() -> None:
    # Given
    raw = b"\xff\xfe binary"
    # When
    event = _event(_request(body=raw))
    # Then
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == raw


# ---- API key -----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("method", "path", "headers", "status", "code"), [
    ("GET", "/orders", [], 401, "missing_api_key"),
    ("GET", "/orders", [("x-api-key", "nope")], 403, "invalid_api_key"),
    ("PUT", "/rules/routing", [("X-API-Key", "k")], 403, "forbidden"),
])
def test_a_keyed_route_refuses_a_missing_or_unknown_key_and_a_scope_it_lacks(
    method: str, path: str, headers: list[tuple[str, str]], status: int, code: str
) -> None:
    # Given a `read` principal behind key "k"
    invoker = _Recorder()
    # When
    denied = _gateway(invoker).handle(apigw.HttpRequest(method, path, headers=headers))
    # Then the answer has API.md's error shape and the route's function never ran
    assert denied.status == status
    error = json.loads(denied.body)["error"]
    assert error["code"] == code and error["message"]
    assert [f for f, _ in invoker.calls if f != "authorizer"] == []
    if code == "forbidden":
        assert error["details"] == {"principal": "reader", "scopes": ["read"], "needs": ["operator"]}


def test_the_key_header_name_is_case_insensitive_and_the_integration_gets_the_authorizer_context() -> None:
    # Given a key sent as `X-API-Key`
    invoker = _Recorder({"statusCode": 200, "body": "{}"})
    # When
    response = _gateway(invoker).handle(apigw.HttpRequest("GET", "/orders/o-1", headers=[("X-API-Key", "k")]))
    public = _gateway(invoker).handle(apigw.HttpRequest("POST", "/webhooks/x"))
    # Then
    assert (response.status, public.status) == (200, 200)
    [authorizer, (_, event), (_, webhook)] = invoker.calls
    assert authorizer[0] == "authorizer" and authorizer[1]["methodArn"].endswith("/local/GET/orders/o-1")
    assert event["requestContext"]["authorizer"] == {"principal": "reader", "scopes": "read",
                                                     "error_code": "forbidden", "principalId": "reader"}
    assert "authorizer" not in webhook["requestContext"]
    assert event["requestContext"]["identity"]["apiKey"] is None  # the throttle key (none here), never the secret


# ---- proxy result → HTTP -----------------------------------------------------------------------------

def test_multi_value_headers_win_and_base64_bodies_are_decoded() -> None:
    # Given a result that sets a header in both maps and a base64 body
    result = {
        "statusCode": 201,
        "headers": {"Content-Type": "text/plain", "X-One": "1", "Content-Length": "999"},
        "multiValueHeaders": {"content-type": ["application/json"], "Set-Cookie": ["a=1", "b=2"]},
        "body": base64.b64encode(b'{"ok":true}').decode(),
        "isBase64Encoded": True,
    }
    # When
    response = apigw.to_http_response(result)
    # Then
    assert response.status == 201
    assert response.body == b'{"ok":true}'
    assert sorted(response.headers) == [
        ("Set-Cookie", "a=1"), ("Set-Cookie", "b=2"), ("X-One", "1"), ("content-type", "application/json"),
    ]


@pytest.mark.parametrize("result", [None, {"body": "x"}, {"statusCode": "200"}, {"statusCode": 200, "body": {}}])
def test_a_malformed_result_is_rejected(result: Any) -> None:
    # Given a result API Gateway could not use / When / Then
    with pytest.raises(apigw.MalformedProxyResponse):
        apigw.to_http_response(result)


# ---- the gateway as a whole, with a fake invoker -----------------------------------------------------

class _Recorder:
    """The routed functions answer `result` (or raise `error`); the authorizer is the real policy builder over
    `PRINCIPALS` (its key store is the only part left out)."""

    def __init__(self, result: Any = None, error: Exception | None = None) -> None:
        self.result, self.error = result, error
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, function: wiring.Function, event: dict[str, Any]) -> Any:
        self.calls.append((function.id, event))
        if function.id == "authorizer":
            return _authorize(event)
        if self.error:
            raise self.error
        return self.result


def _authorize(event: dict[str, Any]) -> dict[str, Any]:
    from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import (
        APIGatewayAuthorizerRequestEvent,
    )

    from functions.authorizer.handler import policy_for
    request = APIGatewayAuthorizerRequestEvent(event)
    return policy_for(request, PRINCIPALS.get(request.headers.get("x-api-key") or ""))


@pytest.fixture(autouse=True)
def _route_scopes(monkeypatch: pytest.MonkeyPatch) -> Any:
    from functions.authorizer import handler
    monkeypatch.setenv("ROUTE_SCOPES", wiring.route_scopes_env(ROUTES))
    monkeypatch.setenv("PRINCIPALS_TABLE", "unused")
    handler._route_rules.cache_clear()
    yield
    handler._route_rules.cache_clear()


def _gateway(invoker: _Recorder) -> ApiGateway:
    return ApiGateway(ROUTES, FUNCTIONS, invoke=invoker)


def test_gateway_invokes_the_routed_function_and_relays_its_answer() -> None:
    # Given a function that answers 200
    invoker = _Recorder({"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": "{}"})
    # When a keyed request arrives
    response = _gateway(invoker).handle(apigw.HttpRequest("GET", "/orders/o-1", headers=[("x-api-key", "k")]))
    # Then
    assert (response.status, response.body) == (200, b"{}")
    [_, (function_id, event)] = invoker.calls
    assert function_id == "api" and event["pathParameters"] == {"order_id": "o-1"}


def test_gateway_answers_404_route_not_found_without_invoking() -> None:
    # Given
    invoker = _Recorder()
    # When
    response = _gateway(invoker).handle(apigw.HttpRequest("GET", "/nowhere"))
    # Then
    assert response.status == 404
    assert json.loads(response.body)["error"]["code"] == "route_not_found"
    assert invoker.calls == []


@pytest.mark.parametrize(("method", "path", "allow"), [
    ("TRACE", "/orders/o-1", "GET"), ("OPTIONS", "/webhooks/shopify", "POST"), ("DELETE", "/orders", "GET"),
    ("POST", "/orders/stuck", "GET"),
])
def test_gateway_answers_405_with_allow_for_a_method_no_route_declares(method: str, path: str, allow: str) -> None:
    invoker = _Recorder()
    response = _gateway(invoker).handle(apigw.HttpRequest(method, path, headers=[("x-api-key", "k")]))
    assert response.status == 405 and ("Allow", allow) in response.headers
    assert json.loads(response.body)["error"]["code"] == "method_not_allowed"
    assert invoker.calls == []


def test_gateway_answers_413_for_a_body_over_10_mb_before_anything_else() -> None:
    invoker = _Recorder()
    body = b"x" * (apigw.MAX_BODY_BYTES + 1)
    response = _gateway(invoker).handle(apigw.HttpRequest("POST", "/webhooks/shopify", body=body))
    assert response.status == 413 and json.loads(response.body)["error"]["code"] == "payload_too_large"
    assert invoker.calls == []
    _gateway(invoker).handle(apigw.HttpRequest("POST", "/webhooks/shopify", body=body[:-1]))
    assert len(invoker.calls) == 1  # exactly 10 MB passes


def test_gateway_refuses_a_missing_key_without_invoking() -> None:
    # Given
    invoker = _Recorder()
    # When
    response = _gateway(invoker).handle(apigw.HttpRequest("GET", "/orders"))
    # Then
    assert response.status == 401 and invoker.calls == []


@pytest.mark.parametrize(("invoker", "code"), [
    (_Recorder(error=RuntimeError("boom")), "handler_error"),
    (_Recorder(result={"no": "statusCode"}), "malformed_lambda_response"),
])
def test_a_handler_failure_is_a_502_never_a_200(invoker: _Recorder, code: str) -> None:
    # Given a function that raises or answers nonsense / When
    response = _gateway(invoker).handle(apigw.HttpRequest("POST", "/webhooks/shopify", body=b"{}"))
    # Then
    assert response.status == 502
    assert json.loads(response.body)["error"]["code"] == code
