"""A WMS that takes pushes, on 127.0.0.1 (stdlib `http.server`): records every request and answers from a script.

    with FakeHttpWms.serve(script=[503, 200], secret="s3cret") as wms:
        HttpWms(wms.url, secrets={"WH-GZ": "s3cret"}).send(instruction)
        wms.keys()  # ["<order_id>:1", "<order_id>:1"]

Given a `secret`, it verifies `X-OCP-Signature` as API.md tells a WMS to (its own HMAC, not OCP's code) and answers
401 to a request that is unsigned or signed with another secret, before the script is consulted.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    idempotency_key: str | None
    body: dict[str, Any]
    signature: str | None = None
    verified: bool = False
    """The signature is the HMAC-SHA256 of the exact body bytes with the fake's secret."""
    raw: bytes = b""
    """The body exactly as it arrived."""


def verify(secret: str, body: bytes, header: str | None) -> bool:
    """What API.md tells a WMS to do with `X-OCP-Signature`."""
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return header is not None and hmac.compare_digest(expected, header)


@dataclass
class FakeHttpWms:
    script: list[int] = field(default_factory=list)
    """Status codes for the next requests, in order; 200 once it runs out."""
    retry_after: str | None = None
    secret: str | None = None
    received: list[Received] = field(default_factory=list)
    url: str = ""
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def keys(self) -> list[str | None]:
        return [r.idempotency_key for r in self.received]

    def answer(self, key: str | None, raw: bytes, signature: str | None) -> int:
        verified = self.secret is not None and verify(self.secret, raw, signature)
        with self._lock:
            self.received.append(Received(key, json.loads(raw), signature, verified, raw))
            if self.secret is not None and not verified:
                return 401
            return self.script.pop(0) if self.script else 200

    @classmethod
    @contextmanager
    def serve(cls, script: list[int] | None = None, retry_after: str | None = None,
              secret: str | None = None) -> Iterator[FakeHttpWms]:
        fake = cls(script=list(script or []), retry_after=retry_after, secret=secret)

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                status = fake.answer(self.headers.get("Idempotency-Key"), self.rfile.read(length),
                                     self.headers.get("X-OCP-Signature"))
                answer = json.dumps({"reference": f"WMS-{len(fake.received)}"} if status < 300 else
                                    {"error": f"status {status}"}).encode()
                self.send_response(status)
                if fake.retry_after and status >= 500:
                    self.send_header("Retry-After", fake.retry_after)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        fake.url = f"http://127.0.0.1:{server.server_address[1]}/instructions"
        try:
            yield fake
        finally:
            server.shutdown()
            server.server_close()
            thread.join(timeout=5)
