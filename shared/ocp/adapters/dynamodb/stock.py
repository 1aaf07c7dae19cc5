"""Stock in DynamoDB: shard items, the ledger, the SKU registry, the stock policy and counters (the signal state is
`ocp.adapters.dynamodb.signals`).

Tables (see `infra/wiring.py`):
- `stock` (`stock_id` = `<warehouse>#<shard>#<sku>`): on_hand, reserved, available, seq; shard 0 also holds
  version, safety_stock, shards, slots and counted_at (the last applied push's `as_of`).
- `stock-ledger` (`entry_id`; index `by_stock` on `stock_id`, `at_entry`): one item per movement.
- `inventory` (`pk`, `sk`): `sku#<sku>`/`wh#<warehouse>` registry items; `policy`/`current`;
  `limit#<sku>#<buyer>`/`counter` purchase counters; `signal#<key>`/`state` published signal state.

Every write that must not double or go backwards is conditional, and failed conditions become domain answers.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ocp.adapters.dynamodb.items import from_item, plain, to_attr, to_item
from ocp.adapters.dynamodb.transactions import RetryPolicy, TransactStats, transact
from ocp.domain.clock import iso, parse_instant, utc_now
from ocp.domain.inventory.policy import StockPolicy
from ocp.domain.inventory.stock import (
    LedgerEntry,
    MovementKind,
    ShardLevel,
    StockHead,
    StockLevel,
    StockMovement,
    stock_id,
    summarize,
)

if TYPE_CHECKING:
    from ocp.domain.inventory.adjustments import ShardChange, StockAdjustment
    from ocp.domain.inventory.commit import CounterChange, CountGuard

_BATCH_GET_LIMIT = 100


@dataclass(frozen=True)
class StockTables:
    stock: str
    ledger: str
    inventory: str


# ---- transaction items shared with the order store ------------------------------------------------------------


def movement_update(tables: StockTables, movement: StockMovement, now: datetime,
                    guard: CountGuard | None = None) -> dict[str, Any]:
    """One stock shard's part of a transaction: deltas, change counter, and the movement's condition (with the
    head's `guard`, when the movement is on the head: one transaction may touch an item only once)."""
    values = {
        ":doh": to_attr(movement.delta_on_hand), ":dr": to_attr(movement.delta_reserved),
        ":da": to_attr(movement.delta_available), ":now": to_attr(iso(now)), ":one": to_attr(1),
    }
    if movement.kind == MovementKind.reserve:
        # A missing shard fails this condition too: `available` does not exist, so it is not >= anything.
        conditions = ["available >= :need"]
        values[":need"] = to_attr(movement.requires_available)
    else:
        # Releases and shipments never take the books below zero.
        conditions = ["attribute_exists(stock_id)"]
        if movement.delta_on_hand < 0:
            conditions.append("on_hand >= :oh")
            values[":oh"] = to_attr(-movement.delta_on_hand)
        if movement.delta_reserved < 0:
            conditions.append("reserved >= :rs")
            values[":rs"] = to_attr(-movement.delta_reserved)
    if guard is not None:
        conditions.append(_guard_condition(guard, values))
    return {"Update": {
        "TableName": tables.stock,
        "Key": {"stock_id": to_attr(movement.stock_id)},
        "UpdateExpression": "SET on_hand = on_hand + :doh, reserved = reserved + :dr, available = available + :da, "
                            "updated_at = :now ADD seq :one",
        "ConditionExpression": " AND ".join(conditions),
        "ExpressionAttributeValues": values,
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    }}


def guard_check(tables: StockTables, guard: CountGuard) -> dict[str, Any]:
    """A `CountGuard` on a head the transaction does not otherwise touch."""
    values: dict[str, Any] = {}
    condition = _guard_condition(guard, values)
    check: dict[str, Any] = {
        "TableName": tables.stock, "Key": {"stock_id": to_attr(stock_id(guard.warehouse, guard.sku, 0))},
        "ConditionExpression": condition,
    }
    if values:
        check["ExpressionAttributeValues"] = values
    return {"ConditionCheck": check}


def _guard_condition(guard: CountGuard, values: dict[str, Any]) -> str:
    if guard.counted_at is None:
        return "attribute_not_exists(counted_at)"
    values[":counted"] = to_attr(iso(guard.counted_at))
    return "counted_at = :counted"


def ledger_put(tables: StockTables, entry: LedgerEntry) -> dict[str, Any]:
    item = entry.model_dump(mode="json", exclude_none=True)
    item.update({"stock_id": entry.stock_id, "at_entry": entry.at_entry})
    return {"Put": {
        "TableName": tables.ledger,
        "Item": to_item(item),
        # The same movement of the same order can only ever be recorded once.
        "ConditionExpression": "attribute_not_exists(entry_id)",
    }}


def counter_key(buyer_id: str, sku: str) -> dict[str, Any]:
    # One partition per (SKU, buyer): a flash sale's counters spread as widely as its buyers.
    return {"pk": to_attr(f"limit#{sku}#{buyer_id}"), "sk": to_attr("counter")}


def counter_update(tables: StockTables, change: CounterChange, now: datetime) -> dict[str, Any]:
    update: dict[str, Any] = {
        "TableName": tables.inventory,
        "Key": counter_key(change.buyer_id, change.sku),
        "UpdateExpression": "ADD bought :d SET updated_at = :now, sku = :sku",
        "ExpressionAttributeValues": {":d": to_attr(change.delta), ":now": to_attr(iso(now)),
                                      ":sku": to_attr(change.sku)},
    }
    if change.delta > 0 and change.limit is not None:
        update["ConditionExpression"] = "attribute_not_exists(bought) OR bought <= :max"
        update["ExpressionAttributeValues"][":max"] = to_attr(change.limit - change.delta)
        update["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
    return {"Update": update}


def _shard_level(item: dict[str, Any]) -> ShardLevel:
    return ShardLevel(shard=int(item["shard"]), on_hand=int(item["on_hand"]), reserved=int(item["reserved"]),
                      available=int(item["available"]), seq=int(item.get("seq", 0)))


def _head(item: dict[str, Any]) -> StockHead:
    return StockHead(version=int(item.get("version", 0)), safety_stock=int(item.get("safety_stock", 0)),
                     shards=int(item.get("shards", 1)), slots=int(item.get("slots", 1)),
                     updated_at=item.get("updated_at"), counted_at=item.get("counted_at"))


# ---- the store --------------------------------------------------------------------------------------------------


@dataclass
class DynamoStockStore:
    client: Any
    """A low-level boto3 DynamoDB client."""
    tables: StockTables
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    stats: TransactStats = field(default_factory=TransactStats)

    # -- reads --

    def shards(self, warehouse: str, sku: str) -> tuple[StockHead | None, list[ShardLevel]]:
        head_item = self.client.get_item(
            TableName=self.tables.stock, Key={"stock_id": to_attr(stock_id(warehouse, sku, 0))}, ConsistentRead=True
        ).get("Item")
        if not head_item:
            return None, []
        head_values = plain(from_item(head_item))
        head = _head(head_values)
        others = self._get_many([stock_id(warehouse, sku, shard) for shard in range(1, head.slots)], consistent=True)
        return head, [_shard_level(head_values), *(_shard_level(v) for v in others)]

    def locations(self, sku: str) -> dict[str, int]:
        return {item["warehouse"]: int(item["shards"]) for item in self._registry(sku)}

    def count_times(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], datetime | None]:
        heads = {item["stock_id"]: item for item in
                 self._get_many([stock_id(w, sku, 0) for w, sku in dict.fromkeys(keys)], consistent=True)}
        found = {key: heads.get(stock_id(*key, 0), {}).get("counted_at") for key in keys}
        return {key: parse_instant(value) if value else None for key, value in found.items()}

    def availability(self, warehouse: str, sku: str, shards: list[int]) -> dict[int, int]:
        found = {int(item["shard"]): int(item["available"])
                 for item in self._get_many([stock_id(warehouse, sku, k) for k in shards], consistent=False)}
        return {shard: found.get(shard, 0) for shard in shards}

    def levels(self, sku: str) -> list[StockLevel]:
        registry = self._registry(sku)
        ids = [stock_id(r["warehouse"], sku, shard) for r in registry for shard in range(int(r["slots"]))]
        items = {item["stock_id"]: item for item in self._get_many(ids, consistent=True)}
        levels = []
        for entry in sorted(registry, key=lambda r: r["warehouse"]):
            warehouse = entry["warehouse"]
            head_item = items.get(stock_id(warehouse, sku, 0))
            if head_item is None:
                continue
            shards = [_shard_level(items[i]) for i in (stock_id(warehouse, sku, k) for k in range(int(entry["slots"])))
                      if i in items]
            levels.append(summarize(warehouse, sku, _head(head_item), shards))
        return levels

    def ledger(self, sku: str) -> list[LedgerEntry]:
        entries: list[LedgerEntry] = []
        for entry in sorted(self._registry(sku), key=lambda r: r["warehouse"]):
            for shard in range(int(entry["slots"])):
                entries += self._ledger_of(stock_id(entry["warehouse"], sku, shard))
        return entries

    def policy(self) -> StockPolicy:
        item = self.client.get_item(
            TableName=self.tables.inventory, Key={"pk": to_attr("policy"), "sk": to_attr("current")},
            ConsistentRead=True,
        ).get("Item")
        if not item:
            return StockPolicy()
        values = plain(from_item(item))
        return StockPolicy.model_validate({**json.loads(values["document"]), "version": values["version"]})

    # -- writes --

    def put_policy(self, policy: StockPolicy, expected_version: int) -> bool:
        stored = policy.model_copy(update={"version": expected_version + 1})
        condition = "attribute_not_exists(pk)" if expected_version == 0 else "version = :expected"
        kwargs: dict[str, Any] = {}
        if expected_version:
            kwargs["ExpressionAttributeValues"] = {":expected": to_attr(expected_version)}
        try:
            self.client.put_item(
                TableName=self.tables.inventory,
                Item=to_item({"pk": "policy", "sk": "current", "version": stored.version,
                              "document": stored.model_dump_json(exclude={"version"}), "updated_at": iso(utc_now())}),
                ConditionExpression=condition, **kwargs,
            )
        except self.client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def adjust(self, adjustment: StockAdjustment) -> bool:
        now = adjustment.head.updated_at or utc_now()
        items = [self._shard_change(adjustment, change, now) for change in adjustment.changes]
        items += [ledger_put(self.tables, entry) for entry in adjustment.ledger]
        items.append({"Put": {"TableName": self.tables.inventory, "Item": to_item({
            "pk": f"sku#{adjustment.sku}", "sk": f"wh#{adjustment.warehouse}", "warehouse": adjustment.warehouse,
            "sku": adjustment.sku, "shards": adjustment.head.shards, "slots": adjustment.head.slots,
            "updated_at": iso(now),
        })}})
        return transact(self.client, items, self.retry, self.stats) is None

    def _shard_change(self, adjustment: StockAdjustment, change: ShardChange, now: datetime) -> dict[str, Any]:
        names = {"#shard": "shard"}
        values = {":d": to_attr(change.delta), ":z": to_attr(0), ":now": to_attr(iso(now)), ":one": to_attr(1),
                  ":w": to_attr(adjustment.warehouse), ":s": to_attr(adjustment.sku), ":k": to_attr(change.shard)}
        sets = ["on_hand = if_not_exists(on_hand, :z) + :d", "available = if_not_exists(available, :z) + :d",
                "reserved = if_not_exists(reserved, :z)", "warehouse = :w", "sku = :s", "#shard = :k",
                "updated_at = :now"]
        conditions = []
        if change.expected_on_hand is None:
            conditions.append("attribute_not_exists(stock_id)")
        else:
            conditions.append("on_hand = :expected")
            values[":expected"] = to_attr(change.expected_on_hand)
        if change.requires_available:
            conditions.append("available >= :need")
            values[":need"] = to_attr(change.requires_available)
        if change.shard == 0:
            head = adjustment.head
            sets += ["shards = :n", "slots = :slots"]
            values.update({":n": to_attr(head.shards), ":slots": to_attr(head.slots)})
            if adjustment.kind == MovementKind.push:
                sets += ["version = :v", "safety_stock = :ss"]
                values.update({":v": to_attr(head.version), ":ss": to_attr(head.safety_stock)})
                if head.counted_at is not None:
                    sets.append("counted_at = :counted")
                    values[":counted"] = to_attr(iso(head.counted_at))
            if adjustment.version_guard is not None:
                conditions.append("(attribute_not_exists(version) OR version < :vg)")
                values[":vg"] = to_attr(adjustment.version_guard)
        return {"Update": {
            "TableName": self.tables.stock,
            "Key": {"stock_id": to_attr(stock_id(adjustment.warehouse, adjustment.sku, change.shard))},
            "UpdateExpression": "SET " + ", ".join(sets) + " ADD seq :one",
            "ConditionExpression": " AND ".join(conditions),
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }}

    # -- helpers --

    def _registry(self, sku: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {
            "TableName": self.tables.inventory, "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": to_attr(f"sku#{sku}")},
        }
        while True:
            response = self.client.query(**kwargs)
            items += [plain(from_item(item)) for item in response.get("Items", [])]
            if "LastEvaluatedKey" not in response:
                return items
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def _get_many(self, ids: list[str], consistent: bool) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for start in range(0, len(ids), _BATCH_GET_LIMIT):
            pending: dict[str, Any] = {self.tables.stock: {
                "Keys": [{"stock_id": to_attr(i)} for i in ids[start:start + _BATCH_GET_LIMIT]],
                "ConsistentRead": consistent,
            }}
            while pending:
                response = self.client.batch_get_item(RequestItems=pending)
                found += [plain(from_item(item)) for item in response.get("Responses", {}).get(self.tables.stock, [])]
                pending = response.get("UnprocessedKeys") or {}
        return found

    def _ledger_of(self, shard_id: str) -> list[LedgerEntry]:
        entries: list[LedgerEntry] = []
        kwargs: dict[str, Any] = {
            "TableName": self.tables.ledger, "IndexName": "by_stock",
            "KeyConditionExpression": "stock_id = :id", "ExpressionAttributeValues": {":id": to_attr(shard_id)},
        }
        while True:
            response = self.client.query(**kwargs)
            for item in response.get("Items", []):
                values = plain(from_item(item))
                values.pop("stock_id", None)
                values.pop("at_entry", None)
                entries.append(LedgerEntry.model_validate(values))
            if "LastEvaluatedKey" not in response:
                return entries
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]
