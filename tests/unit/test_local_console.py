"""The local runtime serves the console's static files at /console/: GET only, right types, nothing outside."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.local.apigw import HttpRequest
from infra.local.console import CONSOLE_DIR, ConsoleFiles


@pytest.fixture
def files(tmp_path: Path) -> ConsoleFiles:
    root = tmp_path / "console"
    (root / "views").mkdir(parents=True)
    (root / "index.html").write_text("<!doctype html><title>OCP</title>")
    (root / "app.js").write_text("export const x = 1;")
    (root / "console.css").write_text("body {}")
    (root / "views" / "held.js").write_text("export {};")
    (root / ".env").write_text("SECRET=1")
    (root / "notes.py").write_text("print('x')")
    (tmp_path / "secret.txt").write_text("outside")
    return ConsoleFiles(root)


def _get(files: ConsoleFiles, path: str, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    response = files.serve(HttpRequest(method=method, path=path))
    assert response is not None, path
    return response.status, dict(response.headers), response.body


def test_index_html_answers_the_console_root_and_a_bare_prefix_redirects_to_it(files: ConsoleFiles) -> None:
    status, headers, body = _get(files, "/console/")
    assert (status, headers["Content-Type"]) == (200, "text/html; charset=utf-8") and b"<title>OCP" in body
    status, headers, _ = _get(files, "/console")
    assert (status, headers["Location"]) == (301, "/console/")


@pytest.mark.parametrize(("path", "content_type"), [
    ("/console/app.js", "text/javascript; charset=utf-8"),  # ES modules need a JavaScript type
    ("/console/console.css", "text/css; charset=utf-8"),
    ("/console/views/held.js", "text/javascript; charset=utf-8"),
])
def test_files_are_served_with_their_content_type(files: ConsoleFiles, path: str, content_type: str) -> None:
    status, headers, body = _get(files, path)
    assert (status, headers["Content-Type"], headers["X-Content-Type-Options"]) == (200, content_type, "nosniff")
    assert body


@pytest.mark.parametrize("path", [
    "/console/../secret.txt", "/console/%2e%2e/secret.txt", "/console/views/../../secret.txt",
    "/console/..%2fsecret.txt", "/console/.env", "/console/notes.py", "/console/missing.js", "/console/%00.js",
    "/console/..\\secret.txt",
])
def test_nothing_outside_the_console_nor_hidden_or_unknown_types_is_served(files: ConsoleFiles, path: str) -> None:
    status, headers, body = _get(files, path)
    assert (status, headers["Content-Type"]) == (404, "application/json")
    assert b"outside" not in body and b"SECRET" not in body


def test_only_get_and_head_are_answered(files: ConsoleFiles) -> None:
    status, headers, _ = _get(files, "/console/index.html", method="POST")
    assert (status, headers["Allow"]) == (405, "GET, HEAD")
    assert _get(files, "/console/index.html", method="HEAD")[0] == 200


def test_other_paths_are_left_to_the_api(files: ConsoleFiles) -> None:
    assert files.serve(HttpRequest(method="GET", path="/orders")) is None
    assert files.serve(HttpRequest(method="GET", path="/consoles")) is None


def test_the_repository_console_has_its_entry_points() -> None:
    served = ConsoleFiles(CONSOLE_DIR)
    for path in ("/console/", "/console/app.js", "/console/api.js", "/console/console.css"):
        assert _get(served, path)[0] == 200, path
