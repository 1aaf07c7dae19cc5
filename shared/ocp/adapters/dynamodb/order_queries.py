"""Stuck-order queries over the `orders` table's indexes: the bucketed status index (`status_index`) and the sparse
`by_writeback_pending` (channel, writeback_pending_since). Every page is read; only summary attributes return."""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from ocp.adapters.dynamodb.status_index import oldest_first
from ocp.domain.clock import iso
from ocp.domain.fulfillment.stuck import OrderSummary
from ocp.domain.order.enums import Channel, OrderStatus

_SUMMARY = ("order_id", "channel", "status", "status_since", "warehouse", "writeback_pending_since")
# Every name aliased (`status` is a DynamoDB reserved word; the others may become one).
_NAMES = {f"#{name}": name for name in _SUMMARY}
_SUMMARY_PROJECTION = {"ProjectionExpression": ", ".join(_NAMES), "ExpressionAttributeNames": _NAMES}


class DynamoOrderQueries:
    def __init__(self, table: Any, page_size: int = 500) -> None:
        """`table` is a boto3 `dynamodb.Table` resource for the `orders` table."""
        self._table = table
        self._page_size = page_size

    def in_status(self, status: OrderStatus, until: datetime) -> Iterator[OrderSummary]:
        return self._summaries(oldest_first(self._table, status, until=iso(until), page_size=self._page_size,
                                            extra=_SUMMARY_PROJECTION))

    def in_status_after(self, status: OrderStatus, after: tuple[datetime, str] | None) -> Iterator[OrderSummary]:
        start = (iso(after[0]), after[1]) if after is not None else None
        return self._summaries(oldest_first(self._table, status, after=start, page_size=self._page_size,
                                            extra=_SUMMARY_PROJECTION))

    def writeback_pending(self, until: datetime) -> Iterator[OrderSummary]:
        per_channel = [
            self._query(
                IndexName="by_writeback_pending",
                KeyConditionExpression="#channel = :channel AND #writeback_pending_since <= :until",
                ExpressionAttributeValues={":channel": channel.value, ":until": iso(until)},
            )
            for channel in Channel
        ]
        return heapq.merge(*per_channel, key=lambda s: (s.writeback_pending_since, s.order_id))

    @staticmethod
    def _summaries(items: Iterator[dict[str, Any]]) -> Iterator[OrderSummary]:
        return (OrderSummary.model_validate(item) for item in items)

    def _query(self, **query: Any) -> Iterator[OrderSummary]:
        query |= {"ProjectionExpression": ", ".join(_NAMES), "ExpressionAttributeNames": _NAMES,
                  "Limit": self._page_size}
        while True:
            page = self._table.query(**query)
            for item in page.get("Items", []):
                yield OrderSummary.model_validate(item)
            if "LastEvaluatedKey" not in page:
                return
            query["ExclusiveStartKey"] = page["LastEvaluatedKey"]
