"""Suite-wide defaults: a fake AWS environment that can never reach a real account."""

from __future__ import annotations

import os

import pytest

_FAKE_ENV = {
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_NAMESPACE": "OCP",
    "POWERTOOLS_DEV": "false",
}
for _name, _value in _FAKE_ENV.items():
    os.environ.setdefault(_name, _value)
os.environ.pop("AWS_PROFILE", None)


@pytest.fixture(autouse=True)
def _no_real_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    # A developer's shell may point boto3 at a running local stack; tests bring their own.
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
