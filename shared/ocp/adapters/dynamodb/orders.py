"""Orders in DynamoDB: one item per order, written with conditions so retries can never double it.

`commit` writes an order together with the stock it reserves, releases or ships: one `TransactWriteItems`
holding the order item (absent, or at the expected revision), one conditional update per stock shard, one
ledger entry per movement and the buyer's purchase counters — exactly once or not at all, in one round trip,
with no read first. Cancellation reasons map to a `CommitRejected`: which shard was short (and how many it had),
which purchase limit was hit, or that the order itself changed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import boto3
from botocore.exceptions import ClientError

from ocp.adapters.dynamodb.buckets import due_order_ids
from ocp.adapters.dynamodb.items import plain, put_at_revision, to_item
from ocp.adapters.dynamodb.stock import StockTables, counter_update, guard_check, ledger_put, movement_update
from ocp.adapters.dynamodb.transactions import CONDITION_FAILED, RetryPolicy, TransactStats, failed_old_item, transact
from ocp.domain.clock import iso, parse_instant, utc_now
from ocp.domain.errors import OrderExists
from ocp.domain.fulfillment.merge_window import merge_bucket, merge_due, waiting_key
from ocp.domain.inventory.chunks import intent_deadline
from ocp.domain.inventory.commit import (
    BooksRefusal,
    CommitRejected,
    CountGuard,
    FingerprintClaim,
    FingerprintHit,
    LimitBreach,
    OrderCommit,
    Shortage,
)
from ocp.domain.inventory.reservation import ReservationState
from ocp.domain.inventory.stock import (
    EXPIRY_BUCKETS,
    MAX_TRANSACTION_ITEMS,
    MovementKind,
    StockMovement,
    expiry_bucket,
    stock_id,
)
from ocp.domain.operations.held_queue import release_bucket, release_due
from ocp.domain.order.model import Order, OrderStatus, channel_key
from ocp.domain.order.status_buckets import status_bucket

_CONDITION_FAILED = "ConditionalCheckFailedException"
_BATCH_GET = 100
_DERIVED = frozenset({"channel_key", "status_bucket", "expiry_bucket", "reservation_expires_at", "hold_reasons",
                      "release_bucket", "release_due_at", "merge_bucket", "merge_due_at", "merge_key",
                      "merge_wait_until"})
"""Attributes that exist for the table's indexes (and the held queue's filter) only; never part of the order."""


class DynamoOrderStore:
    def __init__(
        self,
        table: Any,
        stock: StockTables | None = None,
        retry: RetryPolicy | None = None,
        stats: TransactStats | None = None,
        client: Any = None,
        fingerprints: str | None = None,
        transaction_items: int = MAX_TRANSACTION_ITEMS,
    ) -> None:
        """`table` is a boto3 `dynamodb.Table` resource for the `orders` table; `stock` names the tables that
        `commit` writes stock movements, ledger entries and purchase counters to; `client` is a low-level
        DynamoDB client for the transaction (the resource's own client re-serialises attribute values);
        `fingerprints` names the table of duplicate-check keys that `commit` claims; `transaction_items`: the
        endpoint's transaction limit (DynamoDB Local's is 10), above which changes are written in chunks."""
        self._table = table
        self.transaction_items = transaction_items
        self._fingerprints = fingerprints
        self._client = client if client is not None else _low_level_client(table)
        self._stock = stock
        self._retry = retry or RetryPolicy()
        self.stats = stats or TransactStats()

    def get(self, order_id: str) -> Order | None:
        item = self._table.get_item(Key={"order_id": order_id}, ConsistentRead=True).get("Item")
        return _to_order(item) if item else None

    def find_by_channel_order(self, channel: str, channel_order_id: str) -> Order | None:
        """The index holds keys only (written once per order, never rewritten): the order is read by its id."""
        response = self._table.query(
            IndexName="by_channel_order",
            KeyConditionExpression="channel_key = :k",
            ExpressionAttributeValues={":k": f"{channel}#{channel_order_id}"},
            Limit=1,
        )
        items = response.get("Items") or []
        return self.get(str(items[0]["order_id"])) if items else None

    def create(self, order: Order) -> None:
        try:
            self._table.put_item(Item=_to_item(order), ConditionExpression="attribute_not_exists(order_id)")
        except ClientError as exc:
            if exc.response["Error"]["Code"] == _CONDITION_FAILED:
                raise OrderExists(f"order {order.order_id} exists") from exc
            raise

    def replace(self, order: Order, expected_revision: int) -> Order:
        stored = order.model_copy(update={"revision": expected_revision + 1})
        put_at_revision(self._table, _to_item(stored), expected_revision, f"order {order.order_id}")
        return stored


    def expired_reservations(self, now: datetime, limit: int) -> list[str]:
        """Orders whose unpaid reservation (or abandoned stock intent) is due by `now`: the sparse expiry index."""
        return due_order_ids(self._table, index="by_reservation_expiry", bucket="expiry_bucket", prefix="exp#",
                             buckets=EXPIRY_BUCKETS, due="reservation_expires_at", until=now, limit=limit)

    def commit(self, change: OrderCommit) -> CommitRejected | None:
        if self._stock is None and (change.movements or change.counters):
            raise ValueError("this order store was built without the stock tables")
        if self._fingerprints is None and change.fingerprints:
            raise ValueError("this order store was built without the fingerprints table")
        now = utc_now()
        items: list[dict[str, Any]] = [self._order_item(change)]
        if self._stock is not None:
            guards = _head_guards(change)
            items += [movement_update(self._stock, movement, now, guards.get(movement.stock_id))
                      for movement in change.movements]
            items += [ledger_put(self._stock, entry) for entry in change.ledger]
            items += [counter_update(self._stock, counter, now) for counter in change.counters]
        if self._fingerprints is not None:
            items += [_fingerprint_put(self._fingerprints, claim) for claim in change.fingerprints]
        if self._stock is not None:
            items += [guard_check(self._stock, guard) for guard in _separate_guards(change)]
        reasons = transact(self._client, items, self._retry, self.stats)
        return None if reasons is None else _rejection(change, reasons)

    def _order_item(self, change: OrderCommit) -> dict[str, Any]:
        if change.intent_check is not None:  # a chunk of a larger change: the order must still carry its intent
            return {"ConditionCheck": {
                "TableName": self._table.name, "Key": to_item({"order_id": change.order.order_id}),
                "ConditionExpression": "reservation_intent.revision = :intent",
                "ExpressionAttributeValues": to_item({":intent": change.intent_check}),
            }}
        order_put: dict[str, Any] = {"TableName": self._table.name, "Item": to_item(_to_item(change.order))}
        if change.expected_revision is None:
            order_put["ConditionExpression"] = "attribute_not_exists(order_id)"
        else:
            order_put["ConditionExpression"] = "revision = :expected"
            order_put["ExpressionAttributeValues"] = to_item({":expected": change.expected_revision})
        return {"Put": order_put}

    def recorded(self, entry_ids: Sequence[str]) -> set[str]:
        if self._stock is None:
            raise ValueError("this order store was built without the stock tables")
        found: set[str] = set()
        pending = [{"entry_id": {"S": entry_id}} for entry_id in dict.fromkeys(entry_ids)]
        while pending:
            batch, pending = pending[:_BATCH_GET], pending[_BATCH_GET:]
            request: dict[str, Any] = {self._stock.ledger: {"Keys": batch, "ConsistentRead": True,
                                                             "ProjectionExpression": "entry_id"}}
            while request:
                response = self._client.batch_get_item(RequestItems=request)
                found |= {item["entry_id"]["S"] for item in response.get("Responses", {}).get(self._stock.ledger, [])}
                request = response.get("UnprocessedKeys") or {}
        return found


def _low_level_client(table: Any) -> Any:
    meta = table.meta.client.meta
    return boto3.session.Session().client(
        "dynamodb", region_name=meta.region_name, endpoint_url=meta.endpoint_url, config=meta.config
    )


def _head_guards(change: OrderCommit) -> dict[str, CountGuard]:
    """Guards whose head the commit moves stock on: checked in that movement's own condition."""
    moved = {m.stock_id for m in change.movements}
    heads = {stock_id(g.warehouse, g.sku, 0): g for g in change.count_guards}
    return {key: guard for key, guard in heads.items() if key in moved}


