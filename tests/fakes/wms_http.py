"""A WMS that takes pushes, on 127.0.0.1 (stdlib `http.server`): records every request and answers from a script.

    with FakeHttpWms.serve(script=[503, 200]) as wms:
        HttpWms(wms.url).send(instruction)
        wms.keys()  # ["<order_id>:1", "<order_id>:1"]
"""

from __future__ import annotations

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


@dataclass
class FakeHttpWms:
    script: list[int] = field(default_factory=list)
    """Status codes for the next requests, in order; 200 once it runs out."""
    retry_after: str | None = None
    received: list[Received] = field(default_factory=list)
    url: str = ""
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def keys(self) -> list[str | None]:
        return [r.idempotency_key for r in self.received]

    def answer(self, key: str | None, body: dict[str, Any]) -> int:
        with self._lock:
            self.received.append(Received(key, body))
            return self.script.pop(0) if self.script else 200

    @classmethod
    @contextmanager
    def serve(cls, script: list[int] | None = None, retry_after: str | None = None) -> Iterator[FakeHttpWms]:
        fake = cls(script=list(script or []), retry_after=retry_after)

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                status = fake.answer(self.headers.get("Idempotency-Key"), json.loads(self.rfile.read(length)))
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
