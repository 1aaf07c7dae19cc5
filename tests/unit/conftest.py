"""Unit tests never touch the network: every socket but a Unix domain one is refused (pytest-socket).

Scoped to `tests/unit` by living here: pytest runs a directory's `pytest_runtest_setup` only for the tests under
it, so integration and e2e tests (moto's HTTP fakes, the local runtime on 127.0.0.1) keep their sockets. A test
that truly needs one is an integration test; `@pytest.mark.enable_socket`, the `socket_enabled` fixture or
`--force-enable-socket` still switch them back on (pytest-socket's own escape hatches). pytest-socket's teardown
hook restores the socket module after every test.
"""

from __future__ import annotations

import pytest
from pytest_socket import disable_socket


@pytest.hookimpl(trylast=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    if (item.get_closest_marker("enable_socket") or "socket_enabled" in getattr(item, "fixturenames", ())
            or item.config.getoption("--force-enable-socket")):
        return
    disable_socket(allow_unix_socket=True)
