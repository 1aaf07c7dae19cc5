"""`FunctionOutput` (`infra/local/terminal.py`): people's lines on the terminal, the functions' output in the file."""

from __future__ import annotations

import io
import logging
import sys
import uuid
from pathlib import Path

from aws_lambda_powertools import Logger

from infra.local.terminal import REQUEST_LOGGER, FunctionOutput

requests = logging.getLogger(REQUEST_LOGGER)


def test_request_lines_reach_the_terminal_and_function_output_the_file(tmp_path: Path) -> None:
    # Given a powertools Logger built before (it holds the stdout of its time) and the CLI's terminal
    early = Logger(service=f"early-{uuid.uuid4().hex[:6]}")
    terminal, log_file = io.StringIO(), tmp_path / "functions.log"
    stdout_before = sys.stdout

    with FunctionOutput(terminal, log_file) as output:
        # When the CLI speaks, a request is served, a function logs and flushes a metric blob
        output.say("OCP is running at http://127.0.0.1:3000")
        requests.info("%s %s → %d (%.0f ms)", "GET", "/orders/o-1", 404, 12.3)
        early.info("stock push")
        late = Logger(service=f"late-{uuid.uuid4().hex[:6]}")
        late.info("order stored")
        print('{"_aws": {"CloudWatchMetrics": []}}')

    # Then the terminal has the banner and the short request line, and no JSON
    shown = terminal.getvalue().splitlines()
    assert shown[0] == "OCP is running at http://127.0.0.1:3000"
    assert shown[1].endswith("  GET /orders/o-1 → 404 (12 ms)")
    assert not [line for line in shown if line.startswith("{")]
    # and the file has the JSON logs (from the early and the late logger) and the EMF blob
    logged = log_file.read_text(encoding="utf-8")
    assert '"message":"stock push"' in logged and '"message":"order stored"' in logged
    assert '{"_aws": {"CloudWatchMetrics": []}}' in logged
    # and afterwards stdout is what it was, the early logger writes there again
    assert sys.stdout is stdout_before
    assert early.handlers[0].stream is stdout_before  # type: ignore[attr-defined]


def test_requests_hidden_keeps_the_demos_requests_in_the_file_only(tmp_path: Path) -> None:
    terminal, log_file = io.StringIO(), tmp_path / "functions.log"
    with FunctionOutput(terminal, log_file) as output:
        with output.requests_hidden():
            requests.info("PUT /inventory/WH-GZ/TEA → 200 (3 ms)")
        requests.info("GET /openapi.json → 200 (1 ms)")
    assert "PUT /inventory" not in terminal.getvalue()
    assert "GET /openapi.json" in terminal.getvalue()
    assert "PUT /inventory/WH-GZ/TEA" in log_file.read_text(encoding="utf-8")


def test_a_traceback_goes_to_the_file_and_the_terminal_gets_one_line(tmp_path: Path) -> None:
    terminal, log_file = io.StringIO(), tmp_path / "functions.log"
    with FunctionOutput(terminal, log_file):
        try:
            raise ValueError("boom")
        except ValueError:
            requests.exception("returns_api raised on GET /returns/r-1")
    (line,) = terminal.getvalue().splitlines()
    assert line.endswith(f"returns_api raised on GET /returns/r-1  (traceback in {log_file})")
    assert "Traceback (most recent call last)" in log_file.read_text(encoding="utf-8")


def test_verbose_leaves_stdout_alone(tmp_path: Path) -> None:
    stdout_before = sys.stdout
    terminal = io.StringIO()
    with FunctionOutput(terminal, None) as output:
        assert sys.stdout is stdout_before
        with output.requests_hidden():
            requests.info("GET /openapi.json → 200 (1 ms)")
    assert "GET /openapi.json" in terminal.getvalue()
    assert not list(tmp_path.iterdir())


def test_a_logger_built_during_the_run_writes_to_stdout_again_afterwards(tmp_path: Path) -> None:
    # Given a stdlib logger whose handler is built while the functions' output goes to the file
    stdout_before, log_file = sys.stdout, tmp_path / "functions.log"
    late = logging.getLogger(f"late-{uuid.uuid4().hex[:6]}")
    with FunctionOutput(io.StringIO(), log_file):
        handler = logging.StreamHandler(sys.stdout)
        late.addHandler(handler)
    try:
        # Then after the run it writes to the real stdout, not to the closed file
        assert handler.stream is stdout_before
        assert not handler.stream.closed
    finally:
        late.removeHandler(handler)


def test_the_logging_flags_are_put_back_as_they_were(tmp_path: Path) -> None:
    # Given warnings already captured and the request logger not propagating before the run
    logging.captureWarnings(True)
    requests.propagate = False
    try:
        with FunctionOutput(io.StringIO(), tmp_path / "functions.log"):
            pass
        # Then both stay as they were
        assert logging._warnings_showwarning is not None  # type: ignore[attr-defined]
        assert requests.propagate is False
    finally:
        logging.captureWarnings(False)
        requests.propagate = True
    # And a run that starts with neither leaves neither
    with FunctionOutput(io.StringIO(), tmp_path / "functions.log"):
        pass
    assert logging._warnings_showwarning is None  # type: ignore[attr-defined]
    assert requests.propagate is True
