"""In-memory twin of the returns workflows: records what was started and resumed, for tests to assert on."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any


class MemoryWorkflows:
    def __init__(self) -> None:
        self.started: dict[str, dict[str, Any]] = {}
        """Execution name → its payload, in start order."""
        self.resumed: dict[str, dict[str, Any]] = {}
        """Task token → the output it was completed with."""
        self.gone: set[str] = set()
        """Tokens a test declares no longer waiting (timed out, execution stopped): `resume` answers False."""
        self._lock = threading.Lock()

    def start(self, name: str, payload: Mapping[str, Any]) -> bool:
        with self._lock:
            if name in self.started:
                return False
            self.started[name] = dict(payload)
        return True

    def resume(self, token: str, output: Mapping[str, Any]) -> bool:
        # A token completes once, as in Step Functions: a repeat finds it no longer waiting.
        with self._lock:
            if token in self.resumed or token in self.gone:
                return False
            self.resumed[token] = dict(output)
        return True
