"""Warehouses and suppliers: validation of `PUT /warehouses/{warehouse}`, the list with the configured
ones, and the routing directory cached per process."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ocp.adapters.memory.warehouses import MemoryWarehouseStore
from ocp.domain.decisions.routing import WarehouseFacts, WarehouseKind
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
