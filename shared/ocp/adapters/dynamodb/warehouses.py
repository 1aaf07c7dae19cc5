"""Warehouses and suppliers in the `warehouses` table: one item per registered warehouse or supplier, read by
the warehouses API, the routing directory (and the dispatcher's registered WMS) and the inventory's "is this
warehouse known?"."""

from __future__ import annotations

from typing import Any

from ocp.adapters.dynamodb.items import every_page_item
from ocp.domain.operations.warehouses import Warehouse

_FIELDS = ("kind", "name", "region", "cutoff", "timezone", "active", "wms", "return_address", "updated_at")


class DynamoWarehouseStore:
    def __init__(self, table: Any, seed: frozenset[str] = frozenset()) -> None:
        """`table` is a boto3 `dynamodb.Table` resource for the `warehouses` table; `seed` the warehouses known
        from configuration before any is registered."""
        self._table = table
        self._seed = seed
        self._seen: set[str] = set()

    def get(self, warehouse_id: str) -> Warehouse | None:
        item = self._table.get_item(Key={"warehouse_id": warehouse_id}, ConsistentRead=True).get("Item")
        return _to_warehouse(item) if item else None

    def put(self, warehouse: Warehouse) -> None:
        self._table.put_item(Item=warehouse.model_dump(mode="json", exclude_none=True, exclude={"source"}))

    def known(self, warehouse: str) -> bool:
        """The inventory's `WarehouseRegistry`: configured, or registered (remembered once seen: never deleted)."""
        if warehouse in self._seed or warehouse in self._seen:
            return True
        if self._table.get_item(Key={"warehouse_id": warehouse}).get("Item"):
            self._seen.add(warehouse)
            return True
        return False

    def all(self) -> list[Warehouse]:
        return sorted((_to_warehouse(i) for i in every_page_item(self._table.scan)), key=lambda w: w.warehouse_id)


def _to_warehouse(item: dict[str, Any]) -> Warehouse:
    if "kind" not in item:  # registered before the warehouses API: known to inventory, an own warehouse
        return Warehouse(warehouse_id=str(item["warehouse_id"]))
    return Warehouse.model_validate({"warehouse_id": item["warehouse_id"],
                                     **{k: item[k] for k in _FIELDS if k in item}})
