"""Warehouses and suppliers in the `warehouses` table (issue #5): one item per registered warehouse.

The inventory's `DynamoWarehouses` (is a warehouse known?) reads the same items by key.
"""

from __future__ import annotations

from typing import Any

from ocp.domain.operations.warehouses import Warehouse

_FIELDS = ("kind", "name", "region", "cutoff", "timezone", "active", "updated_at")


class DynamoWarehouseStore:
    def __init__(self, table: Any) -> None:
        """`table` is a boto3 `dynamodb.Table` resource for the `warehouses` table."""
        self._table = table

    def get(self, warehouse_id: str) -> Warehouse | None:
        item = self._table.get_item(Key={"warehouse_id": warehouse_id}, ConsistentRead=True).get("Item")
        return _to_warehouse(item) if item else None

    def put(self, warehouse: Warehouse) -> None:
        self._table.put_item(Item=warehouse.model_dump(mode="json", exclude_none=True, exclude={"source"}))

    def all(self) -> list[Warehouse]:
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {}
        while True:
            response = self._table.scan(**kwargs)
            items += response.get("Items", [])
            if "LastEvaluatedKey" not in response:
                break
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        return sorted((_to_warehouse(i) for i in items), key=lambda w: w.warehouse_id)


def _to_warehouse(item: dict[str, Any]) -> Warehouse:
    if "kind" not in item:  # registered before the warehouses API: known to inventory, an own warehouse
        return Warehouse(warehouse_id=str(item["warehouse_id"]))
    return Warehouse.model_validate({"warehouse_id": item["warehouse_id"],
                                     **{k: item[k] for k in _FIELDS if k in item}})
