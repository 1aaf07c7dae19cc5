"""Stock per (warehouse, SKU): shards, levels, movements, the ledger, WMS pushes, alerts (pure).

A (warehouse, SKU) is stored as N stock shards, one DynamoDB item each, so a hot SKU's reservations spread
over N partitions. Shard 0 is the head: it also carries the WMS version, the safety stock and the shard count.
For every shard `available = on_hand - reserved`; the (warehouse, SKU) numbers are the sums over its shards.
Every reservation, release or shipment of a shard leaves a `LedgerEntry` with the same deltas, written in the
same transaction; a push or a rebalance leaves one entry for the (warehouse, SKU) with its per-shard deltas.
Summing the ledger of a (warehouse, SKU) gives its on_hand, reserved and available back.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from pydantic import AwareDatetime, ConfigDict, Field, StrictInt, field_validator

from ocp.base_model import OcpModel
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


class _Model(OcpModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


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


class StockMovement(_Model):
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
    def reserve(cls, warehouse: str, sku: str, shard: int, quantity: int) -> StockMovement:
        return cls(kind=MovementKind.reserve, warehouse=warehouse, sku=sku, shard=shard,
                   delta_reserved=quantity, delta_available=-quantity, requires_available=quantity)

    @classmethod
    def release(cls, warehouse: str, sku: str, shard: int, quantity: int) -> StockMovement:
        return cls(kind=MovementKind.release, warehouse=warehouse, sku=sku, shard=shard,
                   delta_reserved=-quantity, delta_available=quantity)

    @classmethod
    def ship(cls, warehouse: str, sku: str, shard: int, quantity: int, counted: int = 0) -> StockMovement:
        """`counted`: units of these that the last push's on_hand already left out (`ship_counted` when any)."""
        if not 0 <= counted <= quantity:
            raise ValueError(f"counted {counted} is not within 0..{quantity}")
        kind = MovementKind.ship_counted if counted else MovementKind.ship
        return cls(kind=kind, warehouse=warehouse, sku=sku, shard=shard,
                   delta_on_hand=counted - quantity, delta_reserved=-quantity, delta_available=counted)


class LedgerEntry(_Model):
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


class LedgerTotals(_Model):
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


class ShardLevel(_Model):
    shard: int
    on_hand: int
    reserved: int
    available: int
    seq: int = Field(default=0, description="Changes applied to this shard so far")


class StockHead(_Model):
    """What shard 0 carries for the whole (warehouse, SKU)."""

    version: int
    safety_stock: int = 0
    shards: int = Field(default=1, description="Active shards (reservations go to 0..shards-1)")
    slots: int = Field(default=1, description="Shards that exist (≥ shards: retired ones keep their reserved)")
    updated_at: UtcTime | None = None
    counted_at: UtcTime | None = Field(
        default=None, description="The last applied push's `as_of`: when the WMS counted its on_hand"
    )


class StockLevel(_Model):
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


# ---- distributing on-hand over shards ------------------------------------------------------------------------


def distribute(total_on_hand: int, reserved: Sequence[int], active: int) -> list[int]:
    """The on-hand each shard should hold so that `available` is spread evenly over the first `active` shards.

    Every shard first covers what it has reserved (its `available` would otherwise be negative); the rest is
    split evenly over the active shards, lower shards taking the remainder. Retired shards (index ≥ active)
    keep only their reserved units. When the total cannot cover everything reserved, shards are filled in order
    and the shortfall shows as negative available on the rest — the numbers stay true to the WMS.
    """
    if total_on_hand < 0 or active < 1 or active > len(reserved):
        raise ValueError(f"cannot distribute {total_on_hand} over {active} of {len(reserved)} shards")
    covered = [max(r, 0) for r in reserved]
    spare = total_on_hand - sum(covered)
    if spare < 0:
        targets, remaining = [], total_on_hand
        for need in covered:
            take = min(need, remaining)
            targets.append(take)
            remaining -= take
        return targets
    share, extra = divmod(spare, active)
    return [need + (share + (1 if i < extra else 0) if i < active else 0) for i, need in enumerate(covered)]


class ShardChange(_Model):
    """Set one shard's on-hand by `delta`, provided it still holds `expected_on_hand` (None: it must not exist)."""

    shard: int
    expected_on_hand: int | None
    delta: int
    requires_available: int = 0


