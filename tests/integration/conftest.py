"""Handlers against moto, with the resources the wiring declares (created by the local runtime's provisioner)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from moto import mock_aws

from infra import wiring
from infra.local.provision import Resources, function_env, provision
from ocp import composition

SHOPIFY_SECRET = "integration-shopify-secret"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Resources]:
    with mock_aws():
        resources = provision(None, {wiring.CHANNEL_SECRETS.id: {}})
        for name, value in function_env(wiring.FUNCTIONS, resources).items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("OCP_CHANNEL_SECRET_SHOPIFY", SHOPIFY_SECRET)
        composition.reset()
        yield resources
        composition.reset()
