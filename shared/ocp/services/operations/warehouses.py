"""Warehouses and suppliers: `PUT /warehouses/{warehouse}`, `GET /warehouses`, and the per-process directory the
order processor routes with (refreshed every 30 s: no read per order)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from ocp.domain.clock import iso
from ocp.domain.decisions.routing import WarehouseFacts
from ocp.domain.operations.warehouses import Warehouse, WarehouseList, directory, parse_warehouse, routing_facts
from ocp.ports import WarehouseStore

DEFAULT_TTL_S = 30.0


def put_warehouse(store: WarehouseStore, warehouse_id: str, body: Any, now: datetime) -> Warehouse:
    """Validate (`InvalidWarehouse` lists every problem) and store, replacing what was registered."""
    warehouse = parse_warehouse(warehouse_id, body, updated_at=iso(now))
    store.put(warehouse)
    return warehouse


def list_warehouses(store: WarehouseStore, seed: Iterable[str] = ()) -> WarehouseList:
    return WarehouseList(warehouses=list(directory(store.all(), seed).values()))


class CachedWarehouses:
    """Every warehouse's routing facts, reloaded at most every `ttl_s`. A failed reload keeps serving what it has
    (and reports it); with nothing loaded yet it raises, so the message is retried."""

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
        self._loaded: tuple[float, dict[str, WarehouseFacts]] | None = None

    def facts(self) -> dict[str, WarehouseFacts]:
        loaded = self._loaded
        if loaded is not None and self._clock() - loaded[0] < self._ttl_s:
            return loaded[1]
        with self._lock:
            now = self._clock()
            if self._loaded is not None and now - self._loaded[0] < self._ttl_s:
                return self._loaded[1]
            try:
                facts = routing_facts(directory(self._store.all(), self._seed))
            except Exception as exc:  # noqa: BLE001 — keep routing with what we know
                if self._loaded is None:
                    raise
                if self._on_error is not None:
                    self._on_error(exc)
                facts = self._loaded[1]
            self._loaded = (now, facts)
            return facts

    def invalidate(self) -> None:
        with self._lock:
            self._loaded = None
