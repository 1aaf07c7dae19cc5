"""Process environment changes that can be undone: the platform's variables live only while it runs."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

_UNSET = object()


class EnvPatch:
    """Sets and removes variables in `os.environ`, remembering the first value seen so `restore` is exact."""

    def __init__(self) -> None:
        self._saved: dict[str, str | object] = {}

    def set(self, values: Mapping[str, str]) -> None:
        for name, value in values.items():
            self._remember(name)
            os.environ[name] = value

    def remove(self, names: Iterable[str]) -> None:
        for name in names:
            self._remember(name)
            os.environ.pop(name, None)

    def restore(self) -> None:
        for name, value in self._saved.items():
            if isinstance(value, str):
                os.environ[name] = value
            else:
                os.environ.pop(name, None)
        self._saved.clear()

    def _remember(self, name: str) -> None:
        if name not in self._saved:
            self._saved[name] = os.environ.get(name, _UNSET)
