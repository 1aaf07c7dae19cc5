"""After-sales in DynamoDB (`returns`): one item per after-sale, written with conditions so a retry never doubles
one and a stale writer never overwrites a newer revision.

The item is the after-sale's JSON, as orders are stored: its `order_id`, `channel`, `created_at`, `status` and
`status_since` are top-level fields already, so they key the `by_order`, `by_channel` and `by_status` indexes
with nothing derived.

A page reads one index (`order_id` first, then `status`, then `channel`; none: a table scan) and applies the
other filters after reading. The next-page token is the index key of the last after-sale answered, as base64 JSON;
it is only good for a query on the same index and partition (`InvalidQuery` otherwise, before DynamoDB sees it).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from ocp.adapters.dynamodb.items import plain, put_at_revision
from ocp.domain.errors import InvalidQuery
from ocp.domain.returns.model import AfterSale

_CONDITION_FAILED = "ConditionalCheckFailedException"


@dataclass(frozen=True)
class ReturnsQuery:
    """How a page is read: an index (None: a scan) keyed by `partition` = `value`, its direction, and the filters
    applied after reading. Shared with the in-memory twin so both page alike."""

    index: str | None
    partition: str | None = None
    value: str | None = None
    sort: str | None = None
    newest_first: bool = False
    filters: dict[str, str] = field(default_factory=dict)

    @property
    def key_names(self) -> tuple[str, ...]:
        """The attributes of a position in the index: DynamoDB's `LastEvaluatedKey` holds exactly these."""
        if self.partition is None or self.sort is None:
            return ("return_id",)
        return "return_id", self.partition, self.sort


def returns_query(status: str | None, channel: str | None, order_id: str | None) -> ReturnsQuery:
    """The index for these filters: an order's after-sales are few, a status's and a channel's many."""
    if order_id is not None:
        rest = {k: v for k, v in (("status", status), ("channel", channel)) if v is not None}
        return ReturnsQuery("by_order", "order_id", order_id, "created_at", newest_first=True, filters=rest)
    if status is not None:
        # Oldest first in a status: the listing of what waits longest (as the held queue reads orders).
        rest = {"channel": channel} if channel is not None else {}
        return ReturnsQuery("by_status", "status", status, "status_since", newest_first=False, filters=rest)
    if channel is not None:
        return ReturnsQuery("by_channel", "channel", channel, "created_at", newest_first=True)
    return ReturnsQuery(None)


def encode_token(position: Mapping[str, str]) -> str:
    return base64.urlsafe_b64encode(json.dumps(dict(position), sort_keys=True).encode()).decode().rstrip("=")


def decode_token(token: str, query: ReturnsQuery) -> dict[str, str]:
    """The position a token names; `InvalidQuery` for a token that is not ours or names another index or partition
    (DynamoDB would refuse that start key with a bare ValidationException)."""
    try:
        key = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        key = None
    if not (isinstance(key, dict) and set(key) == set(query.key_names)
            and all(isinstance(v, str) for v in key.values())
            and (query.partition is None or key[query.partition] == query.value)):
        raise InvalidQuery("next_token is not a token this query gave out", details={"field": "next_token"})
    return key


def check_limit(limit: int) -> None:
    if limit < 1:
        raise InvalidQuery("limit is at least 1", details={"field": "limit", "limit": limit})


def position(item: Mapping[str, Any], query: ReturnsQuery) -> dict[str, str]:
    return {name: str(item[name]) for name in query.key_names}


