"""Warehouses and suppliers: `PUT /warehouses/{warehouse}`, `GET /warehouses`, and the per-process directory the
order processor routes with and the dispatcher finds each warehouse's WMS in (refreshed every 30 s: no read per
order)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from ocp.domain.clock import iso
from ocp.domain.operations.warehouses import Warehouse, WarehouseList, directory, parse_warehouse, routing_facts

if TYPE_CHECKING:
    from ocp.domain.decisions.routing import WarehouseFacts
    from ocp.domain.fulfillment.wms import WmsEndpoint
    from ocp.ports import WarehouseStore

DEFAULT_TTL_S = 30.0
RECHECK_S = 1.0
"""A warehouse whose WMS is not found is read again at most this often per process (it may be brand new)."""


def put_warehouse(store: WarehouseStore, warehouse_id: str, body: Any, now: datetime) -> Warehouse:
    """Validate (`InvalidWarehouse` lists every problem) and store, replacing what was registered."""
    warehouse = parse_warehouse(warehouse_id, body, updated_at=iso(now))
    store.put(warehouse)
    return warehouse


def list_warehouses(store: WarehouseStore, seed: Iterable[str] = ()) -> WarehouseList:
    return WarehouseList(warehouses=list(directory(store.all(), seed).values()))


class _Snapshot(NamedTuple):
    at: float
    warehouses: dict[str, Warehouse]
    facts: dict[str, WarehouseFacts]


class CachedWarehouses:
    """Every warehouse (routing facts, registered WMS), reloaded at most every `ttl_s`. A failed reload keeps
    serving what it has (and reports it); with nothing loaded yet it raises, so the message is retried."""

    def __init__(
        self,
        store: WarehouseStore,
        seed: Iterable[str] = (),
        ttl_s: float = DEFAULT_TTL_S,
        clock: Callable[[], float] = time.monotonic,
        on_error: Callable[[Exception], None] | None = None,
    ) -> None:
        self._store = store
        self._seed = tuple(seed)
        self._ttl_s = ttl_s
        self._clock = clock
        self._on_error = on_error
        self._lock = threading.Lock()
        self._loaded: _Snapshot | None = None

    def facts(self) -> dict[str, WarehouseFacts]:
        return self._snapshot(self._ttl_s).facts

    def wms(self, warehouse: str, *, recheck: bool = False) -> WmsEndpoint | None:
        """`WmsDirectory`: the warehouse's registered WMS (an inactive warehouse keeps it: its orders still go)."""
        found = self._snapshot(min(self._ttl_s, RECHECK_S) if recheck else self._ttl_s).warehouses.get(warehouse)
        return found.wms if found is not None else None

    def _snapshot(self, max_age_s: float) -> _Snapshot:
        loaded = self._loaded
        if loaded is not None and self._clock() - loaded.at < max_age_s:
            return loaded
        with self._lock:
            now = self._clock()
            if self._loaded is not None and now - self._loaded.at < max_age_s:
                return self._loaded
            try:
                warehouses = directory(self._store.all(), self._seed)
                loaded = _Snapshot(now, warehouses, routing_facts(warehouses))
            except Exception as exc:  # noqa: BLE001 — keep routing with what we know
                if self._loaded is None:
                    raise
                if self._on_error is not None:
                    self._on_error(exc)
                loaded = self._loaded._replace(at=now)
            self._loaded = loaded
            return loaded

    def invalidate(self) -> None:
        with self._lock:
            self._loaded = None
