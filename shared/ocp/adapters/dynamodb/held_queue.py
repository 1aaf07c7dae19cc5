"""The held queue's reads over the `orders` table: pages of the `by_status` index filtered by hold reason,
and the sparse `by_release_due` index of held orders whose timed hold (pre-sale) ends.

A page reads the index in time order and keeps the orders whose `hold_reasons` contain the reason; it stops once
it has `limit` orders (the key of the last one returned is where the next page starts, so nothing read is skipped)
or after `max_reads` requests, answering what it found so far with the key to go on from.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ocp.adapters.dynamodb.buckets import due_order_ids
from ocp.adapters.dynamodb.orders import order_from_item
from ocp.domain.operations.held_queue import RELEASE_BUCKETS
from ocp.domain.order.model import HoldReason, OrderStatus
from ocp.ports import OrderPage

_INDEX_KEY = ("order_id", "status", "status_since")


class DynamoHeldQueueQueries:
    def __init__(self, table: Any, read_size: int = 200, max_reads: int = 10) -> None:
        """`table` is a boto3 `dynamodb.Table` resource for the `orders` table."""
        self._table = table
        self._read_size = read_size
        self._max_reads = max_reads

    def page(self, status: OrderStatus, reason: HoldReason | None, limit: int,
             start: Mapping[str, str] | None = None) -> OrderPage:
        query: dict[str, Any] = {
            "IndexName": "by_status",
            "KeyConditionExpression": "#status = :status",
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": {":status": status.value},
            "Limit": max(limit, self._read_size) if reason else limit,
        }
        if reason is not None:
            query["FilterExpression"] = "contains(hold_reasons, :reason)"
            query["ExpressionAttributeValues"][":reason"] = reason.value
        if start:
            query["ExclusiveStartKey"] = dict(start)
        found: list[dict[str, Any]] = []
        last: dict[str, Any] | None = None
        for _ in range(self._max_reads):
            response = self._table.query(**query)
            items = response.get("Items", [])
            last = response.get("LastEvaluatedKey")
            if len(found) + len(items) >= limit:
                taken = items[:limit - len(found)]
                found += taken
                more = len(taken) < len(items) or last is not None
                return _page(found, _key_of(taken[-1]) if more and taken else None)
            found += items
            if last is None:
                return _page(found, None)
            query["ExclusiveStartKey"] = last
        return _page(found, {k: str(v) for k, v in (last or {}).items()} or None)

    def release_due(self, until: datetime, limit: int) -> list[str]:
        return due_order_ids(self._table, index="by_release_due", bucket="release_bucket", prefix="rel#",
                             buckets=RELEASE_BUCKETS, due="release_due_at", until=until, limit=limit)


def _key_of(item: Mapping[str, Any]) -> dict[str, str]:
    return {name: str(item[name]) for name in _INDEX_KEY}


def _page(items: list[dict[str, Any]], last: dict[str, str] | None) -> OrderPage:
    return OrderPage(orders=[order_from_item(item) for item in items], last_key=last)
