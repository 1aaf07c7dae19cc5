"""Orders in DynamoDB: one item per order, written with conditions so retries can never double it."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

from ocp.domain.errors import ConcurrentModification, OrderExists
from ocp.domain.order import Order, channel_key

_CONDITION_FAILED = "ConditionalCheckFailedException"


class DynamoOrderStore:
    def __init__(self, table: Any) -> None:
        """`table` is a boto3 `dynamodb.Table` resource for the `orders` table."""
        self._table = table

    def get(self, order_id: str) -> Order | None:
        item = self._table.get_item(Key={"order_id": order_id}, ConsistentRead=True).get("Item")
        return _to_order(item) if item else None

    def find_by_channel_order(self, channel: str, channel_order_id: str) -> Order | None:
        response = self._table.query(
            IndexName="by_channel_order",
            KeyConditionExpression="channel_key = :k",
            ExpressionAttributeValues={":k": f"{channel}#{channel_order_id}"},
            Limit=1,
        )
        items = response.get("Items") or []
        return _to_order(items[0]) if items else None

    def create(self, order: Order) -> None:
        try:
            self._table.put_item(Item=_to_item(order), ConditionExpression="attribute_not_exists(order_id)")
        except ClientError as exc:
            if exc.response["Error"]["Code"] == _CONDITION_FAILED:
                raise OrderExists(f"order {order.order_id} exists") from exc
            raise

    def replace(self, order: Order, expected_revision: int) -> None:
        try:
            self._table.put_item(
                Item=_to_item(order),
                ConditionExpression="revision = :expected",
                ExpressionAttributeValues={":expected": expected_revision},
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == _CONDITION_FAILED:
                raise ConcurrentModification(
                    f"order {order.order_id} changed since revision {expected_revision}"
                ) from exc
            raise


def _to_item(order: Order) -> dict[str, Any]:
    item = order.model_dump(mode="json", exclude_none=True)
    item["channel_key"] = channel_key(order.channel, order.channel_order_id)
    return item


def _to_order(item: dict[str, Any]) -> Order:
    return Order.model_validate(_plain(item))


def _plain(value: Any) -> Any:
    """DynamoDB returns every number as Decimal; the model wants ints."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if k != "channel_key"}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value
