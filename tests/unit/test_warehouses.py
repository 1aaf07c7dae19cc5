"""Warehouses and suppliers: validation of `PUT /warehouses/{warehouse}`, the list with the configured
ones, and the routing directory cached per process."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ocp.adapters.memory.warehouses import MemoryWarehouseStore
from ocp.domain.decisions.routing import WarehouseFacts, WarehouseKind
from ocp.domain.fulfillment.wms import HttpWmsEndpoint, SqsWmsEndpoint
from ocp.domain.operations.warehouses import InvalidWarehouse, Warehouse
from ocp.services.operations.warehouses import CachedWarehouses, list_warehouses, put_warehouse

NOW = datetime(2026, 11, 11, 4, 0, tzinfo=UTC)


def test_a_warehouse_is_validated_with_every_problem_listed() -> None:
    # Given / When a body with a bad id, kind, cut-off, zone and an unknown key
    with pytest.raises(InvalidWarehouse) as refused:
        put_warehouse(MemoryWarehouseStore(), "WH#1", {"kind": "moon", "cutoff": "7pm", "timezone": "Mars/Base",
                                                       "colour": "red"}, NOW)
    # Then each is named
    assert {d["path"] for d in refused.value.details} == {"warehouse", "kind", "cutoff", "timezone", "colour"}  # type: ignore[union-attr]


def test_the_list_has_the_registered_and_the_configured_warehouses() -> None:
    # Given a supplier registered and WH-GZ registered as inactive
    store = MemoryWarehouseStore()
    put_warehouse(store, "SUP-TEA", {"kind": "supplier", "cutoff": "15:30"}, NOW)
    put_warehouse(store, "WH-GZ", {"active": False}, NOW)
    # When listed with the configured WH-GZ and WH-SH
    listed = list_warehouses(store, ["WH-GZ", "WH-SH"]).warehouses
    # Then the registration wins over the configuration
    assert [(w.warehouse_id, w.kind, w.active, w.source) for w in listed] == [
        ("SUP-TEA", WarehouseKind.supplier, True, "registry"), ("WH-GZ", WarehouseKind.own, False, "registry"),
        ("WH-SH", WarehouseKind.own, True, "configuration")]


class _Flaky(MemoryWarehouseStore):
    fail = False

    def all(self) -> list[Warehouse]:
        if self.fail:
            raise ConnectionError("table unreachable")
        return super().all()


def test_the_directory_reads_once_per_ttl_and_keeps_serving_when_a_refresh_fails() -> None:
    # Given a directory over a store, on a clock
    store, clock, errors = _Flaky(), [0.0], []
    directory = CachedWarehouses(store, seed=["WH-GZ"], ttl_s=30, clock=lambda: clock[0], on_error=errors.append)
    # When routing asks many times within the TTL
    first = [directory.facts() for _ in range(5)][-1]
    # Then it read once
    assert (first, store.reads) == ({"WH-GZ": WarehouseFacts("WH-GZ", WarehouseKind.own)}, 1)
    # When a bonded warehouse is registered, and the store fails at the next refresh
    store.put(Warehouse(warehouse_id="BW-HZ", kind=WarehouseKind.bonded))
    store.fail, clock[0] = True, 31.0
    # Then the directory keeps what it had, says why, and sees the new one once the store answers again
    assert directory.facts() == first and len(errors) == 1
    store.fail, clock[0] = False, 62.0
    assert set(directory.facts()) == {"BW-HZ", "WH-GZ"}


# ---- a warehouse's WMS ----------------------------------------------------------------------------------

QUEUE = "https://sqs.cn-north-1.amazonaws.com.cn/123456789012/ocp-wms-sup-tea"


@pytest.mark.parametrize("wms", [
    {"type": "http", "url": "https://wms.example.com/ocp/instructions?tenant=7"},
    {"type": "http", "url": "http://127.0.0.1:8080/instructions"},
    {"type": "http", "url": "http://localhost/instructions"},
    {"type": "sqs", "queue_url": QUEUE},
    {"type": "sqs", "queue_url": "https://sqs.us-east-1.amazonaws.com/123456789012/ocp-wms-wh-new"},
    {"type": "sqs", "queue_url": "http://127.0.0.1:5000/123456789012/ocp-wms-local"},
])
def test_a_warehouse_may_name_its_wms_which_is_stored_and_listed_as_sent(wms: dict[str, str]) -> None:
    # Given / When a supplier is registered with its WMS
    store = MemoryWarehouseStore()
    stored = put_warehouse(store, "SUP-TEA", {"kind": "supplier", "wms": wms}, NOW)
    # Then the WMS is kept exactly as sent, and listed with the warehouse
    assert stored.model_dump(mode="json")["wms"] == wms
    [listed] = list_warehouses(store).warehouses
    assert listed.model_dump(mode="json")["wms"] == wms


@pytest.mark.parametrize(("wms", "path", "says"), [
    ({"type": "http", "url": "http://wms.example.com/in"}, "wms.http.url", "https:// is required"),
    ({"type": "http", "url": "ftp://wms.example.com/in"}, "wms.http.url", "https:// is required"),
    ({"type": "http", "url": "https://ocp:pw@wms.example.com/in"}, "wms.http.url", "no credentials"),
    ({"type": "http", "url": "wms.example.com"}, "wms.http.url", "a URL such as"),
    ({"type": "http"}, "wms.http.url", "Field required"),
    ({"type": "http", "url": "https://wms.example.com", "secret": "x"}, "wms.http.secret", "unknown key"),
    ({"type": "sqs", "queue_url": "https://example.com/123456789012/ocp-wms-x"}, "wms.sqs.queue_url",
     "an SQS queue URL"),
    ({"type": "sqs", "queue_url": "https://sqs.us-east-1.amazonaws.com/123456789012/wms-sup-tea"},
     "wms.sqs.queue_url", "must start with 'ocp-wms-'"),
    ({"type": "sqs", "queue_url": "https://sqs.us-east-1.amazonaws.com/123456789012/ocp-wms-x.fifo"},
     "wms.sqs.queue_url", "a standard queue"),
    ({"type": "kafka", "topic": "orders"}, "wms", "does not match any of the expected tags"),
])
def test_a_wms_that_ocp_cannot_or_may_not_reach_is_refused_naming_the_field(
    wms: dict[str, str], path: str, says: str,
) -> None:
    # Given / When a warehouse is registered with that WMS
    store = MemoryWarehouseStore()
    with pytest.raises(InvalidWarehouse) as refused:
        put_warehouse(store, "SUP-TEA", {"kind": "supplier", "wms": wms}, NOW)
    # Then the one problem names the field and why, and nothing is stored
    [detail] = refused.value.details  # type: ignore[misc]
    assert detail["path"] == path and says in detail["problem"]
    assert store.all() == []


def test_the_directory_serves_registered_wms_and_rechecks_a_miss_at_most_once_a_second() -> None:
    # Given a directory loaded with SUP-TEA's queue, on a clock
    store, clock = MemoryWarehouseStore(), [0.0]
    put_warehouse(store, "SUP-TEA", {"wms": {"type": "sqs", "queue_url": QUEUE}}, NOW)
    directory = CachedWarehouses(store, seed=["WH-GZ"], ttl_s=30, clock=lambda: clock[0])
    assert directory.wms("SUP-TEA") == SqsWmsEndpoint(type="sqs", queue_url=QUEUE)
    assert (directory.wms("WH-GZ"), store.reads) == (None, 1)
    # When SUP-HK is registered after the load, and asked for at once, then 2 s later
    put_warehouse(store, "SUP-HK", {"wms": {"type": "http", "url": "https://wms.example.hk/in"}}, NOW)
    without_recheck = directory.wms("SUP-HK")
    too_soon = directory.wms("SUP-HK", recheck=True)
    clock[0] = 2.0
    rechecked = directory.wms("SUP-HK", recheck=True)
    # Then only a recheck after a second reads the store again, and finds it
    assert (without_recheck, too_soon) == (None, None)
    assert rechecked == HttpWmsEndpoint(type="http", url="https://wms.example.hk/in")
    assert store.reads == 2
