"""The one body decoder (`ocp.api.bodies`): the iterative depth check, UTF-8 either way API Gateway passes a body,
the content type, and the middleware's place ahead of powertools' request validation."""

from __future__ import annotations

import base64
import json
from http import HTTPStatus
from typing import Annotated, Any

import pytest
from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.event_handler.openapi.params import Body
from pydantic import BaseModel, Field

from ocp.api import bodies
from ocp.api.bodies import optional_body
from ocp.api.errors import register_error_handlers
from ocp.channels.base import parse_json, parse_json_object
from ocp.domain.errors import InvalidQuery, MalformedDelivery
from tests.support import FakeContext, api_event


def _nested(depth: int, inner: str = "1") -> str:
    return "[" * depth + inner + "]" * depth


# ---- check_depth ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    _nested(64), '{"a":' * 64 + "1" + "}" * 64, '"' + "[" * 10_000 + '"', '["\\"[[[[[[[[[[", ' + "[]," * 1000 + "1]",
    "", "not json at all", "]]]]" + _nested(3),
])
def test_depth_within_the_limit_passes(text: str) -> None:
    bodies.check_depth(text)


@pytest.mark.parametrize("text", [
    _nested(65), _nested(5_000), "[" * 100_000, '{"a":' * 65 + "1" + "}" * 65, '["\\\\"' + ",[" * 70,
    '{"k": "\\"}", "x": ' + _nested(65) + "}",
])
def test_depth_beyond_the_limit_is_refused_without_recursion(text: str) -> None:
    with pytest.raises(bodies.JsonTooDeep):
        bodies.check_depth(text)


def test_the_limit_is_a_parameter_and_the_error_says_where() -> None:
    with pytest.raises(bodies.JsonTooDeep) as refused:
        bodies.check_depth(' [[[1]]]', limit=2)
    assert (refused.value.limit, refused.value.offset) == (2, 3)


def test_a_large_flat_body_is_scanned_quickly() -> None:
    bodies.check_depth("[" + ",".join(['{"sku": "A[1]", "n": [1, 2]}'] * 100_000) + "]")


def test_loads_decodes_bytes_checks_depth_and_parses() -> None:
    assert bodies.loads(b'{"a": [1]}') == {"a": [1]}
    assert bodies.loads('{"a": "\u4e2d"}'.encode("utf-16")) == {"a": "\u4e2d"}
    with pytest.raises(bodies.JsonTooDeep):
        bodies.loads(_nested(10_000).encode())
    with pytest.raises(UnicodeDecodeError):
        bodies.loads(b'{"a": "\xff"}')


# ---- request_json_text ---------------------------------------------------------------------------------------

def _refusal(body: str | None, is_base64: bool = False, content_type: str | None = None) -> tuple[int, str]:
    with pytest.raises(bodies.RefusedBody) as refused:
        bodies.request_json_text(body, is_base64, content_type)
    return int(refused.value.status), refused.value.code


def test_a_str_and_a_base64_body_decode_the_same() -> None:
    text = '{"name": "\u6d4b\u8bd5"}'
    as_base64 = base64.b64encode(text.encode()).decode()
    assert bodies.request_json_text(text, False, None) == text
    assert bodies.request_json_text(as_base64, True, "application/json") == text


@pytest.mark.parametrize("content_type", [None, "", "application/json", "Application/JSON; charset=UTF-8",
                                          "application/json;charset=utf8"])
def test_json_or_absent_content_types_pass(content_type: str | None) -> None:
    assert bodies.request_json_text("{}", False, content_type) == "{}"


def test_no_body_is_none_whatever_the_content_type() -> None:
    assert bodies.request_json_text(None, False, "text/plain") is None
    assert bodies.request_json_text("", True, "multipart/form-data") is None


@pytest.mark.parametrize("content_type", ["text/plain", "multipart/form-data", "multipart/form-data; boundary=x",
                                          "application/x-www-form-urlencoded", "application/json; charset=latin-1",
                                          "application/xml"])
def test_other_content_types_are_415(content_type: str) -> None:
    assert _refusal("{}", content_type=content_type) == (415, "unsupported_media_type")


def test_invalid_utf8_is_400_invalid_encoding_both_ways() -> None:
    raw = b'{"name": "\xff\xfe"}'
    assert _refusal(base64.b64encode(raw).decode(), is_base64=True) == (400, "invalid_encoding")
    assert _refusal('{"name": "\ud800"}') == (400, "invalid_encoding")
    assert _refusal("not base64!", is_base64=True) == (400, "invalid_encoding")


def test_too_deep_is_400_too_deep() -> None:
    assert _refusal(_nested(5_000)) == (400, "too_deep")
    assert _refusal(base64.b64encode(_nested(65).encode()).decode(), is_base64=True) == (400, "too_deep")


# ---- the middleware in a resolver, as every JSON handler registers it ----------------------------------------

def _app() -> APIGatewayRestResolver:
    app = APIGatewayRestResolver(enable_validation=True)
    register_error_handlers(app)

    @app.put("/things/<thing>")
    def put_thing(thing: str, document: Annotated[dict[str, Any], Body()]) -> dict[str, Any]:
        return {"thing": thing, "keys": sorted(document)}

    @app.post("/things/<thing>/note")
    def note(thing: str) -> dict[str, Any]:  # reads the raw body itself, like the operator actions' notes
        raw = app.current_event.body
        return {"note": json.loads(raw)["note"] if raw else None}

    return app


