"""What `ocp local` shows a person: the banner, the demo table and one short line per request.

The functions write for CloudWatch: powertools' Logger prints JSON lines to stdout and Metrics prints EMF blobs
to stdout. In AWS that is right; on a terminal it buries the URL and the demo table. `FunctionOutput` sends the
process's stdout (where every in-process invocation writes) and the stdlib log records to a file, and keeps the
real terminal for the CLI's own text and the request lines of the local API front. The functions themselves are
not changed: they print to stdout as they would in AWS, stdout just is the file here.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import IO, TextIO

DEFAULT_LOG_PATH = Path(".ocp/local/functions.log")

REQUEST_LOGGER = "ocp.local.api"
"""The local API front logs one INFO record per request here (`http_front.py`)."""
RUNTIME_LOGGER = "ocp.local"
"""The local runtime's own loggers (pollers, schedules, state machines): their warnings concern a person."""


class FunctionOutput:
    """While entered, stdout and log records go to `log_path` and `say` writes to the terminal.

    With `log_path` None (`--verbose`), everything stays on the terminal as before, request lines included.
    """

    def __init__(self, terminal: TextIO, log_path: Path | None) -> None:
        self.terminal = terminal
        self.log_path = log_path
        self._log_file: IO[str] | None = None
        self._saved_stdout: TextIO | None = None
        self._handlers: list[logging.Handler] = []
        self._saved_root_level = logging.NOTSET
        self._saved_capturing_warnings = False
        self._saved_requests_propagate = True
        self._hiding_requests = False

    def __enter__(self) -> FunctionOutput:
        root = logging.getLogger()
        requests = logging.getLogger(REQUEST_LOGGER)
        self._saved_root_level = root.level
        self._saved_capturing_warnings = _capturing_warnings()
        self._saved_requests_propagate = requests.propagate
        root.setLevel(logging.INFO)
        logging.captureWarnings(True)  # library warnings are for the log, not for the person at the terminal
        request_lines = _terminal_handler(self.terminal, self.log_path)
        request_lines.addFilter(lambda record: not self._hiding_requests)
        self._attach(request_lines, requests)
        if self.log_path is None:
            requests.propagate = False  # shown once, in the short form, among everything else
            self._attach(_plain_handler(sys.stderr), root)
            return self
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        # A fresh file per run, line-buffered so `tail -f` follows it.
        self._log_file = self.log_path.open("w", encoding="utf-8", buffering=1)
        self._saved_stdout = sys.stdout
        # Loggers built before this (a handler module imported early) hold the stdout of their time; move them.
        self._move_stream_handlers(self._saved_stdout, self._log_file)
        sys.stdout = self._log_file
        self._attach(_plain_handler(self._log_file), root)
        self._attach(_runtime_warnings_handler(self.terminal, self.log_path), logging.getLogger(RUNTIME_LOGGER))
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._saved_stdout is not None and self._log_file is not None:
            sys.stdout = self._saved_stdout
            # Every handler on the file, also those of loggers built meanwhile (their stdout was the file), or
            # they would write to it once it is closed.
            self._move_stream_handlers(self._log_file, self._saved_stdout)
            self._saved_stdout = None
        for handler in self._handlers:
            for logger in _loggers_holding(handler):
                logger.removeHandler(handler)
        self._handlers.clear()
        logging.getLogger().setLevel(self._saved_root_level)
        logging.getLogger(REQUEST_LOGGER).propagate = self._saved_requests_propagate
        logging.captureWarnings(self._saved_capturing_warnings)
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    def say(self, text: str) -> None:
        print(text, file=self.terminal, flush=True)

    @contextmanager
    def requests_hidden(self) -> Iterator[None]:
        """Keep request lines off the terminal meanwhile (the demo's own dozens of calls would bury its table);
        they still reach the log file. With `--verbose` nothing is hidden."""
        self._hiding_requests = self.log_path is not None
        try:
            yield
        finally:
            self._hiding_requests = False

    def _attach(self, handler: logging.Handler, logger: logging.Logger) -> None:
        logger.addHandler(handler)
        self._handlers.append(handler)

    def _move_stream_handlers(self, stream: IO[str], to: IO[str]) -> None:
        """Point every logger's stream handler that writes to `stream` at `to`, except ours."""
        for logger in _all_loggers():
            for handler in logger.handlers:
                if handler in self._handlers:
                    continue  # ours: the terminal's on purpose, the file's removed on exit
                if isinstance(handler, logging.StreamHandler) and handler.stream is stream:
                    handler.setStream(to)


def request_line_format() -> logging.Formatter:
    return logging.Formatter("%(asctime)s  %(message)s", datefmt="%H:%M:%S")


class _OneLineFormatter(logging.Formatter):
    """A record's message without its traceback (that goes to the log file), with a pointer to the file."""

    def __init__(self, log_path: Path | None) -> None:
        super().__init__("%(asctime)s  %(message)s", datefmt="%H:%M:%S")
        self._log_path = log_path

    def format(self, record: logging.LogRecord) -> str:
        has_traceback = record.exc_info is not None or record.exc_text is not None
        # A copy: the traceback must still reach the file handler, which formats the same record.
        shown = logging.makeLogRecord({**record.__dict__, "exc_info": None, "exc_text": None})
        line = super().format(shown)
        if has_traceback and self._log_path is not None:
            line += f"  (traceback in {self._log_path})"
        return line


def _terminal_handler(terminal: TextIO, log_path: Path | None) -> logging.Handler:
    handler = logging.StreamHandler(terminal)
    handler.setLevel(logging.INFO)
    handler.setFormatter(_OneLineFormatter(log_path) if log_path is not None else request_line_format())
    return handler


def _runtime_warnings_handler(terminal: TextIO, log_path: Path) -> logging.Handler:
    handler = logging.StreamHandler(terminal)
    handler.setLevel(logging.WARNING)
    handler.setFormatter(_OneLineFormatter(log_path))
    # The request logger's records already reach the terminal through its own handler.
    handler.addFilter(lambda record: not record.name.startswith(REQUEST_LOGGER))
    return handler


def _plain_handler(stream: IO[str]) -> logging.Handler:
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    return handler


def _capturing_warnings() -> bool:
    # `logging.captureWarnings` keeps the replaced `warnings.showwarning` here while it captures, None otherwise.
    return getattr(logging, "_warnings_showwarning", None) is not None


def _all_loggers() -> list[logging.Logger]:
    named = [v for v in logging.Logger.manager.loggerDict.values() if isinstance(v, logging.Logger)]
    return [logging.getLogger(), *named]


def _loggers_holding(handler: logging.Handler) -> list[logging.Logger]:
    return [logger for logger in _all_loggers() if handler in logger.handlers]
