"""CORS for the operator console: every API handler's resolver takes `cors=console_cors()`.

The console is served from its own origin in AWS (CloudFront), so the browser asks the API for CORS headers. Only
that one origin is answered, with the headers the console sends and the `ETag` it reads back (for `If-Match`).
API Gateway answers the preflights (`infra/constructs/api.py`) from the same constants, so the two cannot drift.
"""

from __future__ import annotations

from aws_lambda_powertools.event_handler import CORSConfig

from ocp import settings

ALLOW_HEADERS = ["x-api-key", "x-ocp-actor", "If-Match", "content-type"]
"""What the console sends across origins."""
SIGNED_REQUEST_HEADERS = ["Authorization", "X-Amz-Date", "X-Amz-Security-Token"]
"""Powertools' `CORSConfig` always allows these (with SigV4's spelling of the two above)."""
ALLOWED_HEADERS = [*ALLOW_HEADERS, *SIGNED_REQUEST_HEADERS]
"""`Access-Control-Allow-Headers`, on the functions' answers and API Gateway's preflights alike."""
EXPOSE_HEADERS = ["ETag"]
MAX_AGE_S = 600
"""How long a browser may reuse a preflight answer."""


class ConsoleCors(CORSConfig):
    """Allows the console's origin only. The origin comes from settings when a request asks, never at import: a
    handler module builds its resolver at import, before the environment is read."""

    def __init__(self) -> None:
        super().__init__(allow_origin="", allow_headers=ALLOWED_HEADERS, expose_headers=EXPOSE_HEADERS,
                         max_age=MAX_AGE_S)

    def allowed_origin(self, extracted_origin: str | None) -> str | None:
        return extracted_origin if _is_console(extracted_origin) else None

    def to_dict(self, origin: str | None) -> dict[str, str]:
        if not _is_console(origin):
            return {}
        return {
            "Access-Control-Allow-Origin": str(origin),
            "Access-Control-Allow-Headers": ",".join(ALLOWED_HEADERS),  # the preflight's list, not a case-dup set
            "Access-Control-Expose-Headers": ",".join(self.expose_headers),
            "Access-Control-Max-Age": str(self.max_age),
        }


def console_cors() -> CORSConfig:
    return ConsoleCors()


def _is_console(origin: str | None) -> bool:
    console = settings.load(settings.ConsoleSettings).console_origin
    return bool(origin) and bool(console) and origin == (console or "").rstrip("/")
