"""The local API front: a stdlib HTTP server that plays API Gateway for the routes in `infra/wiring.py`."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from infra import wiring
from infra.local import apigw, lambdas
from infra.local.console import ConsoleFiles

log = logging.getLogger("ocp.local.api")

Invoker = Callable[[wiring.Function, dict[str, Any]], Any]


class ApiGateway:
    """Route → authorizer (its policy and context) → proxy event → handler → proxy response. No sockets: testable
    directly."""

    def __init__(
        self,
        routes: Iterable[wiring.Route],
        functions: Iterable[wiring.Function],
        invoke: Invoker = lambdas.invoke,
    ) -> None:
        self._routes = apigw.RouteTable(routes)
        self._functions = {f.id: f for f in functions}
        self._invoke = invoke

    def handle(self, request: apigw.HttpRequest) -> apigw.HttpResponse:
        match = apigw.check_request(request, self._routes)
        if isinstance(match, apigw.HttpResponse):
            return match
        event = apigw.build_event(request, match)
        if match.route.api_key_required:
            allowed = self._authorize(request, match)
            if isinstance(allowed, apigw.HttpResponse):
                return allowed
            context, usage_key = allowed
            event["requestContext"]["authorizer"] = context
            # As with `apiKeySource=AUTHORIZER`: the integration sees the throttle key, never the caller's secret.
            event["requestContext"]["identity"]["apiKey"] = usage_key
        return self._call(self._functions[match.route.function], event)

    def _authorize(self, request: apigw.HttpRequest,
                   match: apigw.RouteMatch) -> apigw.HttpResponse | tuple[dict[str, Any], str | None]:
        """What API Gateway does before the integration: 401 without a key, else the authorizer's policy decides
        (no cache here: a revoked key stops at once)."""
        missing = apigw.missing_key(match.route, request)
        if missing is not None:
            return missing
        event = apigw.authorizer_event(request, match)
        try:
            answer = self._invoke(self._functions[apigw.AUTHORIZER_FUNCTION], event or {})
        except Exception:
            log.exception("the authorizer raised on %s %s", request.method, request.path)
            return apigw.error_response(500, "authorizer_failure", "the authorizer failed (see the server log)")
        context = apigw.enforce(match.route, request, answer)
        return context if isinstance(context, apigw.HttpResponse) else (context, answer.get("usageIdentifierKey"))

    def _call(self, function: wiring.Function, event: dict[str, Any]) -> apigw.HttpResponse:
        try:
            return apigw.to_http_response(self._invoke(function, event))
        except apigw.MalformedProxyResponse as exc:
            log.error("%s returned a malformed proxy response: %s", function.id, exc)
            return apigw.error_response(502, "malformed_lambda_response", f"{function.id}: {exc}")
        except Exception as exc:
            # A handler must turn every failure into a 4xx body; an exception here is a bug.
            log.exception("%s raised on %s %s", function.id, event["httpMethod"], event["path"])
            return apigw.error_response(
                502, "handler_error", f"{function.id} raised {type(exc).__name__} (see the server log)"
            )


class _RequestHandler(BaseHTTPRequestHandler):
    server: _FrontServer
    protocol_version = "HTTP/1.1"
    timeout = 30  # idle keep-alive connections do not pin a thread forever

    def _dispatch(self) -> None:
        started = time.monotonic()
        url = urlsplit(self.path)
        try:
            body = self._read_body()
        except ValueError:
            self.close_connection = True  # the body's end is unknown: nothing more can be read on this connection
            self._write(apigw.error_response(400, "invalid_content_length", "the request's body length is unreadable"))
            return
        request = apigw.HttpRequest(
            method=self.command,
            path=url.path or "/",
            query=url.query,
            headers=list(self.headers.items()),
            body=body,
            source_ip=self.client_address[0],
        )
        try:
            # The console's static files first (only `/console…`), then the API as API Gateway would answer.
            response = self.server.console.serve(request) or self.server.gateway.handle(request)
        except Exception:
            log.exception("the local gateway failed on %s %s", self.command, self.path)
            response = apigw.error_response(502, "gateway_error", "the local gateway failed (see the server log)")
        self._write(response)
        elapsed_ms = (time.monotonic() - started) * 1000
        log.info("%s %s → %d (%.0f ms)", self.command, self.path, response.status, elapsed_ms)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _dispatch

    def __getattr__(self, name: str) -> Any:
        # Any other method (TRACE, CONNECT, PROPFIND…) reaches the gateway too, which answers 405 or 404 as API
        # Gateway would, instead of the stdlib's 501.
        if name.startswith("do_"):
            return self._dispatch
        raise AttributeError(name)

    _KEEP = apigw.MAX_BODY_BYTES + 1
    """Bytes of a body kept: one more than API Gateway takes tells the gateway to answer 413; the rest is read
    and dropped so the client gets that answer instead of a reset connection."""

    def _read_body(self) -> bytes:
        """The body, at most `_KEEP` bytes of it. ValueError when its length cannot be read."""
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return self._read_chunked()
        length = int(self.headers.get("Content-Length") or 0)
        if length < 0:
            raise ValueError("negative Content-Length")
        return self._read_exactly(length)

    def _read_exactly(self, length: int, kept: int = 0) -> bytes:
        body = self.rfile.read(min(length, max(self._KEEP - kept, 0)))
        remaining = length - len(body)
        while remaining > 0:
            dropped = self.rfile.read(min(remaining, 1 << 20))
            if not dropped:
                break
            remaining -= len(dropped)
        return body

    def _read_chunked(self) -> bytes:
        chunks: list[bytes] = []
        kept = 0
        while True:
            size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(chunks)
            chunk = self._read_exactly(size, kept)
            chunks.append(chunk)
            kept += len(chunk)
            self.rfile.readline()

    def _write(self, response: apigw.HttpResponse) -> None:
        self.send_response(response.status)
        for name, value in response.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's signature
        log.debug(format, *args)


class _FrontServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], gateway: ApiGateway) -> None:
        super().__init__(address, _RequestHandler)
        self.gateway = gateway
        self.console = ConsoleFiles()


class HttpFront:
    """Serves `gateway` on 127.0.0.1:`port` (0 picks a free port) from a background thread."""

    def __init__(self, gateway: ApiGateway, port: int = 0, host: str = "127.0.0.1") -> None:
        self._server = _FrontServer((host, port), gateway)
        self._thread = threading.Thread(target=self._server.serve_forever, name="ocp-local-api", daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> str:
        self._thread.start()
        return self.base_url

    def stop(self) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(timeout=5)
        self._server.server_close()