def _separate_guards(change: OrderCommit) -> list[CountGuard]:
    merged = _head_guards(change)
    return [g for g in change.count_guards if stock_id(g.warehouse, g.sku, 0) not in merged]


def _rejection(change: OrderCommit, reasons: list[dict[str, Any]]) -> CommitRejected:
    """Which parts of the transaction failed their condition, in domain terms."""
    moves, ledger, counters = len(change.movements), len(change.ledger), len(change.counters)
    claims, guards = len(change.fingerprints), _head_guards(change)
    conflict, stale, shortages, breaches, duplicates, refused = False, False, [], [], [], []
    for index, reason in enumerate(reasons):
        if reason.get("Code") != CONDITION_FAILED:
            continue
        old = failed_old_item(reason) or {}
        if index == 0 or 1 + moves <= index < 1 + moves + ledger:
            conflict = True  # the order changed, or this very movement is already recorded
        elif index < 1 + moves:
            movement = change.movements[index - 1]
            guard = guards.get(movement.stock_id)
            if movement.kind == MovementKind.reserve:
                shortages.append(Shortage(movement.warehouse, movement.sku, movement.shard,
                                          int(old.get("available", 0))))
            elif guard is not None and old and old.get("counted_at") != _iso_or_none(guard.counted_at):
                stale = True
            else:
                refused.append(_refusal(movement, old))
        elif index < 1 + moves + ledger + counters:
            counter = change.counters[index - 1 - moves - ledger]
            breaches.append(LimitBreach(counter.sku, int(old.get("bought", 0)), counter.limit))
        elif index < 1 + moves + ledger + counters + claims:
            claim = change.fingerprints[index - 1 - moves - ledger - counters]
            held_at = old.get("created_at")
            duplicates.append(FingerprintHit(claim.key, str(old.get("order_id", "?")),
                                             parse_instant(str(held_at)) if held_at else None))
        else:
            stale = True  # a separate count guard: a push landed since the count time was read
    return CommitRejected(order_conflict=conflict, shortages=tuple(shortages), over_limit=tuple(breaches),
                          duplicates=tuple(duplicates), refused=tuple(refused), stale_count=stale)


