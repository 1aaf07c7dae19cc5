"""Fulfilment's wiring: routes reach the right function locally as in API Gateway, each WMS has its queue."""

from __future__ import annotations

import pytest

from infra import wiring
from infra.local.apigw import RouteTable
from ocp.domain.fulfillment.wms import WMS_QUEUE_PREFIX
from ocp.settings import wms_queue_env


@pytest.mark.parametrize(("method", "path", "function", "resource"), [
    ("GET", "/orders/stuck", "fulfillment_ops", "/orders/stuck"),
    ("GET", "/orders/shopify-1", "operator_api", "/orders/{order_id}"),
    ("POST", "/orders:redispatch", "fulfillment_ops", "/orders:redispatch"),
    ("POST", "/orders%3Aredispatch", "fulfillment_ops", "/orders:redispatch"),
    ("POST", "/fulfillment/events", "fulfillment_callback", "/fulfillment/events"),
])
def test_fulfilment_routes_are_matched_literal_first(method: str, path: str, function: str, resource: str) -> None:
    # Given every declared route / When the path is matched
    match = RouteTable(wiring.ROUTES).match(method, path)
    # Then the literal resource wins over `/orders/{order_id}`
    assert match is not None and (match.route.function, match.route.path) == (function, resource)
    assert match.route.api_key_required


@pytest.mark.parametrize("warehouse", wiring.WMS_WAREHOUSES)
def test_each_wms_warehouse_has_a_queue_the_dispatcher_can_name_and_send_to(warehouse: str) -> None:
    # Given the dispatcher's declaration
    dispatcher = wiring.function("dispatcher")
    queue_id = wiring.wms_queue_id(warehouse)
    # Then the warehouse's queue exists with a DLQ, its URL is in the variable the settings read, and it may send
    assert queue_id in {q.id for q in wiring.QUEUES}
    assert wiring.wms_queue_env(warehouse) == wms_queue_env(warehouse)
    assert dispatcher.env[wms_queue_env(warehouse)] == wiring.Ref(queue_id, "url")
    assert wiring.Grant(queue_id, "send") in dispatcher.grants
    assert warehouse in str(dispatcher.env["WMS_WAREHOUSES"]).split(",")


def test_dispatch_queue_triggers_the_dispatcher_and_the_watchdog_is_scheduled() -> None:
    # Given / When / Then
    assert any(t.queue == wiring.DISPATCH_QUEUE.id and t.function == "dispatcher" for t in wiring.QUEUE_TRIGGERS)
    assert any(s.function == "watchdog" for s in wiring.SCHEDULES)
    # and the dispatch queue outlives a dispatcher run six times over
    assert wiring.DISPATCH_QUEUE.visibility_timeout_s >= 6 * wiring.function("dispatcher").timeout_s


def test_write_back_is_queue_fed_by_the_callbacks_and_swept_on_a_schedule() -> None:
    # Given the declarations
    callback, writeback = wiring.function("fulfillment_callback"), wiring.function("channel_writeback")
    # Then the callback may send to the write-back queue, which triggers channel_writeback with a DLQ behind it
    assert callback.env["WRITEBACK_QUEUE_URL"] == wiring.Ref(wiring.WRITEBACK_QUEUE.id, "url")
    assert wiring.Grant(wiring.WRITEBACK_QUEUE.id, "send") in callback.grants
    assert any(t.queue == wiring.WRITEBACK_QUEUE.id and t.function == "channel_writeback"
               for t in wiring.QUEUE_TRIGGERS)
    assert wiring.WRITEBACK_QUEUE.visibility_timeout_s >= 6 * writeback.timeout_s
    # and the retry sweep is scheduled every minute, with the channels' credentials readable
    assert any(s.function == "channel_writeback" and s.rate_minutes == 1 for s in wiring.SCHEDULES)
    assert wiring.Grant(wiring.CHANNEL_SECRETS.id, "read") in writeback.grants


def test_status_changes_that_move_stock_may_write_the_stock_tables() -> None:
    # Given the functions whose order writes go through the stock-aware commit
    for function_id in ("fulfillment_callback", "reconciliation"):
        spec = wiring.function(function_id)
        # Then they name the stock tables and may write them
        assert {spec.env[name] for name in ("STOCK_TABLE", "STOCK_LEDGER_TABLE", "INVENTORY_TABLE")} == {
            wiring.Ref(wiring.STOCK.id), wiring.Ref(wiring.STOCK_LEDGER.id), wiring.Ref(wiring.INVENTORY.id)}
        assert wiring.Grant(wiring.STOCK.id, "read_write") in spec.grants


def test_reconciliation_is_scheduled_and_may_stop_every_warehouse_and_raise_alerts() -> None:
    # Given / When / Then
    spec = wiring.function("reconciliation")
    assert any(s.function == "reconciliation" for s in wiring.SCHEDULES)
    assert all(wiring.Grant(wiring.wms_queue_id(w), "send") in spec.grants for w in wiring.WMS_WAREHOUSES)
    assert {wiring.Grant(wiring.EVENTS_BUS.id, "publish"), wiring.Grant(wiring.WATCHDOG_STATE.id, "read_write"),
            wiring.Grant(wiring.CHANNEL_SECRETS.id, "read")} <= set(spec.grants)


@pytest.mark.parametrize("function_id", ["dispatcher", "reconciliation"])
def test_instruction_senders_reach_registered_wms_by_queue_prefix_with_the_registry_and_the_signing_secret(
    function_id: str,
) -> None:
    # Given a function that sends warehouse instructions
    spec = wiring.function(function_id)
    # Then it may send to registered queues (by the prefix the warehouses API enforces), read the registry and the
    # WMS signing secret, and its environment names them
    assert {wiring.Grant(wiring.REGISTERED_WMS_QUEUES.id, "send"), wiring.Grant(wiring.WAREHOUSES.id, "read"),
            wiring.Grant(wiring.WMS_SECRETS.id, "read")} <= set(spec.grants)
    assert wiring.REGISTERED_WMS_QUEUES.prefix == WMS_QUEUE_PREFIX
    assert spec.env["WAREHOUSES_TABLE"] == wiring.Ref(wiring.WAREHOUSES.id)
    assert spec.env["WMS_SECRETS_ARN"] == wiring.Ref(wiring.WMS_SECRETS.id, "arn")
