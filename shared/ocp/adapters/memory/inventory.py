"""In-memory twin of the stock tables (`StockStore`, `SignalStore`, `WarehouseRegistry`) and of the order
transaction; `tests/contracts` holds it to the DynamoDB adapters' behaviour.

One lock stands for DynamoDB's transaction isolation: every condition of a commit is checked, then all of its
writes happen, or none does — and every failing condition is reported, as DynamoDB does.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ocp.domain.inventory.commit import (
    BooksRefusal,
    CommitRejected,
    CountGuard,
    FingerprintHit,
    LimitBreach,
    OrderCommit,
    Shortage,
)
from ocp.domain.inventory.policy import StockPolicy
from ocp.domain.inventory.stock import (
    LedgerEntry,
    MovementKind,
    ShardLevel,
    StockHead,
    StockLevel,
    StockMovement,
    parse_stock_id,
    stock_id,
    summarize,
)

if TYPE_CHECKING:
    from ocp.adapters.memory.orders import MemoryOrderStore
    from ocp.domain.inventory.adjustments import StockAdjustment
    from ocp.domain.inventory.signals import SignalState


@dataclass
class _Shard:
    on_hand: int = 0
    reserved: int = 0
    available: int = 0
    seq: int = 0
    head: StockHead | None = None


def _refusal(movement: StockMovement, item: _Shard | None) -> BooksRefusal | None:
    """A release or shipment the books cannot take: the shard is missing, or on_hand or reserved would go
    below zero (DynamoDB's conditions on the movement)."""
    if item is None:
        return BooksRefusal(movement.warehouse, movement.sku, movement.shard, movement.kind, None, None)
    if item.on_hand + min(movement.delta_on_hand, 0) < 0 or item.reserved + min(movement.delta_reserved, 0) < 0:
        return BooksRefusal(movement.warehouse, movement.sku, movement.shard, movement.kind, item.on_hand,
                            item.reserved)
    return None


@dataclass
class MemoryInventory:
    stock: dict[str, _Shard] = field(default_factory=dict)
    registry: dict[str, dict[str, tuple[int, int]]] = field(default_factory=dict)
    """SKU → warehouse → (active shards, slots)."""
    entries: dict[str, LedgerEntry] = field(default_factory=dict)
    counters: dict[tuple[str, str], int] = field(default_factory=dict)
    signals: dict[str, SignalState] = field(default_factory=dict)
    fingerprints: dict[str, tuple[str, datetime]] = field(default_factory=dict)
    """Duplicate-check key → (order id, created at) of the order that holds it."""
    stored_policy: StockPolicy = field(default_factory=StockPolicy)
    lock: threading.RLock = field(default_factory=threading.RLock)
    calls: int = 0
    commits: int = 0
    """Order transactions attempted (each `commit_order`, written or not)."""

    # ---- StockStore --------------------------------------------------------------------------------------------

    def shards(self, warehouse: str, sku: str) -> tuple[StockHead | None, list[ShardLevel]]:
        with self.lock:
            head = self.stock.get(stock_id(warehouse, sku, 0))
            if head is None or head.head is None:
                return None, []
            levels = []
            for shard in range(head.head.slots):
                item = self.stock.get(stock_id(warehouse, sku, shard))
                if item is not None:
                    levels.append(ShardLevel(shard=shard, on_hand=item.on_hand, reserved=item.reserved,
                                             available=item.available, seq=item.seq))
            return head.head, levels

    def adjust(self, adjustment: StockAdjustment) -> bool:
        with self.lock:
            for change in adjustment.changes:
                item = self.stock.get(stock_id(adjustment.warehouse, adjustment.sku, change.shard))
                if change.expected_on_hand is None:
                    if item is not None:
                        return False
                elif item is None or item.on_hand != change.expected_on_hand:
                    return False
                if change.requires_available and (item is None or item.available < change.requires_available):
                    return False
                guard = adjustment.version_guard
                if change.shard == 0 and guard is not None and item is not None and item.head is not None \
                        and item.head.version >= guard:
                    return False
            if any(entry.entry_id in self.entries for entry in adjustment.ledger):
                return False
            for change in adjustment.changes:
                key = stock_id(adjustment.warehouse, adjustment.sku, change.shard)
                item = self.stock.setdefault(key, _Shard())
                item.on_hand += change.delta
                item.available += change.delta
                item.seq += 1
                if change.shard == 0:
                    head = adjustment.head
                    if adjustment.kind != MovementKind.push and item.head is not None:
                        head = item.head.model_copy(update={"shards": head.shards, "slots": head.slots,
                                                            "updated_at": head.updated_at})
                    item.head = head
            for entry in adjustment.ledger:
                self.entries[entry.entry_id] = entry
            self.registry.setdefault(adjustment.sku, {})[adjustment.warehouse] = (
                adjustment.head.shards, adjustment.head.slots)
            return True

    def locations(self, sku: str) -> dict[str, int]:
        with self.lock:
            self.calls += 1
            return {warehouse: shards for warehouse, (shards, _) in self.registry.get(sku, {}).items()}

    def count_times(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], datetime | None]:
        with self.lock:
            self.calls += 1
            return {key: self._counted_at(*key) for key in keys}

    def _counted_at(self, warehouse: str, sku: str) -> datetime | None:
        item = self.stock.get(stock_id(warehouse, sku, 0))
        return item.head.counted_at if item is not None and item.head is not None else None

    def availability(self, warehouse: str, sku: str, shards: list[int]) -> dict[int, int]:
        with self.lock:
            self.calls += 1
            items = {shard: self.stock.get(stock_id(warehouse, sku, shard)) for shard in shards}
            return {shard: item.available if item else 0 for shard, item in items.items()}

    def levels(self, sku: str) -> list[StockLevel]:
        with self.lock:
            levels = []
            for warehouse in sorted(self.registry.get(sku, {})):
                head, shards = self.shards(warehouse, sku)
                if head is not None:
                    levels.append(summarize(warehouse, sku, head, shards))
            return levels

    def ledger(self, sku: str) -> list[LedgerEntry]:
        with self.lock:
            entries = [e for e in self.entries.values() if e.sku == sku]
        return sorted(entries, key=lambda e: (e.warehouse, e.shard, e.at_entry))

    def policy(self) -> StockPolicy:
        with self.lock:
            self.calls += 1
            return self.stored_policy

    def put_policy(self, policy: StockPolicy, expected_version: int) -> bool:
        with self.lock:
            if self.stored_policy.version != expected_version:
                return False
            self.stored_policy = policy.model_copy(update={"version": expected_version + 1})
            return True

    # ---- SignalStore -------------------------------------------------------------------------------------------

    def get(self, key: str) -> SignalState | None:
        with self.lock:
            return self.signals.get(key)

    def put(self, key: str, state: SignalState) -> bool:
        with self.lock:
            stored = self.signals.get(key)
            if stored is not None and not (
                stored.as_of < state.as_of or (stored.as_of == state.as_of and not stored.notified)
            ):
                return False
            self.signals[key] = state
            return True

    # ---- the order transaction ---------------------------------------------------------------------------------

    def commit_order(self, orders: MemoryOrderStore, change: OrderCommit) -> CommitRejected | None:
        with self.lock:
            self.commits += 1
            rejection = self._check(orders, change)
            if rejection is not None:
                return rejection
            for movement in change.movements:
                item = self.stock[movement.stock_id]
                item.on_hand += movement.delta_on_hand
                item.reserved += movement.delta_reserved
                item.available += movement.delta_available
                item.seq += 1
            for entry in change.ledger:
                self.entries[entry.entry_id] = entry
            for counter in change.counters:
                key = (counter.sku, counter.buyer_id)
                self.counters[key] = self.counters.get(key, 0) + counter.delta
            for claim in change.fingerprints:
                self.fingerprints[claim.key] = (claim.order_id, claim.created_at)
            if change.intent_check is None:
                orders.put_unchecked(change.order)
            return None

    def _check(self, orders: MemoryOrderStore, change: OrderCommit) -> CommitRejected | None:
        stored = orders.get(change.order.order_id)
        if change.intent_check is not None:  # a chunk: the order is only checked to still carry the intent
            intent = stored.reservation_intent if stored is not None else None
            conflict = intent is None or intent.revision != change.intent_check
        elif change.expected_revision is None:
            conflict = stored is not None
        else:
            conflict = stored is None or stored.revision != change.expected_revision
        conflict = conflict or any(entry.entry_id in self.entries for entry in change.ledger)
        shortages, refused = [], []
        for movement in change.movements:
            item = self.stock.get(movement.stock_id)
            if movement.kind == MovementKind.reserve:
                if item is None or item.available < movement.requires_available:
                    shortages.append(Shortage(movement.warehouse, movement.sku, movement.shard,
                                              item.available if item else 0))
            elif (refusal := _refusal(movement, item)) is not None:
                refused.append(refusal)
        # As in DynamoDB, a failed guard on a head the commit moves reads as stale, not as a refusal of the move.
        stale_heads = {stock_id(g.warehouse, g.sku, 0) for g in change.count_guards if not self._guard_holds(g)}
        refused = [r for r in refused if stock_id(r.warehouse, r.sku, r.shard) not in stale_heads]
        stale = bool(stale_heads)
        breaches = []
        for counter in change.counters:
            bought = self.counters.get((counter.sku, counter.buyer_id), 0)
            if counter.delta > 0 and counter.limit is not None and bought + counter.delta > counter.limit:
                breaches.append(LimitBreach(counter.sku, bought, counter.limit))
        duplicates = []
        for claim in change.fingerprints:
            held = self.fingerprints.get(claim.key)
            if claim.guard and held is not None and held[0] != claim.order_id and claim.since <= held[1] <= claim.until:
                duplicates.append(FingerprintHit(claim.key, held[0], held[1]))
        if conflict or shortages or breaches or duplicates or refused or stale:
            return CommitRejected(order_conflict=conflict, shortages=tuple(shortages), over_limit=tuple(breaches),
                                  duplicates=tuple(duplicates), refused=tuple(refused), stale_count=stale)
        return None

    def _guard_holds(self, guard: CountGuard) -> bool:
        return self._counted_at(guard.warehouse, guard.sku) == guard.counted_at

    def recorded(self, entry_ids: Sequence[str]) -> set[str]:
        with self.lock:
            self.calls += 1
            return {entry_id for entry_id in entry_ids if entry_id in self.entries}

    # ---- for tests ---------------------------------------------------------------------------------------------

    def raw(self) -> dict[str, dict[str, Any]]:
        with self.lock:
            return {key: {"warehouse": parse_stock_id(key)[0], "on_hand": s.on_hand, "reserved": s.reserved,
                          "available": s.available} for key, s in self.stock.items()}
