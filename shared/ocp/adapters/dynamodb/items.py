"""Between DynamoDB's attribute values and plain Python: the one place that knows numbers come back as Decimal."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

_SERIALIZER = TypeSerializer()
_DESERIALIZER = TypeDeserializer()


def to_attr(value: Any) -> dict[str, Any]:
    return dict(_SERIALIZER.serialize(value))


def to_item(values: dict[str, Any]) -> dict[str, Any]:
    return {name: to_attr(value) for name, value in values.items()}


def from_item(item: dict[str, Any]) -> dict[str, Any]:
    return {name: _DESERIALIZER.deserialize(value) for name, value in item.items()}


def plain(value: Any) -> Any:
    """A deserialised item with its Decimals as int (whole) or float, nested maps and lists included: what the
    pydantic models expect."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


CONDITION_FAILED = "ConditionalCheckFailedException"


def put_at_revision(table: Any, item: dict[str, Any], expected_revision: int, what: str) -> None:
    """Put `item` (a boto3 Table resource's item, carrying `revision` = `expected_revision` + 1) only over the stored
    `expected_revision`; `ConcurrentModification` naming `what` when someone wrote it meanwhile."""
    from botocore.exceptions import ClientError

    from ocp.domain.errors import ConcurrentModification
    try:
        table.put_item(Item=item, ConditionExpression="revision = :expected",
                       ExpressionAttributeValues={":expected": expected_revision})
    except ClientError as exc:
        if exc.response["Error"]["Code"] == CONDITION_FAILED:
            raise ConcurrentModification(f"{what} changed since revision {expected_revision}") from exc
        raise


def every_page_item(read: Callable[..., dict[str, Any]], **request: Any) -> list[dict[str, Any]]:
    """The items of every page of a `scan` or `query` (a Table resource's or a client's), in the order read."""
    items: list[dict[str, Any]] = []
    while True:
        response = read(**request)
        items += response.get("Items", [])
        if "LastEvaluatedKey" not in response:
            return items
        request["ExclusiveStartKey"] = response["LastEvaluatedKey"]
