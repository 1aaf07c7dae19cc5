"""Schemathesis fuzzes every operation of the served `/openapi.json` against the local runtime: no answer is a
server error (5xx), and every answer is documented (status code, content type, headers, body schema).

Each operation gets `MAX_EXAMPLES` generated cases, valid ones and invalid ones, derandomized so every run sends
the same requests. A failure names the operation (`test_…[POST /returns-positive]`) and the failing request.

The cases are drawn through schemathesis' Python API (`APIOperation.as_strategy`) in plain hypothesis tests, one
pytest case per operation and generation mode, taken from the committed document (`make openapi`): its pytest
plugin folds the operations into subtests that pytest-xdist (`make test` runs `-n 2`) never reports as failed, so
a broken operation passed there. `test_the_fuzzed_document_is_the_served_one` checks that `GET /openapi.json`
serves exactly the committed document.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from infra.local import LocalPlatform
from infra.openapi import DOCUMENT

pytestmark = pytest.mark.e2e

MAX_EXAMPLES = 10
"""Generated cases per operation and mode (the whole module stays within a few minutes)."""

CONFORMANCE = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
               response_headers_conformance]

WEBHOOKS = "/webhooks/"
"""Channel deliveries: signed by the channel, not keyed; unsigned fuzz is refused (401), unknown channels 404."""

schema = schemathesis.openapi.from_path(DOCUMENT)
OPERATIONS = sorted(f"{op.method.upper()} {op.path}" for op in (r.ok() for r in schema.get_all_operations()))
MODES = [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]


@pytest.fixture(scope="module")
def platform() -> Iterator[LocalPlatform]:
    with LocalPlatform(port=0) as running:
        yield running


def _fuzz(label: str, mode: GenerationMode, platform: LocalPlatform, checks: list[Any],
          headers: dict[str, str] | None = None) -> None:
    method, path = label.split(" ", 1)
    operation = schema[path][method]

    @settings(max_examples=MAX_EXAMPLES, derandomize=True, database=None, deadline=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode))
    def one(case: schemathesis.Case) -> None:
        case.call_and_validate(base_url=platform.base_url, headers=headers, checks=checks, timeout=30)

    try:
        one()
    except Unsatisfiable:
        pytest.skip(f"{label} has no {mode.value} request to make (nothing in it can be invalid)")


def test_the_fuzzed_document_is_the_served_one(platform: LocalPlatform) -> None:
    served = requests.get(f"{platform.base_url}/openapi.json", timeout=30)
    assert served.status_code == 200
    assert served.json() == schema.raw_schema, "the platform serves another document than the one fuzzed here"
    assert len(OPERATIONS) >= 30


@pytest.mark.parametrize("mode", MODES, ids=lambda m: m.value)
@pytest.mark.parametrize("label", [op for op in OPERATIONS if WEBHOOKS not in op])
def test_every_operation_answers_as_documented(label: str, mode: GenerationMode, platform: LocalPlatform) -> None:
    _fuzz(label, mode, platform, CONFORMANCE, headers={"x-api-key": platform.api_key})


@pytest.mark.parametrize("mode", MODES, ids=lambda m: m.value)
@pytest.mark.parametrize("label", [op for op in OPERATIONS if WEBHOOKS in op])
def test_webhooks_answer_as_documented_and_never_a_server_error(label: str, mode: GenerationMode,
                                                                platform: LocalPlatform) -> None:
    _fuzz(label, mode, platform, CONFORMANCE)
