"""In-memory twins of the `warehouses` table: the registry the warehouses API writes, and the inventory's
"is this warehouse known?" over a fixed set."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ocp.domain.operations.warehouses import Warehouse


class MemoryWarehouseStore:
    def __init__(self, warehouses: list[Warehouse] | None = None) -> None:
        self._items = {w.warehouse_id: w for w in warehouses or []}
        self._lock = threading.Lock()
        self.reads = 0
        """Reads served (tests assert that the routing cache spares the store)."""

    def get(self, warehouse_id: str) -> Warehouse | None:
        self.reads += 1
        return self._items.get(warehouse_id)

    def put(self, warehouse: Warehouse) -> None:
        with self._lock:
            self._items[warehouse.warehouse_id] = warehouse.model_copy(update={"source": "registry"})

    def all(self) -> list[Warehouse]:
        self.reads += 1
        return sorted(self._items.values(), key=lambda w: w.warehouse_id)

    def known(self, warehouse: str) -> bool:
        """The inventory's `WarehouseRegistry` over the same items."""
        return warehouse in self._items


@dataclass
class MemoryWarehouses:
    ids: set[str] = field(default_factory=set)

    def known(self, warehouse: str) -> bool:
        return warehouse in self.ids
