"""The held queue's reads over the `orders` table: pages of the bucketed status index (`status_index`) filtered
by hold reason, and the sparse `by_release_due` index of held orders whose timed hold (pre-sale) ends.

A page reads every bucket of the status in time order and keeps the orders whose `hold_reasons` contain the
reason; each bucket stops once it has `limit` orders or after `max_reads` requests. The page is the oldest
`limit` orders the buckets prove oldest (a bucket that stopped early bounds it), and the position of the last
one (or the bound) is where the next page starts, so nothing is skipped. The index carries only what the filter
reads: the page's orders are then read by id (consistently: one that has left the status meanwhile is dropped).
The buckets are read side by side, through the table's client (thread-safe, unlike the resource).
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ocp.adapters.dynamodb.buckets import due_order_ids
from ocp.adapters.dynamodb.orders import order_from_item
from ocp.adapters.dynamodb.status_index import BucketQuery, Position, merge_page, read_bucket
from ocp.domain.operations.held_queue import RELEASE_BUCKETS
from ocp.domain.order.status_buckets import status_buckets
from ocp.domain.order.views import OrderPage

if TYPE_CHECKING:
    from ocp.domain.order.model import HoldReason, Order, OrderStatus

_BATCH_GET = 100
_READERS = 8
"""Buckets read at once: under botocore's default pool of 10 connections per client."""


class DynamoHeldQueueQueries:
    def __init__(self, table: Any, read_size: int = 200, max_reads: int = 4) -> None:
        """`table` is a boto3 `dynamodb.Table` resource for the `orders` table; `max_reads`: requests per bucket
        for one page."""
        self._table = table
        self._read_size = read_size
        self._max_reads = max_reads

    def page(self, status: OrderStatus, reason: HoldReason | None, limit: int,
             start: Mapping[str, str] | None = None) -> OrderPage:
        after: Position | None = (start["status_since"], start["order_id"]) if start else None
        extra: dict[str, Any] = {"ProjectionExpression": "order_id, #status_since"}
        if reason is not None:
            extra |= {"FilterExpression": "contains(hold_reasons, :reason)",
                      "ExpressionAttributeValues": {":reason": reason.value}}
        page_size = max(limit, self._read_size) if reason else limit
        queries = [BucketQuery(self._table, bucket, after, None, page_size, extra) for bucket in status_buckets(status)]
        with ThreadPoolExecutor(max_workers=_READERS, thread_name_prefix="held-queue") as pool:
            reads = list(pool.map(lambda query: read_bucket(query, limit, self._max_reads), queries))
        items, last = merge_page(reads, limit)
        orders = [o for o in self._orders([str(i["order_id"]) for i in items]) if _still_listed(o, status, reason)]
        key = {"order_id": last[1], "status": status.value, "status_since": last[0]} if last else None
        return OrderPage(orders=orders, last_key=key)

    def _orders(self, order_ids: list[str]) -> list[Order]:
        """The orders, in the order asked."""
        found: dict[str, Order] = {}
        for at in range(0, len(order_ids), _BATCH_GET):
            request: dict[str, Any] = {self._table.name: {
                "Keys": [{"order_id": i} for i in order_ids[at:at + _BATCH_GET]], "ConsistentRead": True}}
            while request:
                response = self._table.meta.client.batch_get_item(RequestItems=request)
                for item in response.get("Responses", {}).get(self._table.name, []):
                    order = order_from_item(item)
                    found[order.order_id] = order
                request = response.get("UnprocessedKeys") or {}
        return [found[i] for i in order_ids if i in found]

    def release_due(self, until: datetime, limit: int) -> list[str]:
        return due_order_ids(self._table, index="by_release_due", bucket="release_bucket", prefix="rel#",
                             buckets=RELEASE_BUCKETS, due="release_due_at", until=until, limit=limit)


def _still_listed(order: Order, status: OrderStatus, reason: HoldReason | None) -> bool:
    return order.status == status and (reason is None or any(h.reason == reason for h in order.holds))
