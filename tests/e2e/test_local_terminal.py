"""`ocp local` as a person sees it: the banner and one short line per request on the terminal, the functions' JSON
logs and EMF metrics in the log file (or on the terminal with `--verbose`). Runs the real CLI in a subprocess."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from infra.local import config

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 120  # the machine may be busy: provisioning every table and queue takes a few seconds alone
REQUEST_LINE = re.compile(r"^\d\d:\d\d:\d\d  (?P<method>[A-Z]+) (?P<path>\S+) → (?P<status>\d{3}) \(\d+ ms\)$")


@dataclass
class Terminal:
    process: subprocess.Popen[str]
    base_url: str = ""
    stdout: list[str] = field(default_factory=list)
    stderr: list[str] = field(default_factory=list)

    def request(self, method: str, path: str, body: dict[str, object] | None = None) -> int:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{self.base_url}{path}", data=data, method=method, headers={
            "x-api-key": config.api_key(), "content-type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return int(response.status)
        except urllib.error.HTTPError as exc:
            return exc.code

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _start(*args: str) -> Terminal:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen([sys.executable, "-m", "infra.cli", "local", "--port", "0", *args], cwd=ROOT,
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1)
    terminal = Terminal(process)
    started = threading.Event()

    def read(stream: object, lines: list[str], announce: bool) -> None:
        for line in stream:  # type: ignore[attr-defined]
            lines.append(line.rstrip("\n"))
            found = re.match(r"OCP is running at (\S+)", line)
            if announce and found:
                terminal.base_url = found.group(1)
                started.set()
        started.set()  # the process ended: stop waiting

    threading.Thread(target=read, args=(process.stdout, terminal.stdout, True), daemon=True).start()
    threading.Thread(target=read, args=(process.stderr, terminal.stderr, False), daemon=True).start()
    if not started.wait(START_TIMEOUT_S) or not terminal.base_url:
        terminal.stop()
        pytest.fail(f"ocp local did not start: {terminal.stdout[-5:]} {terminal.stderr[-20:]}")
    return terminal


def _drive(terminal: Terminal) -> dict[str, int]:
    """A public route, a function that logs and emits metrics, and a 404 from a function."""
    statuses = {
        "GET /openapi.json": terminal.request("GET", "/openapi.json"),
        "PUT /inventory/WH-GZ/TERMINAL-TEST": terminal.request("PUT", "/inventory/WH-GZ/TERMINAL-TEST",
                                                               {"on_hand": 5, "version": 1}),
        "GET /orders/shopify-0": terminal.request("GET", "/orders/shopify-0"),
    }
    terminal.stop()
    deadline = time.monotonic() + 10
    while terminal.process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.2)  # the reader threads drain the pipes
    return statuses


@pytest.fixture(scope="module")
def quiet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Terminal, dict[str, int], Path]]:
    log_file = tmp_path_factory.mktemp("ocp-local") / "functions.log"
    terminal = _start("--log-file", str(log_file))
    try:
        yield terminal, _drive(terminal), log_file
    finally:
        terminal.stop()


def test_the_banner_names_the_url_the_key_the_console_and_the_log_file(
    quiet: tuple[Terminal, dict[str, int], Path],
) -> None:
    terminal, _, log_file = quiet
    banner = "\n".join(terminal.stdout[:4])
    assert f"OCP is running at {terminal.base_url}" in banner
    assert f"API key: {config.api_key()}" in banner
    assert f"{terminal.base_url}/console/" in banner
    assert str(log_file) in banner


def test_each_request_is_one_short_line_with_method_path_status_and_time(
    quiet: tuple[Terminal, dict[str, int], Path],
) -> None:
    # Given the requests made and what the terminal printed
    terminal, statuses, _ = quiet
    lines = [m.groupdict() for m in map(REQUEST_LINE.match, terminal.stdout) if m]

    # Then each request has its line, with the status the client got
    shown = {f"{line['method']} {line['path']}": int(line["status"]) for line in lines}
    assert statuses["GET /openapi.json"] == 200 and statuses["GET /orders/shopify-0"] == 404
    for request, status in statuses.items():
        assert shown.get(request) == status, f"{request}: {terminal.stdout}"


def test_no_json_log_line_or_metric_blob_reaches_the_terminal(quiet: tuple[Terminal, dict[str, int], Path]) -> None:
    terminal, statuses, log_file = quiet
    assert statuses["PUT /inventory/WH-GZ/TERMINAL-TEST"] == 200  # so inventory_api did log and emit metrics
    printed = terminal.stdout + terminal.stderr
    assert not [line for line in printed if line.lstrip().startswith("{")], printed
    # and they are in the log file instead: powertools' JSON lines and the EMF blobs
    records = [json.loads(line) for line in log_file.read_text(encoding="utf-8").splitlines() if line.startswith("{")]
    assert any(r.get("service") == "inventory_api" and r.get("message") == "stock push" for r in records)
    assert any("_aws" in r and r.get("service") == "inventory_api" for r in records)


def test_verbose_keeps_the_functions_logs_on_the_terminal(tmp_path: Path) -> None:
    terminal = _start("--verbose")
    try:
        _drive(terminal)
    finally:
        terminal.stop()
    json_lines = [json.loads(line) for line in terminal.stdout if line.startswith("{")]
    assert any(r.get("service") == "inventory_api" for r in json_lines)
    assert any(REQUEST_LINE.match(line) for line in terminal.stdout)
