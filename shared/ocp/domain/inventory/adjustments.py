"""Pushes and rebalances of one (warehouse, SKU) spread over its shards (pure): the on-hand each shard should hold
(`distribute`), the shard changes and ledger entry that get it there (`plan_adjustment`), and when a spread is worth
rebalancing (`skewed`).
"""

from collections.abc import Sequence
from datetime import datetime

from pydantic import Field

from ocp.base_model import FrozenModel
from ocp.domain.inventory.movements import MovementKind
from ocp.domain.inventory.stock import LedgerEntry, ShardLevel, StockHead

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


class ShardChange(FrozenModel):
    """Set one shard's on-hand by `delta`, provided it still holds `expected_on_hand` (None: it must not exist)."""

    shard: int
    expected_on_hand: int | None
    delta: int
    requires_available: int = 0


class StockAdjustment(FrozenModel):
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
