"""The committed OpenAPI document (`make openapi` writes it), read once per process."""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files
from typing import Any


@cache
def openapi_document() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(files("ocp.api").joinpath("openapi.json").read_text(encoding="utf-8"))
    return document
