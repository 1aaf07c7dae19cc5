"""Which WMS an instruction goes to (registered with the warehouse, else the deployed configuration, else refused
on the order), and how an HTTP instruction is signed (pushed over a socket: tests/integration/test_http_wms.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ocp.adapters.memory.fulfillment import MemoryFulfillmentOrders, MemoryWms
from ocp.adapters.memory.warehouses import MemoryWarehouseStore
from ocp.adapters.wms import HttpWms, SqsWms, WmsRouter, WmsSigningSecrets, connector, secret_variable
from ocp.domain.fulfillment.dispatch import (
    DispatchOutcome,
    DispatchRequest,
    WarehouseInstruction,
    WmsRejected,
    WmsUnavailable,
    instruction_for,
)
from ocp.domain.fulfillment.state import IssueKind
from ocp.domain.fulfillment.wms import HttpWmsEndpoint, SqsWmsEndpoint, WmsEndpoint, signature
from ocp.domain.operations.warehouses import Warehouse
from ocp.domain.order.model import OrderStatus
from ocp.ports import WmsAdapter
from ocp.services.fulfillment.dispatch import DispatchDeps, dispatch, dispatch_now
from ocp.services.operations.warehouses import CachedWarehouses, put_warehouse
from tests.fulfillment_support import ORDER_ID, T0, order_at

NOW = T0 + timedelta(minutes=1)
SECRET = "wms-secret-for-WH-NEW"
QUEUE = "https://sqs.us-east-1.amazonaws.com/123456789012/ocp-wms-wh-new"


def _instruction(warehouse: str = "WH-NEW") -> WarehouseInstruction:
    return instruction_for(order_at(OrderStatus.reserved, warehouse=warehouse), version=1, now=NOW)


# ---- signing ------------------------------------------------------------------------------------------


def test_the_signature_is_the_hex_hmac_sha256_of_the_exact_bytes() -> None:
    # Given the well-known HMAC-SHA256 vector / When signed / Then the same digest, prefixed with the algorithm
    assert signature("key", b"The quick brown fox jumps over the lazy dog") == (
        "sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8")
    # and one byte more is another signature
    assert signature("key", b"The quick brown fox jumps over the lazy dog.") != signature(
        "key", b"The quick brown fox jumps over the lazy dog")


def test_without_a_secret_nothing_is_sent_unsigned() -> None:
    # Given an HTTP WMS and no secret for the warehouse (sockets are off in unit tests: any attempt to send would
    # raise pytest-socket's SocketBlockedError, not WmsRejected)
    with pytest.raises(WmsRejected) as refused:
        # When an instruction is pushed
        HttpWms("http://127.0.0.1:9/instructions", secrets={"WH-GZ": SECRET}).send(_instruction("WH-NEW"))
    # Then it was refused before anything was sent, and the refusal says what to configure
    assert "no signing secret for warehouse WH-NEW" in refused.value.message
    assert "OCP_WMS_SECRET_WH_NEW" in refused.value.message


def test_secrets_come_from_the_local_override_before_the_secrets_manager_secret() -> None:
    # Given an override for WH-NEW only, and no Secrets Manager secret configured
    secrets = WmsSigningSecrets(None, {secret_variable("WH-NEW"): SECRET, "OCP_WMS_SECRET_WH_GZ": ""})
    # Then WH-NEW's is the override, and an empty or absent one is none
    assert secret_variable("WH-NEW") == "OCP_WMS_SECRET_WH_NEW"
    assert (secrets.get("WH-NEW"), secrets.get("WH-GZ"), secrets.get("SUP.TEA")) == (SECRET, None, None)


# ---- which WMS ------------------------------------------------------------------------------------------


class _Connected:
    """A connector that records which registered endpoints it built an adapter for."""

    def __init__(self) -> None:
        self.wms = MemoryWms()
        self.endpoints: list[WmsEndpoint] = []

    def __call__(self, endpoint: WmsEndpoint) -> WmsAdapter:
        self.endpoints.append(endpoint)
        return self.wms


def _router(store: MemoryWarehouseStore, static: dict[str, WmsAdapter], clock: list[float] | None = None,
            ) -> tuple[WmsRouter, _Connected]:
    ticks = clock if clock is not None else [0.0]
    directory = CachedWarehouses(store, seed=["WH-GZ"], clock=lambda: ticks[0])
    connected = _Connected()
    return WmsRouter(static, directory=directory, connect=connected), connected


def test_a_registered_wms_wins_over_the_deployed_one_and_the_deployed_one_serves_the_rest() -> None:
    # Given WH-GZ deployed with a queue and also registered with an HTTP WMS, and WH-SH deployed only
    store = MemoryWarehouseStore()
    put_warehouse(store, "WH-GZ", {"wms": {"type": "http", "url": "https://wms.example.com/gz"}}, NOW)
    deployed_gz, deployed_sh = MemoryWms(), MemoryWms()
    router, connected = _router(store, {"WH-GZ": deployed_gz, "WH-SH": deployed_sh})
    # When an instruction goes to each
    router.send(_instruction("WH-GZ"))
    router.send(_instruction("WH-SH"))
    # Then WH-GZ's went to its registered WMS, WH-SH's to its deployed one
    assert connected.endpoints == [HttpWmsEndpoint(type="http", url="https://wms.example.com/gz")]
    assert [i.warehouse for i in connected.wms.sent] == ["WH-GZ"] and deployed_gz.sent == []
    assert [i.warehouse for i in deployed_sh.sent] == ["WH-SH"]


def test_a_warehouse_registered_after_the_cache_loaded_is_found_by_one_recheck() -> None:
    # Given a router whose directory was loaded before WH-NEW was registered
    store, clock = MemoryWarehouseStore(), [0.0]
    router, connected = _router(store, {}, clock)
    with pytest.raises(WmsRejected):
        router.send(_instruction("WH-NEW"))
    put_warehouse(store, "WH-NEW", {"wms": {"type": "sqs", "queue_url": QUEUE}}, NOW)
    # When an instruction for WH-NEW comes two seconds later (well within the 30 s TTL)
    clock[0] = 2.0
    router.send(_instruction("WH-NEW"))
    # Then the miss re-read the registry and the instruction went to the registered queue
    assert connected.endpoints == [SqsWmsEndpoint(type="sqs", queue_url=QUEUE)]
    assert [i.warehouse for i in connected.wms.sent] == ["WH-NEW"]


def test_a_warehouse_with_no_wms_anywhere_is_refused_with_what_to_do() -> None:
    # Given a router with nothing registered or deployed for WH-NEW
    router, _ = _router(MemoryWarehouseStore(), {"WH-GZ": MemoryWms()})
    # When / Then
    with pytest.raises(WmsRejected) as refused:
        router.send(_instruction("WH-NEW"))
    assert refused.value.message == (
        "no WMS configured for warehouse WH-NEW: PUT /warehouses/WH-NEW with a wms, then re-dispatch "
        "(POST /orders:redispatch)")


class _Down(MemoryWarehouseStore):
    def all(self) -> list[Warehouse]:
        raise ConnectionError("warehouses table unreachable")


def test_an_unreadable_registry_is_a_retry_not_a_refusal() -> None:
    # Given the registry cannot be read and nothing was loaded yet / When / Then: unavailable (the queue retries)
    router, _ = _router(_Down(), {"WH-GZ": MemoryWms()})
    with pytest.raises(WmsUnavailable):
        router.send(_instruction("WH-GZ"))


def test_the_connector_builds_a_queue_or_a_signed_push_for_a_registered_wms() -> None:
    # Given / When / Then
    connect = connector(sqs_client=object(), secrets={"WH-NEW": SECRET})
    assert isinstance(connect(SqsWmsEndpoint(type="sqs", queue_url=QUEUE)), SqsWms)
    assert isinstance(connect(HttpWmsEndpoint(type="http", url="https://wms.example.com/in")), HttpWms)


# ---- the order -----------------------------------------------------------------------------------------


def test_an_order_routed_to_a_warehouse_without_a_wms_says_so_and_dispatches_once_one_is_registered() -> None:
    # Given a reserved order routed to WH-NEW, which has no WMS anywhere
    orders, store, clock = MemoryFulfillmentOrders(), MemoryWarehouseStore(), [0.0]
    orders.create(order_at(OrderStatus.reserved, warehouse="WH-NEW"))
    router, connected = _router(store, {"WH-GZ": MemoryWms()}, clock)
    deps = DispatchDeps(orders=orders, wms=router, now=lambda: NOW)
    # When it is dispatched
    result = dispatch(DispatchRequest(order_id=ORDER_ID), deps)
    # Then the order stays reserved with the reason as an issue and on its timeline (not silently stuck)
    order = orders.get(ORDER_ID)
    assert order is not None and result.outcome == DispatchOutcome.rejected
    assert order.status == OrderStatus.reserved and order.fulfillment.instruction_version == 0
    [issue] = order.fulfillment.issues
    assert issue.kind == IssueKind.dispatch_rejected
    assert issue.reason.startswith("WH-NEW: no WMS configured for warehouse WH-NEW: PUT /warehouses/WH-NEW with a wms")
    assert (order.timeline[-1].event, order.timeline[-1].detail) == ("dispatch_rejected", issue.reason)
    # When the warehouse is registered with a WMS and the order re-dispatched
    put_warehouse(store, "WH-NEW", {"wms": {"type": "sqs", "queue_url": QUEUE}}, NOW)
    clock[0] = 2.0
    again = dispatch_now(ORDER_ID, deps, actor="ops")
    # Then it goes there
    assert again.outcome == DispatchOutcome.dispatched
    assert [i.warehouse for i in connected.wms.sent] == ["WH-NEW"]
