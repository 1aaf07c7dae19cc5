"""`ocp keys`'s HTTP call (`infra/keys.py`): the demo's HTTP helper underneath (no proxy for the local API), the
contract error shown, and a refusal that is not one (a proxy's or a gateway's HTML page) reported, not a crash."""

from __future__ import annotations

import io
import json
import urllib.error
import urllib.request
from email.message import Message
from typing import Any

import pytest

from infra import keys
from infra.local import demo


class _Opener:
    def __init__(self, failure: Exception) -> None:
        self.failure = failure
        self.requests: list[urllib.request.Request] = []

    def open(self, request: urllib.request.Request, timeout: float) -> Any:
        self.requests.append(request)
        raise self.failure


def _refused(status: int, body: bytes) -> urllib.error.HTTPError:
    return urllib.error.HTTPError("http://127.0.0.1:3000/principals", status, "refused", Message(), io.BytesIO(body))


def _use(monkeypatch: pytest.MonkeyPatch, opener: _Opener) -> list[str]:
    asked: list[str] = []

    def opener_for(url: str) -> _Opener:
        asked.append(url)
        return opener

    monkeypatch.setattr(demo, "_opener", opener_for)
    return asked


def test_a_contract_error_is_shown_with_its_code(monkeypatch: pytest.MonkeyPatch) -> None:
    body = json.dumps({"error": {"code": "principal_not_found", "message": "no principal ci"}}).encode()
    opener = _Opener(_refused(404, body))
    asked = _use(monkeypatch, opener)
    with pytest.raises(keys.KeysError, match=r"^404 principal_not_found: no principal ci$"):
        keys.call("http://127.0.0.1:3000/", "k", "DELETE", "/principals/ci")
    # through the demo's helper (its opener skips proxies for 127.0.0.1), with the key
    assert asked == ["http://127.0.0.1:3000/principals/ci"]
    assert opener.requests[0].get_header("X-api-key") == "k"


def test_a_refusal_that_is_not_json_is_reported_not_a_crash(monkeypatch: pytest.MonkeyPatch) -> None:
    _use(monkeypatch, _Opener(_refused(502, b"<html><body>Bad Gateway</body></html>")))
    with pytest.raises(keys.KeysError, match=r"^502: the answer is not an API error$"):
        keys.call("http://127.0.0.1:3000", "k", "GET", "/principals")


def test_an_unreachable_api_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    _use(monkeypatch, _Opener(urllib.error.URLError(ConnectionRefusedError(111, "Connection refused"))))
    with pytest.raises(keys.KeysError, match=r"^cannot reach http://127.0.0.1:3000: .*Connection refused"):
        keys.call("http://127.0.0.1:3000", "k", "GET", "/principals")
