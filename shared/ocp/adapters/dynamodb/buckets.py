"""Due items of a sparse, bucketed index on `orders`: the reservation expiry, pre-sale release and merge-window
indexes each spread their items over a few partition keys (`<prefix><n>`), sorted by a due time."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ocp.domain.clock import iso


def due_order_ids(table: Any, *, index: str, bucket: str, prefix: str, buckets: int, due: str, until: datetime,
                  limit: int) -> list[str]:
    """Order ids whose `due` attribute is at or before `until`, earliest first, at most `limit`: one query per
    bucket (each bounded by `limit`, so the earliest `limit` overall are among them)."""
    found: list[tuple[str, str]] = []
    for n in range(buckets):
        response = table.query(
            IndexName=index,
            KeyConditionExpression=f"{bucket} = :b AND {due} <= :until",
            ExpressionAttributeValues={":b": f"{prefix}{n}", ":until": iso(until)},
            ProjectionExpression=f"order_id, {due}",
            Limit=limit,
        )
        found += [(str(item[due]), str(item["order_id"])) for item in response.get("Items", [])]
    return [order_id for _, order_id in sorted(found)[:limit]]
