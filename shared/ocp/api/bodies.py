"""One place that reads request bodies, for every JSON handler and every channel: bad input is a 4xx with a reason.

- `check_depth`: refuses JSON nested deeper than `MAX_DEPTH` without recursing (`json.loads` would raise
  RecursionError a few thousand levels down): an iterative scan over the text that skips strings and escapes.
- `loads`: UTF-8 (or the encodings `json.loads` detects in bytes) → depth check → `json.loads`.
- `request_json_text`: an API Gateway proxy event's body as UTF-8 text, whichever way it came (a str, or
  base64 with `isBase64Encoded`), after its content type was checked; `RefusedBody` says why not (status, code).
- `decode_request_body`: the powertools middleware doing that (and refusing path parameters that hold control
  characters) for each request (`ocp.api.errors` registers it,
  ahead of powertools' request validation, and maps `RefusedBody` to the contract's error body).

Stdlib only (no boto3, no powertools): the channel adapters reuse `check_depth`/`loads`.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Mapping
from http import HTTPStatus
from typing import Any, TypeVar

from pydantic import BaseModel

from ocp.domain.errors import InvalidQuery

ModelT = TypeVar("ModelT", bound=BaseModel)

MAX_DEPTH = 64
"""The deepest JSON nesting any route or channel accepts (objects and arrays count one level each)."""

_JSON_MEDIA_TYPE = "application/json"
_UTF8 = {"utf-8", "utf8"}
# A string (escapes kept inside it; an unterminated one runs to the end) or a bracket. Unrolled so a long string
# is matched in one step of the C engine.
_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?|[\[\]{}]', re.DOTALL)
_OPENERS = frozenset("[{")


class JsonTooDeep(ValueError):
    def __init__(self, limit: int, offset: int) -> None:
        super().__init__(f"JSON nested deeper than {limit} levels (at character {offset})")
        self.limit = limit
        self.offset = offset


class RefusedBody(Exception):
    """A request body no handler should see; `ocp.api.errors` answers it with `status` and `code`."""

    def __init__(self, status: HTTPStatus, code: str, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details


def check_depth(text: str, limit: int = MAX_DEPTH) -> None:
    """Raise `JsonTooDeep` when `text` opens more than `limit` arrays/objects at once. Brackets inside strings
    do not count; unbalanced text is measured as written (it is malformed JSON, refused later by the parser)."""
    if text.count("[") + text.count("{") <= limit:
        return  # nearly every body: no scan needed
    depth = 0
    for token in _TOKEN.finditer(text):
        char = token.group()
        if char in _OPENERS:
            depth += 1
            if depth > limit:
                raise JsonTooDeep(limit, token.start())
        elif char in "]}":
            depth = max(depth - 1, 0)


def loads(data: str | bytes, limit: int = MAX_DEPTH) -> Any:
    """`json.loads` that refuses too-deep nesting (`JsonTooDeep`, a ValueError) instead of recursing into it.
    Bytes are decoded as `json.loads` would (UTF-8, or the UTF-16/32 it detects); UnicodeDecodeError when not."""
    text = data.decode(json.detect_encoding(data)) if isinstance(data, bytes) else data
    check_depth(text, limit)
    return json.loads(text)


def media_type(content_type: str | None) -> tuple[str, dict[str, str]]:
    """`"Application/JSON; charset=UTF-8"` → `("application/json", {"charset": "utf-8"})`."""
    if not content_type:
        return "", {}
    kind, *params = content_type.split(";")
    parsed = {}
    for param in params:
        name, _, value = param.partition("=")
        parsed[name.strip().lower()] = value.strip().strip('"').lower()
    return kind.strip().lower(), parsed


def is_json_content_type(content_type: str | None) -> bool:
    """Absent counts as JSON (clients that send none were always served JSON); a charset must be UTF-8."""
    if not content_type or not content_type.strip():
        return True
    kind, params = media_type(content_type)
    return kind == _JSON_MEDIA_TYPE and params.get("charset", "utf-8") in _UTF8


def header(headers: Mapping[str, Any] | None, name: str) -> str | None:
    wanted = name.lower()
    for key, value in (headers or {}).items():
        if key.lower() == wanted:
            return None if value is None else str(value)
    return None


def request_json_text(body: str | None, is_base64: bool | None, content_type: str | None) -> str | None:
    """The request's JSON text, checked (content type, UTF-8, depth) but not parsed; None when there is no body.
    Raises `RefusedBody`: 415 `unsupported_media_type`, 400 `invalid_encoding`, 400 `too_deep`, 400
    `invalid_number` (an integer beyond 64 bits, a number overflowing to infinity, NaN or Infinity)."""
    if not body:
        return None
    if not is_json_content_type(content_type):
        raise RefusedBody(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type",
                          "request bodies are JSON: send Content-Type: application/json (UTF-8)",
                          {"content_type": (content_type or "")[:200], "expected": _JSON_MEDIA_TYPE})
    text = _utf8_text(body, bool(is_base64))
    try:
        check_depth(text)
    except JsonTooDeep as exc:
        raise RefusedBody(HTTPStatus.BAD_REQUEST, "too_deep", f"the body is JSON nested deeper than {exc.limit} levels",
                          {"max_depth": exc.limit, "offset": exc.offset}) from None
    _check_numbers(text)
    return text


INT_RANGE = (-(2**63), 2**63 - 1)
"""JSON integers a route accepts: 64-bit, as money in fen, quantities and versions all are. Larger ones (and
floats that overflow to infinity, and NaN/Infinity, which are not JSON) are refused with 400 `invalid_number`:
they would otherwise reach a store that cannot hold them."""


def _check_numbers(text: str) -> None:
    """Refuse numbers out of range; text that does not parse is left to the route (400 `invalid_request`)."""
    try:
        json.loads(text, parse_int=_bounded_int, parse_float=_finite_float, parse_constant=_no_constant)
    except _InvalidNumber as exc:
        raise RefusedBody(HTTPStatus.BAD_REQUEST, "invalid_number", exc.reason, {"number": exc.text[:40]}) from None
    except ValueError:
        return


class _InvalidNumber(ValueError):
    def __init__(self, text: str, reason: str) -> None:
        super().__init__(reason)
        self.text = text
        self.reason = reason


def _bounded_int(text: str) -> int:
    digits = text.lstrip("-")
    low, high = INT_RANGE
    if len(digits) > 19 or not low <= (value := int(text)) <= high:
        raise _InvalidNumber(text, "integers in the body must fit in 64 bits")
    return value


def _finite_float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise _InvalidNumber(text, "a number in the body is too large")
    return value


def _no_constant(text: str) -> float:
    raise _InvalidNumber(text, f"{text} is not a JSON number")


def _utf8_text(body: str, is_base64: bool) -> str:
    try:
        if is_base64:
            return base64.b64decode(body, validate=True).decode("utf-8")
        body.encode("utf-8")  # a str from API Gateway is text already; lone surrogates are not
        return body
    except UnicodeError as exc:
        start = getattr(exc, "start", None)
        raise RefusedBody(HTTPStatus.BAD_REQUEST, "invalid_encoding", "the body is not valid UTF-8",
                          {"offset": start} if isinstance(start, int) else None) from None
    except (binascii.Error, ValueError):
        raise RefusedBody(HTTPStatus.BAD_REQUEST, "invalid_encoding",
                          "the body is marked base64 but does not decode") from None


_CHECKED = "_ocp_body_checked"


def decode_request_body(app: Any, next_middleware: Callable[[Any], Any]) -> Any:
    """Powertools middleware: check the body (`request_json_text`) and hand the rest of the chain — powertools'
    validation, the route, a handler reading `current_event.body` — plain UTF-8 text, never base64."""
    if not app.context.get(_CHECKED):
        _decode_event(app.current_event.raw_event)
        app.append_context(**{_CHECKED: True})
    return next_middleware(app)


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _decode_event(event: dict[str, Any]) -> None:
    for name, value in (event.get("pathParameters") or {}).items():
        if isinstance(value, str) and _CONTROL.search(value):
            raise RefusedBody(HTTPStatus.BAD_REQUEST, "invalid_path_parameter",
                              f"{name} holds a control character (NUL, newline…)", {"field": name})
    content_type = header(event.get("headers"), "content-type")
    text = request_json_text(event.get("body"), event.get("isBase64Encoded"), content_type)
    if text is not None:
        event["body"], event["isBase64Encoded"] = text, False
    if content_type and text is not None and not content_type.startswith(_JSON_MEDIA_TYPE):
        # `Application/JSON`, ` application/json`: JSON all the same; powertools matches the lower-case prefix.
        for field in ("headers", "multiValueHeaders"):
            for key in list(event.get(field) or {}):
                if key.lower() == "content-type":
                    event[field][key] = [_JSON_MEDIA_TYPE] if field == "multiValueHeaders" else _JSON_MEDIA_TYPE


Middleware = Callable[[Any, Callable[[Any], Any]], Any]


def decoding_first(validation: Middleware) -> Middleware:
    """Powertools runs its request validation (which parses the body) before every `app.use` middleware; this
    wraps the validation so the body is checked first."""

    def decode_then_validate(app: Any, next_middleware: Callable[[Any], Any]) -> Any:
        return decode_request_body(app, lambda checked: validation(checked, next_middleware))

    return decode_then_validate


def optional_body(raw: str | None, model: type[ModelT], refusal: str, field: str) -> ModelT | None:
    """An action's optional JSON body: None when empty, else `model`, or a 400 saying what the body may hold."""
    if not raw or not raw.strip():
        return None
    try:
        return model.model_validate(json.loads(raw))
    except ValueError:  # JSON errors and pydantic's ValidationError alike
        raise InvalidQuery(refusal, details={"field": field}) from None
