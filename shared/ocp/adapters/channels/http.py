"""The one HTTP client OCP uses to call channel APIs: stdlib `urllib`, no extra dependency."""

from __future__ import annotations

import urllib.error
import urllib.request

from ocp.channels.base import HttpRequest, HttpResponse
from ocp.domain.errors import ChannelApiUnavailable

DEFAULT_TIMEOUT_S = 10.0


class UrllibTransport:
    """Every HTTP status comes back as an `HttpResponse`; no response at all (DNS, refused, timeout) raises
    `ChannelApiUnavailable`, so the caller retries later. Request and response bodies are never logged."""

    def __init__(self, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        self._timeout_s = timeout_s

    def send(self, request: HttpRequest) -> HttpResponse:
        prepared = urllib.request.Request(  # noqa: S310 - base URLs come from configuration, http(s) only
            request.url, data=request.body, headers=dict(request.headers), method=request.method
        )
        if not request.url.startswith(("https://", "http://")):
            raise ChannelApiUnavailable("channel API URL must be http(s)")
        try:
            with urllib.request.urlopen(prepared, timeout=self._timeout_s) as response:  # noqa: S310
                return HttpResponse(
                    status=response.status, body=response.read(),
                    headers={k.lower(): v for k, v in response.headers.items()},
                )
        except urllib.error.HTTPError as exc:
            body = exc.read() if exc.fp is not None else b""
            return HttpResponse(status=exc.code, body=body, headers={k.lower(): v for k, v in exc.headers.items()})
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ChannelApiUnavailable(f"channel API unreachable: {type(exc).__name__}: {reason}") from None
