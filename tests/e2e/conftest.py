"""e2e: the local platform brings its own AWS endpoint and keeps it for the whole module."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _no_real_endpoint() -> None:
    """Overrides the suite-wide fixture of the same name: here `AWS_ENDPOINT_URL` is the embedded AWS
    that `LocalPlatform` set, and the handlers running on its threads need it for the whole test."""
