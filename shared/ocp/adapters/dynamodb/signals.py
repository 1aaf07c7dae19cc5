"""The stock signals' published state in DynamoDB (`inventory` table, `signal#<key>`/`state`): apart from the stock
store, which every order write uses, so only `stock_events` loads the signals."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ocp.adapters.dynamodb.items import from_item, plain, to_attr, to_item
from ocp.domain.clock import iso, utc_now
from ocp.domain.inventory.signals import SignalState


@dataclass
class DynamoSignalStore:
    client: Any
    table: str

    def get(self, key: str) -> SignalState | None:
        item = self.client.get_item(TableName=self.table, Key=self._key(key), ConsistentRead=True).get("Item")
        if not item:
            return None
        values = plain(from_item(item))
        return SignalState(value=values["value"], as_of=values["as_of"], notified=values["notified"])

    def put(self, key: str, state: SignalState) -> bool:
        try:
            self.client.put_item(
                TableName=self.table,
                Item=to_item({"pk": f"signal#{key}", "sk": "state", **state.model_dump(), "at": iso(utc_now())}),
                # Newer wins; the same view may only move from "stored" to "published".
                ConditionExpression="attribute_not_exists(as_of) OR as_of < :a OR (as_of = :a AND notified = :f)",
                ExpressionAttributeValues={":a": to_attr(state.as_of), ":f": to_attr(False)},
            )
        except self.client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    @staticmethod
    def _key(key: str) -> dict[str, Any]:
        return {"pk": to_attr(f"signal#{key}"), "sk": to_attr("state")}
