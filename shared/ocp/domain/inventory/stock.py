"""Stock per (warehouse, SKU): shards, levels, movements, the ledger, alerts (pure).

A (warehouse, SKU) is stored as N stock shards, one DynamoDB item each, so a hot SKU's reservations spread
over N partitions. Shard 0 is the head: it also carries the WMS version, the safety stock and the shard count.
For every shard `available = on_hand - reserved`; the (warehouse, SKU) numbers are the sums over its shards.
Every reservation, release or shipment of a shard leaves a `LedgerEntry` with the same deltas, written in the
same transaction; a push or a rebalance leaves one entry for the (warehouse, SKU) with its per-shard deltas.
Summing the ledger of a (warehouse, SKU) gives its on_hand, reserved and available back.
A WMS's pushes are `ocp.domain.inventory.pushes`; a push's or a rebalance's spread over the shards is
`ocp.domain.inventory.adjustments`.
"""

import hashlib
from collections.abc import Iterable, Sequence
from datetime import datetime

from pydantic import Field

from ocp.base_model import FrozenModel
from ocp.domain.clock import UtcTime, iso
from ocp.domain.errors import DomainError
from ocp.domain.inventory.ids import WAREHOUSE_ID
from ocp.domain.inventory.movements import MovementKind

MAX_SHARDS = 32
"""Shards per (warehouse, SKU). A push or rebalance writes every shard, one ledger entry and the registry item
in one transaction: 34 of DynamoDB's 100 items. (DynamoDB Local 1.11 caps a transaction at 10 items, so tests
there use at most 8 shards.)"""
MAX_TRANSACTION_ITEMS = 100
"""DynamoDB's TransactWriteItems limit."""
EXPIRY_BUCKETS = 64
"""The expiry index is spread over this many partition keys so pre-reservations never share one hot key: at
10,000 unpaid orders/s each takes about 470 write units/s (docs/CAPACITY.md). Raising it keeps every item written
before visible (readers query `exp#0`…`exp#N-1`, a superset of the old keys); lowering it would hide some."""
MAX_SKU_LENGTH = 128


class InvalidStockRequest(DomainError):
    """A stock request with a field that cannot be accepted; `details` names the field."""

    code = "invalid_request"

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}", details=[{"field": field, "problem": problem}])


class StockNotFound(DomainError):
    """No warehouse has ever stocked the SKU."""

    code = "stock_not_found"


class StockContention(DomainError):
    """A stock write kept colliding (transaction conflicts, throttling) past its retries; try again later."""

    code = "stock_contention"


def validate_warehouse(warehouse: str) -> str:
    if not WAREHOUSE_ID.match(warehouse):
        raise InvalidStockRequest("warehouse", "must be 1-64 letters, digits, '.', '_' or '-'")
    return warehouse


def validate_sku(sku: str) -> str:
    if not sku or len(sku) > MAX_SKU_LENGTH or not sku.isprintable() or sku != sku.strip():
        raise InvalidStockRequest("sku", f"must be 1-{MAX_SKU_LENGTH} printable characters without edge spaces")
    return sku


def stock_id(warehouse: str, sku: str, shard: int) -> str:
    """The stock item key. The SKU goes last, so a SKU containing `#` still parses."""
    return f"{warehouse}#{shard}#{sku}"


def parse_stock_id(value: str) -> tuple[str, int, str]:
    warehouse, shard, sku = value.split("#", 2)
    return warehouse, int(shard), sku


def spread(key: str, buckets: int) -> int:
    """A stable bucket for `key` in [0, buckets): the same in every process (unlike `hash`)."""
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") % buckets


def preferred_shard(order_id: str, shards: int) -> int:
    """The shard an order tries first: spread by order id, so concurrent orders hit different shards."""
    return spread(order_id, shards) if shards > 1 else 0


def expiry_bucket(order_id: str) -> str:
    return f"exp#{spread(order_id, EXPIRY_BUCKETS)}"


# ---- movements and the ledger -------------------------------------------------------------------------------


class StockMovement(FrozenModel):
    """One change to one stock shard, with the condition it must meet."""

    kind: MovementKind
    warehouse: str
    sku: str
    shard: int = 0
    delta_on_hand: int = 0
    delta_reserved: int = 0
    delta_available: int = 0
    requires_available: int = Field(default=0, description="condition: the shard's available >= this")

    @property
    def stock_id(self) -> str:
        return stock_id(self.warehouse, self.sku, self.shard)

    @classmethod
    def reserve(cls, warehouse: str, sku: str, shard: int, quantity: int) -> "StockMovement":
        return cls(kind=MovementKind.reserve, warehouse=warehouse, sku=sku, shard=shard,
                   delta_reserved=quantity, delta_available=-quantity, requires_available=quantity)

    @classmethod
    def release(cls, warehouse: str, sku: str, shard: int, quantity: int) -> "StockMovement":
        return cls(kind=MovementKind.release, warehouse=warehouse, sku=sku, shard=shard,
                   delta_reserved=-quantity, delta_available=quantity)

    @classmethod
    def ship(cls, warehouse: str, sku: str, shard: int, quantity: int, counted: int = 0) -> "StockMovement":
        """`counted`: units of these that the last push's on_hand already left out (`ship_counted` when any)."""
        if not 0 <= counted <= quantity:
            raise ValueError(f"counted {counted} is not within 0..{quantity}")
        kind = MovementKind.ship_counted if counted else MovementKind.ship
        return cls(kind=kind, warehouse=warehouse, sku=sku, shard=shard,
                   delta_on_hand=counted - quantity, delta_reserved=-quantity, delta_available=counted)


