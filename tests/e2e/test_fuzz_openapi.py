"""Schemathesis fuzzes every operation of the served `/openapi.json` against the local runtime: no answer is a
server error (5xx), and every answer is documented (status code, content type, headers, body schema).

Each operation gets schemathesis' explicit cases (the document's examples and its coverage cases: boundaries,
missing and wrong values, a missing API key) and `MAX_EXAMPLES` generated ones, valid and invalid, derandomized so
every run sends the same requests. A failure names the operation (`test_…[POST /returns]`) and the failing request
as a `curl` line.

The operations are the committed document's (`make openapi`), collected when the module is: the platform that
serves it starts later, in a fixture, so `test_the_fuzzed_document_is_the_served_one` checks that `GET
/openapi.json` serves exactly that document. (`schemathesis.pytest.from_fixture`, which would load it from the
running platform, does not run on pytest 9.2: it writes `Function._nodeid`, which pytest 9.2 no longer has.)
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
import schemathesis

from infra.local import LocalPlatform
from infra.openapi import DOCUMENT

pytestmark = pytest.mark.e2e

MAX_EXAMPLES = 10
"""Generated cases per operation, besides its explicit ones (the whole module stays within a few minutes)."""

CHECKS = ["not_a_server_error", "status_code_conformance", "content_type_conformance",
          "response_schema_conformance", "response_headers_conformance"]

WEBHOOKS = "^/webhooks/"
"""Channel deliveries: signed by the channel, not keyed; unsigned fuzz is refused (401), unknown channels 404."""

schema = schemathesis.openapi.from_path(DOCUMENT)
schema.config.generation.update(max_examples=MAX_EXAMPLES, deterministic=True, database="none")
schema.config.checks.update(included_check_names=CHECKS)
schema.config.update(request_timeout=30)


@pytest.fixture(scope="module")
def platform() -> Iterator[LocalPlatform]:
    with LocalPlatform(port=0) as running:
        yield running


def test_the_fuzzed_document_is_the_served_one(platform: LocalPlatform) -> None:
    served = requests.get(f"{platform.base_url}/openapi.json", timeout=30)
    assert served.status_code == 200
    assert served.json() == schema.raw_schema, "the platform serves another document than the one fuzzed here"


@schema.exclude(path_regex=WEBHOOKS).parametrize()
def test_every_operation_answers_as_documented(case: schemathesis.Case, platform: LocalPlatform) -> None:
    case.call_and_validate(base_url=platform.base_url, headers={"x-api-key": platform.api_key})


@schema.include(path_regex=WEBHOOKS).parametrize()
def test_webhooks_never_answer_a_server_error(case: schemathesis.Case, platform: LocalPlatform) -> None:
    case.call_and_validate(base_url=platform.base_url, checks=[schemathesis.checks.not_a_server_error])


@schema.include(path_regex=WEBHOOKS).parametrize()
def test_webhooks_answer_as_documented(case: schemathesis.Case, platform: LocalPlatform) -> None:
    case.call_and_validate(base_url=platform.base_url)
