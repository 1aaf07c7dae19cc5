"""Serves the operator console's static files (`console/` at the repository root) at `/console/`.

GET and HEAD only, a fixed set of content types, nothing outside the console's folder: the console is a set of
static files with no build step, deployed as is to S3 in AWS and served from here locally.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote

from infra.local import apigw

PREFIX = "/console"
CONSOLE_DIR = Path(__file__).resolve().parents[2] / "console"

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
}


class ConsoleFiles:
    """Answers the requests under `/console`; every other request is not its business (None)."""

    def __init__(self, root: Path = CONSOLE_DIR) -> None:
        self._root = root.resolve()

    def serve(self, request: apigw.HttpRequest) -> apigw.HttpResponse | None:
        if request.path != PREFIX and not request.path.startswith(PREFIX + "/"):
            return None
        if request.method not in ("GET", "HEAD"):
            return apigw.error_response(405, "method_not_allowed", "the console's files are read with GET",
                                        headers=[("Allow", "GET, HEAD")])
        if request.path == PREFIX:
            return apigw.HttpResponse(301, [("Location", PREFIX + "/")])
        found = self._file(request.path[len(PREFIX) + 1:])
        if found is None:
            return apigw.error_response(404, "not_found", f"no console file at {request.path}")
        headers = [("Content-Type", CONTENT_TYPES[found.suffix]), ("Cache-Control", "no-cache"),
                   ("X-Content-Type-Options", "nosniff")]
        return apigw.HttpResponse(200, headers, found.read_bytes())

    def _file(self, relative: str) -> Path | None:
        """The file a path names, or None: unknown types, dot files, and anything resolving outside the root."""
        name = unquote(relative) or "index.html"
        if "\x00" in name or "\\" in name:
            return None
        candidate = (self._root / name).resolve()
        if candidate.is_dir():
            candidate = candidate / "index.html"
        if not candidate.is_relative_to(self._root) or not candidate.is_file():
            return None
        inside = candidate.relative_to(self._root).parts
        if any(part.startswith(".") for part in inside) or candidate.suffix not in CONTENT_TYPES:
            return None
        return candidate