class LedgerEntry(FrozenModel):
    """Who moved how much of which shard, why, and for which order. Written with the movement itself."""

    entry_id: str
    warehouse: str
    sku: str
    shard: int
    kind: MovementKind
    delta_on_hand: int
    delta_reserved: int
    delta_available: int
    order_id: str | None = None
    version: int | None = Field(default=None, description="push: the WMS version that was applied")
    shard_deltas: dict[int, int] | None = Field(
        default=None, description="push/rebalance: how on_hand (and available) moved on each shard"
    )
    actor: str = Field(description="order_processor | wms | reservation_sweeper | operator | ...")
    principal: str | None = Field(default=None, description="The authenticated principal whose API call moved it")
    reason: str
    at: UtcTime

    @property
    def stock_id(self) -> str:
        return stock_id(self.warehouse, self.sku, self.shard)

    @property
    def at_entry(self) -> str:
        """The ledger index's sort key: time order, unique."""
        return f"{iso(self.at)}#{self.entry_id}"


def ledger_entry(movement: StockMovement, entry_id: str, *, actor: str, reason: str, at: datetime,
                 order_id: str | None = None, version: int | None = None) -> LedgerEntry:
    return LedgerEntry(
        entry_id=entry_id, warehouse=movement.warehouse, sku=movement.sku, shard=movement.shard,
        kind=movement.kind, delta_on_hand=movement.delta_on_hand, delta_reserved=movement.delta_reserved,
        delta_available=movement.delta_available, order_id=order_id, version=version, actor=actor,
        reason=reason, at=at,
    )


def order_entry_id(order_id: str, seq: int, kind: MovementKind, movement: StockMovement) -> str:
    """Idempotent per order, reservation cycle, movement kind and shard: a replay can only write it once."""
    return f"order#{order_id}#{seq}#{kind.value}#{movement.warehouse}#{movement.shard}#{movement.sku}"


class LedgerTotals(FrozenModel):
    on_hand: int = 0
    reserved: int = 0
    available: int = 0
    entries: int = 0


def ledger_totals(entries: Iterable[LedgerEntry]) -> LedgerTotals:
    on_hand = reserved = available = count = 0
    for entry in entries:
        on_hand += entry.delta_on_hand
        reserved += entry.delta_reserved
        available += entry.delta_available
        count += 1
    return LedgerTotals(on_hand=on_hand, reserved=reserved, available=available, entries=count)


# ---- levels -----------------------------------------------------------------------------------------------


class ShardLevel(FrozenModel):
    shard: int
    on_hand: int
    reserved: int
    available: int
    seq: int = Field(default=0, description="Changes applied to this shard so far")


class StockHead(FrozenModel):
    """What shard 0 carries for the whole (warehouse, SKU)."""

    version: int
    safety_stock: int = 0
    shards: int = Field(default=1, description="Active shards (reservations go to 0..shards-1)")
    slots: int = Field(default=1, description="Shards that exist (≥ shards: retired ones keep their reserved)")
    updated_at: UtcTime | None = None
    counted_at: UtcTime | None = Field(
        default=None, description="The last applied push's `as_of`: when the WMS counted its on_hand"
    )


class StockLevel(FrozenModel):
    warehouse: str
    sku: str
    on_hand: int
    reserved: int
    available: int
    safety_stock: int
    version: int
    shards: int
    shard_levels: tuple[ShardLevel, ...]
    updated_at: UtcTime | None = None
    counted_at: UtcTime | None = Field(
        default=None, description="When the WMS counted the on_hand it last pushed (the push's `as_of`)"
    )

    @property
    def as_of(self) -> int:
        """A number that only grows as the (warehouse, SKU) changes: the sum of its shards' change counters."""
        return sum(s.seq for s in self.shard_levels)

    @property
    def low(self) -> bool:
        return is_low(self.available, self.safety_stock)


def summarize(warehouse: str, sku: str, head: StockHead, shards: Sequence[ShardLevel]) -> StockLevel:
    return StockLevel(
        warehouse=warehouse, sku=sku,
        on_hand=sum(s.on_hand for s in shards), reserved=sum(s.reserved for s in shards),
        available=sum(s.available for s in shards), safety_stock=head.safety_stock, version=head.version,
        shards=head.shards, shard_levels=tuple(sorted(shards, key=lambda s: s.shard)), updated_at=head.updated_at,
        counted_at=head.counted_at,
    )


def is_low(available: int, safety_stock: int) -> bool:
    """Below safety stock; a sold-out SKU is always low, even with no safety stock set."""
    return available < max(safety_stock, 1)