class DynamoReturnStore:
    def __init__(self, table: Any, read_size: int = 100, max_reads: int = 10) -> None:
        """`table` is a boto3 `dynamodb.Table` resource for the `returns` table. A filtered page reads at least
        `read_size` items a request (the filter is applied after DynamoDB's `Limit`) and at most `max_reads`
        requests, then answers what it found with the token to go on from."""
        self._table = table
        self._read_size = read_size
        self._max_reads = max_reads

    def get(self, return_id: str) -> AfterSale | None:
        item = self._table.get_item(Key={"return_id": return_id}, ConsistentRead=True).get("Item")
        return _to_after_sale(item) if item else None

    def create(self, after_sale: AfterSale) -> bool:
        try:
            self._table.put_item(Item=_to_item(after_sale), ConditionExpression="attribute_not_exists(return_id)")
        except ClientError as exc:
            if exc.response["Error"]["Code"] == _CONDITION_FAILED:
                return False
            raise
        return True

    def replace(self, after_sale: AfterSale, expected_revision: int) -> AfterSale:
        stored = after_sale.model_copy(update={"revision": expected_revision + 1})
        put_at_revision(self._table, _to_item(stored), expected_revision, f"after-sale {after_sale.return_id}")
        return stored

    def of_order(self, order_id: str) -> list[AfterSale]:
        query: dict[str, Any] = {
            "IndexName": "by_order",
            "KeyConditionExpression": "order_id = :order_id",
            "ExpressionAttributeValues": {":order_id": order_id},
        }
        found: list[AfterSale] = []
        while True:
            response = self._table.query(**query)
            found += [_to_after_sale(item) for item in response.get("Items", [])]
            if "LastEvaluatedKey" not in response:
                return found
            query["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def page(self, status: str | None, channel: str | None, order_id: str | None, limit: int,
             token: str | None) -> tuple[list[AfterSale], str | None]:
        check_limit(limit)
        plan = returns_query(status, channel, order_id)
        start = decode_token(token, plan) if token else None
        request = _request(plan, limit, self._read_size)
        if start is not None:
            request["ExclusiveStartKey"] = start
        read = self._table.query if plan.index else self._table.scan
        found: list[dict[str, Any]] = []
        last: dict[str, Any] | None = None
        for _ in range(self._max_reads):
            response = read(**request)
            found += response.get("Items", [])
            last = response.get("LastEvaluatedKey")
            # One more than asked for tells whether a next page exists, so the last page carries no token
            # (DynamoDB answers a LastEvaluatedKey whenever it stopped at its Limit, even with nothing after).
            if len(found) > limit:
                taken = found[:limit]
                return [_to_after_sale(item) for item in taken], encode_token(position(taken[-1], plan))
            if last is None:
                return [_to_after_sale(item) for item in found], None
            request["ExclusiveStartKey"] = last
        # Read budget spent on filtered-out items: answer what was found, go on from where reading stopped.
        return [_to_after_sale(item) for item in found], encode_token({k: str(v) for k, v in (last or {}).items()})


def _request(plan: ReturnsQuery, limit: int, read_size: int) -> dict[str, Any]:
    # Every name aliased: `status` is a DynamoDB reserved word.
    names: dict[str, str] = {}
    values: dict[str, str] = {}
    request: dict[str, Any] = {"Limit": max(limit + 1, read_size) if plan.filters else limit + 1}
    if plan.index is not None and plan.partition is not None:
        names["#p"] = plan.partition
        values[":p"] = str(plan.value)
        request |= {"IndexName": plan.index, "KeyConditionExpression": "#p = :p",
                    "ScanIndexForward": not plan.newest_first}
    if plan.filters:
        request["FilterExpression"] = " AND ".join(f"#{name} = :{name}" for name in plan.filters)
        names |= {f"#{name}": name for name in plan.filters}
        values |= {f":{name}": value for name, value in plan.filters.items()}
    if names:
        request |= {"ExpressionAttributeNames": names, "ExpressionAttributeValues": values}
    return request


def _to_item(after_sale: AfterSale) -> dict[str, Any]:
    return after_sale.model_dump(mode="json", exclude_none=True)


def _to_after_sale(item: Mapping[str, Any]) -> AfterSale:
    return AfterSale.model_validate({k: plain(v) for k, v in item.items()})
