"""Pollers' high-water marks in DynamoDB (`channel_cursors`), moved only forward by conditional writes."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from ocp.domain.errors import ConcurrentModification
from ocp.domain.order.polling import PollCursor

_CONDITION_FAILED = "ConditionalCheckFailedException"


class DynamoCursorStore:
    def __init__(self, table: Any) -> None:
        self._table = table

    def get(self, channel: str) -> PollCursor | None:
        item = self._table.get_item(Key={"channel": channel}, ConsistentRead=True).get("Item")
        if not item:
            return None
        return PollCursor.model_validate({**item, "version": int(item["version"])})

    def put(self, cursor: PollCursor, expected_version: int) -> None:
        condition: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(channel)"}
        if expected_version:
            condition = {
                "ConditionExpression": "version = :expected",
                "ExpressionAttributeValues": {":expected": expected_version},
            }
        try:
            self._table.put_item(Item=cursor.model_dump(mode="json", exclude_none=True), **condition)
        except ClientError as exc:
            if exc.response["Error"]["Code"] == _CONDITION_FAILED:
                raise ConcurrentModification(
                    f"poll cursor of {cursor.channel} moved since version {expected_version}"
                ) from exc
            raise