class StockAdjustment(_Model):
    """A push or a rebalance of one (warehouse, SKU): every shard it touches, its ledger, the new head."""

    kind: MovementKind
    warehouse: str
    sku: str
    head: StockHead
    version_guard: int | None = Field(default=None, description="push: the head's version must be below this")
    created: bool = False
    changes: tuple[ShardChange, ...]
    ledger: tuple[LedgerEntry, ...]


def plan_adjustment(
    kind: MovementKind,
    warehouse: str,
    sku: str,
    *,
    current: Sequence[ShardLevel],
    total_on_hand: int,
    head: StockHead,
    actor: str,
    reason: str,
    at: datetime,
    entry_prefix: str,
    version_guard: int | None = None,
) -> StockAdjustment:
    """Redistribute `total_on_hand` over the shards (existing ones and any new ones up to `head.slots`)."""
    by_shard = {s.shard: s for s in current}
    slots = max(head.slots, head.shards, *(s.shard + 1 for s in current)) if current else max(head.slots, head.shards)
    reserved = [by_shard[i].reserved if i in by_shard else 0 for i in range(slots)]
    targets = distribute(total_on_hand, reserved, head.shards)
    changes = []
    for shard, target in enumerate(targets):
        existing = by_shard.get(shard)
        before = existing.on_hand if existing else None
        delta = target - (before or 0)
        if existing is not None and delta == 0:
            continue
        changes.append(ShardChange(shard=shard, expected_on_hand=before, delta=delta,
                                   requires_available=max(0, -delta) if kind == MovementKind.rebalance else 0))
    total = sum(c.delta for c in changes)
    # One entry for the whole adjustment (not one per shard): a push of N shards is N + 2 transaction items.
    entry = LedgerEntry(
        entry_id=entry_prefix, warehouse=warehouse, sku=sku, shard=0, kind=kind, delta_on_hand=total,
        delta_reserved=0, delta_available=total, version=head.version if kind == MovementKind.push else None,
        shard_deltas={c.shard: c.delta for c in changes if c.delta}, actor=actor, reason=reason, at=at,
    )
    if not any(c.shard == 0 for c in changes):
        # The head always takes part: it carries the version (and its condition) for the whole push.
        changes.insert(0, ShardChange(shard=0, expected_on_hand=by_shard[0].on_hand if 0 in by_shard else None,
                                      delta=0))
    head = head.model_copy(update={"slots": slots, "updated_at": at})
    return StockAdjustment(kind=kind, warehouse=warehouse, sku=sku, head=head, version_guard=version_guard,
                           created=not current, changes=tuple(changes), ledger=(entry,))


def skewed(shards: Sequence[ShardLevel], active: int) -> bool:
    """Worth rebalancing: a retired shard still has units to sell, or active shards differ by more than one."""
    if any(s.available > 0 for s in shards if s.shard >= active):
        return True
    actives = [s.available for s in shards if s.shard < active]
    if len(actives) < active:
        return True
    return bool(actives) and max(actives) - min(actives) > 1


# ---- WMS pushes -------------------------------------------------------------------------------------------------


class StockPush(OcpModel):
    """`PUT /inventory/{warehouse}/{sku}`: the WMS's absolute on-hand with its version."""

    model_config = ConfigDict(extra="forbid")

    on_hand: StrictInt = Field(ge=0, description="Absolute units on hand in the warehouse")
    version: StrictInt = Field(ge=0, description="The WMS's version of this number; only a higher one applies")
    safety_stock: StrictInt | None = Field(
        default=None, ge=0, description="Alert threshold for this warehouse (kept when omitted)"
    )
    as_of: AwareDatetime | None = Field(
        default=None, description="When the WMS counted on_hand (ISO-8601 with an offset, e.g. `2026-11-11T04:05:13Z`);"
                                  " default: when the push arrives. A parcel shipped at or before it is taken to be "
                                  "counted already, so its `shipped` callback does not take it off on_hand again",
    )

    @field_validator("as_of")
    @classmethod
    def _in_utc(cls, value: datetime | None) -> datetime | None:
        return value.astimezone(UTC) if value is not None else None


def count_time(as_of: datetime | None, arrived: datetime) -> datetime:
    """The count time stored for a push: its `as_of`, never after it arrived (a WMS clock running ahead would
    otherwise mark later shipments as counted), at the second precision the stock table keeps."""
    moment = min(as_of, arrived) if as_of is not None else arrived
    return moment.astimezone(UTC).replace(microsecond=0)


class PushResult(_Model):
    applied: bool
    created: bool = False
    reason: str | None = Field(default=None, description="Why it was not applied: stale_version | repeated_version")
    stored_version: int
    message: str
    level: StockLevel | None = None
