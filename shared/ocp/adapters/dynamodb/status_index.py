"""The `orders` table's status index, `by_status_bucket` (`status_bucket` = `<status>#<n>`, `status_since`): each
status is spread over `STATUS_BUCKETS` keys (`ocp.domain.order.status_buckets`), so a reader queries every bucket
of the status and merges them oldest first, by (status_since, order_id).

A position (status_since, order_id) is where a reader stopped; it need not be in the index any more. Each bucket
resumes at `status_since >= position` and skips what is not after it. `status_since` is stored to the second, so
many orders share one, and the engine gives items with equal sort keys in no set order, spread over its pages: a
bucket's items at the time its last request reached are held back until a request passes that time (or the
bucket ends), and only then ordered by id. A position with an empty order id is one before every order of its time.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from ocp.domain.order.enums import OrderStatus
from ocp.domain.order.status_buckets import status_bucket, status_buckets

INDEX = "by_status_bucket"
Position = tuple[str, str]
"""(status_since as stored, order_id)."""


def position(item: dict[str, Any]) -> Position:
    return str(item["status_since"]), str(item["order_id"])


@dataclass(frozen=True)
class BucketQuery:
    """One bucket's query: the items after `after` whose `status_since` <= `until` (both optional)."""

    table: Any
    bucket: str
    after: Position | None = None
    until: str | None = None
    page_size: int = 500
    extra: dict[str, Any] = field(default_factory=dict)
    """More query arguments: a projection or a filter (names under `#…`, values under `:…`)."""

    def pages(self) -> Iterator[tuple[list[dict[str, Any]], Position | None]]:
        """After each request, the items (after `after`) now known complete, ordered, with the position before
        which the bucket has been read (None: read to its end)."""
        query = self._query()
        waiting: list[dict[str, Any]] = []
        while True:
            # The low-level client (thread-safe, unlike the resource) with the resource's type conversion.
            page = self.table.meta.client.query(TableName=self.table.name, **query)
            waiting += [i for i in page.get("Items", []) if self.after is None or position(i) > self.after]
            last = page.get("LastEvaluatedKey")
            if not last:
                yield sorted(waiting, key=position), None
                return
            reached = str(last["status_since"])
            yield sorted((i for i in waiting if str(i["status_since"]) < reached), key=position), (reached, "")
            waiting = [i for i in waiting if str(i["status_since"]) >= reached]
            query["ExclusiveStartKey"] = last

    def items(self) -> Iterator[dict[str, Any]]:
        for items, _ in self.pages():
            yield from items

    def _query(self) -> dict[str, Any]:
        names = {"#status_bucket": "status_bucket", "#status_since": "status_since"}
        values: dict[str, Any] = {":bucket": self.bucket}
        condition = "#status_bucket = :bucket"
        if self.after is not None and self.until is not None:
            condition += " AND #status_since BETWEEN :after AND :until"
            values |= {":after": self.after[0], ":until": self.until}
        elif self.after is not None:
            condition += " AND #status_since >= :after"
            values[":after"] = self.after[0]
        elif self.until is not None:
            condition += " AND #status_since <= :until"
            values[":until"] = self.until
        extra = dict(self.extra)
        names |= extra.pop("ExpressionAttributeNames", {})
        values |= extra.pop("ExpressionAttributeValues", {})
        return {"IndexName": INDEX, "KeyConditionExpression": condition, "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": values, "Limit": self.page_size, **extra}


def oldest_first(table: Any, status: OrderStatus, *, after: Position | None = None, until: str | None = None,
                 page_size: int = 500, extra: dict[str, Any] | None = None) -> Iterator[dict[str, Any]]:
    """Every item of `status` (after `after`, up to `until`), oldest first across its buckets, read lazily."""
    streams = [BucketQuery(table, bucket, after, until, page_size, extra or {}).items()
               for bucket in status_buckets(status)]
    return heapq.merge(*streams, key=position)


@dataclass(frozen=True)
class BucketRead:
    """What one bucket gave a bounded page read: its items, and where reading stopped (None: read to its end)."""

    items: list[dict[str, Any]]
    frontier: Position | None


def read_bucket(query: BucketQuery, wanted: int, max_reads: int) -> BucketRead:
    """Stops once `wanted` items are found, or after `max_reads` requests once past the time it resumed at (so
    every page moves on, even through more orders of one second than `max_reads` requests read)."""
    found: list[dict[str, Any]] = []
    frontier: Position | None = None
    for reads, (items, frontier) in enumerate(query.pages(), start=1):
        found += items
        if len(found) >= wanted:
            return BucketRead(found[:wanted], position(found[wanted - 1]))
        if frontier is None or (reads >= max_reads and (query.after is None or frontier > query.after)):
            break
    return BucketRead(found, frontier)


def merge_page(reads: list[BucketRead], limit: int) -> tuple[list[dict[str, Any]], Position | None]:
    """The oldest `limit` items the buckets' reads prove to be the oldest, and the position the next page starts
    after (None: nothing left). A bucket that stopped early bounds the page: beyond its frontier another bucket's
    item could be older than one it has not read."""
    frontiers = [r.frontier for r in reads if r.frontier is not None]
    bound = min(frontiers) if frontiers else None
    candidates = sorted((i for r in reads for i in r.items if bound is None or position(i) <= bound), key=position)
    page = candidates[:limit]
    if len(candidates) > limit or (page and len(page) == limit and bound is not None):
        return page, position(page[-1])
    return page, bound


def backfill_status_buckets(table: Any, *, segment: int = 0, segments: int = 1) -> int:
    """Give every order item written before the bucketed status index its `status_bucket` (the migration in
    docs/CAPACITY.md); answers how many it set. Idempotent and safe beside live writers: an item is updated only
    while it still has no bucket and the status read, and a writer that rewrote it meanwhile set the bucket itself.
    `segment` of `segments`: a parallel scan's share."""
    updated = 0
    query: dict[str, Any] = {
        "FilterExpression": "attribute_not_exists(status_bucket)", "ProjectionExpression": "order_id, #status",
        "ExpressionAttributeNames": {"#status": "status"}, "Segment": segment, "TotalSegments": segments,
    }
    while True:
        page = table.scan(**query)
        for item in page.get("Items", []):
            updated += _set_bucket(table, str(item["order_id"]), OrderStatus(str(item["status"])))
        if "LastEvaluatedKey" not in page:
            return updated
        query["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _set_bucket(table: Any, order_id: str, status: OrderStatus) -> int:
    try:
        table.update_item(
            Key={"order_id": order_id}, UpdateExpression="SET status_bucket = :bucket",
            ConditionExpression="attribute_not_exists(status_bucket) AND #status = :status",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={":bucket": status_bucket(status, order_id), ":status": status.value},
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
            return 0  # rewritten meanwhile (with its bucket), or deleted
        raise
    return 1