def _refusal(movement: StockMovement, old: dict[str, Any]) -> BooksRefusal:
    on_hand, reserved = old.get("on_hand"), old.get("reserved")
    return BooksRefusal(movement.warehouse, movement.sku, movement.shard, movement.kind,
                        None if on_hand is None else int(on_hand), None if reserved is None else int(reserved))


def _iso_or_none(moment: datetime | None) -> str | None:
    return iso(moment) if moment is not None else None


def _fingerprint_put(table: str, claim: FingerprintClaim) -> dict[str, Any]:
    """Remember the order under the key; guarded: unless another order holds it from within the window."""
    put: dict[str, Any] = {"TableName": table, "Item": to_item({
        "fingerprint": claim.key, "order_id": claim.order_id, "created_at": iso(claim.created_at),
        "expires_at": int(claim.expires_at.timestamp()),
    })}
    if claim.guard:
        put["ConditionExpression"] = ("attribute_not_exists(fingerprint) OR order_id = :me "
                                      "OR created_at < :since OR created_at > :until")
        put["ExpressionAttributeValues"] = to_item({":me": claim.order_id, ":since": iso(claim.since),
                                                    ":until": iso(claim.until)})
        put["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
    return {"Put": put}


def _to_item(order: Order) -> dict[str, Any]:
    item = order.model_dump(mode="json", exclude_none=True)
    item["channel_key"] = channel_key(order.channel, order.channel_order_id)
    item["status_bucket"] = status_bucket(order.status, order.order_id)
    reservation = order.reservation
    if (reservation is not None and reservation.state == ReservationState.active and reservation.expires_at
            and order.status == OrderStatus.pending_payment):
        # Sparse index: only unpaid pre-reservations appear, spread over a few partition keys.
        item["reservation_expires_at"] = iso(reservation.expires_at)
        item["expiry_bucket"] = expiry_bucket(order.order_id)
    abandoned = intent_deadline(order)
    if abandoned is not None:  # a chunked change left half-written is the sweeper's too, on the same index
        item["reservation_expires_at"] = min(item.get("reservation_expires_at", iso(abandoned)), iso(abandoned))
        item["expiry_bucket"] = expiry_bucket(order.order_id)
    if order.holds:
        item["hold_reasons"] = sorted({hold.reason.value for hold in order.holds})  # the held queue's filter
    due = release_due(order)
    if due is not None:
        # Sparse index: held orders with a timed hold (pre-sale), for the scheduled release.
        item["release_due_at"] = iso(due)
        item["release_bucket"] = release_bucket(order.order_id)
    item |= _merge_attributes(order)
    return item


def _merge_attributes(order: Order) -> dict[str, str]:
    """Sparse indexes of merged parcels: when the merge run is due for the order, and (while it waits) its merge
    key, for the run to find its mates."""
    due = merge_due(order)
    if due is None:
        return {}
    found = {"merge_due_at": iso(due), "merge_bucket": merge_bucket(order.order_id)}
    key = waiting_key(order)
    if key is not None:
        found |= {"merge_key": key, "merge_wait_until": iso(due)}
    return found


def _to_order(item: dict[str, Any]) -> Order:
    return Order.model_validate({k: plain(v) for k, v in item.items() if k not in _DERIVED})


order_from_item = _to_order
"""An `orders` item (as the resource API returns it, index-only attributes included) → the order."""
order_item = _to_item
"""The order → its `orders` item, index attributes included (a write of several orders at once)."""
