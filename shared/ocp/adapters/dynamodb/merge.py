"""Merged parcels over the `orders` table: the sparse `by_merge_due` index (orders whose merge run is due, spread
over buckets) and `by_merge_key` (waiting orders by merge key), and a group's orders written in one transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ocp.adapters.dynamodb.buckets import due_order_ids
from ocp.adapters.dynamodb.items import to_item
from ocp.adapters.dynamodb.orders import order_item
from ocp.adapters.dynamodb.transactions import RetryPolicy, transact
from ocp.domain.fulfillment.merge_window import MERGE_BUCKETS

if TYPE_CHECKING:
    from ocp.domain.order.model import Order


class DynamoMergeGroups:
    def __init__(self, table: Any, client: Any, retry: RetryPolicy | None = None) -> None:
        """`table`: the boto3 `dynamodb.Table` of `orders`; `client`: a low-level DynamoDB client (transactions)."""
        self._table = table
        self._client = client
        self._retry = retry or RetryPolicy()

    def due(self, until: datetime, limit: int) -> list[str]:
        return due_order_ids(self._table, index="by_merge_due", bucket="merge_bucket", prefix="mrg#",
                             buckets=MERGE_BUCKETS, due="merge_due_at", until=until, limit=limit)

    def waiting_with(self, key: str, limit: int) -> list[str]:
        response = self._table.query(
            IndexName="by_merge_key",
            KeyConditionExpression="merge_key = :k",
            ExpressionAttributeValues={":k": key},
            ProjectionExpression="order_id",
            Limit=limit,
        )
        return [str(i["order_id"]) for i in response.get("Items", [])]

    def claim(self, changes: Sequence[tuple[Order, int]]) -> bool:
        items = [_put(order, expected, self._table.name) for order, expected in changes]
        # None: written; else a condition failed (`transact` raises on anything else): an order changed meanwhile.
        return transact(self._client, items, self._retry) is None


def _put(order: Order, expected: int, table: str) -> dict[str, Any]:
    stored = order.model_copy(update={"revision": expected + 1})
    return {"Put": {"TableName": table, "Item": to_item(order_item(stored)),
                    "ConditionExpression": "revision = :expected",
                    "ExpressionAttributeValues": to_item({":expected": expected})}}