def _call(app: APIGatewayRestResolver, method: str, path: str, body: str | None, *, is_base64: bool = False,
          content_type: str | None = "application/json") -> tuple[int, dict[str, Any]]:
    resource = "/things/{thing}/note" if path.endswith("/note") else "/things/{thing}"
    event = api_event(method, resource, path, body=body,
                      headers={"Content-Type": content_type} if content_type else {},
                      path_params={"thing": path.split("/")[2]})
    event["isBase64Encoded"] = is_base64
    result = app.resolve(event, FakeContext())
    return result["statusCode"], json.loads(result["body"])


@pytest.mark.parametrize("path", ["/things/a", "/things/a/note"])
def test_the_decoder_runs_before_powertools_validation_and_before_the_route(path: str) -> None:
    app = _app()
    method = "POST" if path.endswith("note") else "PUT"
    status, answer = _call(app, method, path, _nested(5_000))
    assert (status, answer["error"]["code"]) == (400, "too_deep")
    assert answer["error"]["details"]["max_depth"] == bodies.MAX_DEPTH
    status, answer = _call(app, method, path, base64.b64encode(b'{"note": "\xff"}').decode(), is_base64=True)
    assert (status, answer["error"]["code"]) == (400, "invalid_encoding")
    status, answer = _call(app, method, path, "{}", content_type="multipart/form-data")
    assert (status, answer["error"]["code"]) == (415, "unsupported_media_type")


def test_a_base64_body_reaches_validation_and_routes_as_text() -> None:
    app = _app()
    encoded = base64.b64encode('{"note": "\u5230\u4e86", "b": 1}'.encode()).decode()
    assert _call(app, "PUT", "/things/a", encoded, is_base64=True) == (200, {"thing": "a", "keys": ["b", "note"]})
    assert _call(app, "POST", "/things/a/note", encoded, is_base64=True) == (200, {"note": "\u5230\u4e86"})
    assert _call(app, "PUT", "/things/a", '{"x": 1}', content_type="Application/JSON") == (
        200, {"thing": "a", "keys": ["x"]})
    assert _call(app, "PUT", "/things/a", '{"x": 1}', content_type=None) == (200, {"thing": "a", "keys": ["x"]})


def test_malformed_json_stays_400_invalid_request() -> None:
    status, answer = _call(_app(), "PUT", "/things/a", '{"x": ')
    assert (status, answer["error"]["code"]) == (HTTPStatus.BAD_REQUEST, "invalid_request")


# ---- channels: the same depth check ---------------------------------------------------------------------------

@pytest.mark.parametrize("parse", [parse_json, parse_json_object])
def test_channel_parsing_refuses_deep_and_undecodable_bodies_as_malformed(parse: Any) -> None:
    with pytest.raises(MalformedDelivery, match="nested deeper than 64"):
        parse(_nested(5_000).encode())
    with pytest.raises(MalformedDelivery, match="not JSON"):
        parse(b'{"a": "\xff"}')


# ---- numbers --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text", ['{"a": 1e400}', '{"a": -1e400}', '[NaN]', '{"a": Infinity}', f'[{2**63}]',
                                  f'[{-(2**63) - 1}]', '[' + "9" * 5_000 + ']'])
def test_numbers_no_store_can_hold_are_400_invalid_number(text: str) -> None:
    assert _refusal(text) == (400, "invalid_number")


@pytest.mark.parametrize("text", [f'[{2**63 - 1}, {-(2**63)}, 1.5e300, -0.0, 0]', '{"a": "1e400 NaN"}', '{"a": '])
def test_numbers_in_range_and_unparseable_text_pass_the_decoder(text: str) -> None:
    assert bodies.request_json_text(text, False, None) == text


def test_a_path_parameter_with_a_control_character_is_400() -> None:
    event = api_event("PUT", "/things/{thing}", "/things/a%00b", body="{}", path_params={"thing": "a\x00b"})
    result = _app().resolve(event, FakeContext())
    assert (result["statusCode"], json.loads(result["body"])["error"]["code"]) == (400, "invalid_path_parameter")


class _Note(BaseModel):
    note: str | None = Field(default=None, max_length=5)


@pytest.mark.parametrize("raw", [None, "", "  \n"])
def test_an_empty_optional_body_is_none(raw: str | None) -> None:
    assert optional_body(raw, _Note, "refused", "note") is None


def test_an_optional_body_is_read_into_its_model() -> None:
    assert optional_body('{"note": "ok"}', _Note, "refused", "note") == _Note(note="ok")


@pytest.mark.parametrize("raw", ["{not json", '{"note": "too long"}', "[1]"])
def test_an_optional_body_that_is_not_its_model_is_a_400_naming_the_field(raw: str) -> None:
    with pytest.raises(InvalidQuery) as refused:
        optional_body(raw, _Note, "the body is optional", "note")
    assert (str(refused.value), refused.value.details) == ("the body is optional", {"field": "note"})
