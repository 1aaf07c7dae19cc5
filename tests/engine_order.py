"""An `orders` table whose status-index queries give items of equal index keys in descending order id.

DynamoDB sets no order among items with equal index keys, but moto sorts them by the table key, so a reader that
leans on that order passes against moto alone. This view reorders moto's answer and pages it itself, as DynamoDB
does: `Limit` counts items evaluated before the filter, `LastEvaluatedKey` is the last one evaluated."""

from __future__ import annotations

import re
from types import SimpleNamespace
from typing import Any

_INDEX = "by_status_bucket"


class EngineOrderTable:
    """A boto3 `Table` (and its `meta.client`) with the status index's ties in descending order id."""

    def __init__(self, table: Any) -> None:
        self._table = table
        self.name = table.name
        self.meta = SimpleNamespace(client=_EngineOrderClient(table.meta.client))

    def query(self, **query: Any) -> dict[str, Any]:
        return self.meta.client.query(TableName=self.name, **query)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._table, name)


class _EngineOrderClient:
    def __init__(self, client: Any) -> None:
        self._client = client

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def query(self, **query: Any) -> dict[str, Any]:
        if query.get("IndexName") != _INDEX:
            return self._client.query(**query)
        limit, start = query.pop("Limit", None), query.pop("ExclusiveStartKey", None)
        evaluated = sorted(sorted(self._all(_key_condition_only(query)), key=lambda i: i["order_id"], reverse=True),
                           key=lambda i: i["status_since"])
        answered = {i["order_id"]: i for i in self._all(query)}
        at = 0 if start is None else [i["order_id"] for i in evaluated].index(start["order_id"]) + 1
        taken = evaluated[at:at + limit] if limit else evaluated[at:]
        page: dict[str, Any] = {"Items": [answered[i["order_id"]] for i in taken if i["order_id"] in answered]}
        if at + len(taken) < len(evaluated):
            last = taken[-1]
            page["LastEvaluatedKey"] = {"order_id": last["order_id"], "status_since": last["status_since"],
                                        "status_bucket": last["status_bucket"]}
        return page

    def _all(self, query: dict[str, Any]) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        while True:
            page = self._client.query(**query)
            found += page.get("Items", [])
            if "LastEvaluatedKey" not in page:
                return found
            query = {**query, "ExclusiveStartKey": page["LastEvaluatedKey"]}


def _key_condition_only(query: dict[str, Any]) -> dict[str, Any]:
    """The query without its filter and projection (every item the key condition selects, whole)."""
    condition = query["KeyConditionExpression"]

    def used(mapping: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in mapping.items() if re.search(re.escape(k) + r"\b", condition)}

    names, values = used(query.get("ExpressionAttributeNames", {})), used(query.get("ExpressionAttributeValues", {}))
    return {"TableName": query["TableName"], "IndexName": _INDEX, "KeyConditionExpression": condition,
            **({"ExpressionAttributeNames": names} if names else {}),
            **({"ExpressionAttributeValues": values} if values else {})}
