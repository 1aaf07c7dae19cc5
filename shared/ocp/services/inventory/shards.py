"""The inventory use cases' dependencies, and shard rebalancing: apart from `ocp.services.inventory.stock` so the
sweeper, which only rebalances, loads neither the stock board's views nor the channel view."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, NamedTuple

from ocp.domain.inventory.adjustments import plan_adjustment, skewed
from ocp.domain.inventory.stock import MovementKind

if TYPE_CHECKING:
    from ocp.ports import StockStore, WarehouseRegistry

ADJUST_ATTEMPTS = 5


class InventoryDeps(NamedTuple):
    stock: StockStore
    warehouses: WarehouseRegistry
    now: Callable[[], datetime]


def rebalance(warehouse: str, sku: str, deps: InventoryDeps, actor: str = "reservation_sweeper",
              force: bool = False) -> bool:
    """Even out `available` over the active shards (and adopt the policy's shard count); True if it moved."""
    policy = deps.stock.policy()
    for _ in range(ADJUST_ATTEMPTS):
        head, shards = deps.stock.shards(warehouse, sku)
        if head is None:
            return False
        active = policy.shards(sku) or head.shards
        if not force and active == head.shards and not skewed(shards, active):
            return False
        now = deps.now()
        new_head = head.model_copy(update={"shards": active, "slots": max(active, head.slots), "updated_at": now})
        adjustment = plan_adjustment(
            MovementKind.rebalance, warehouse, sku, current=shards, total_on_hand=sum(s.on_hand for s in shards),
            head=new_head, actor=actor, reason=f"rebalance over {active} shards", at=now,
            entry_prefix=f"rebalance#{warehouse}#{uuid.uuid4().hex}#{sku}",
        )
        if deps.stock.adjust(adjustment):
            return True
    return False


def rebalance_sharded(deps: InventoryDeps) -> int:
    """Rebalance every SKU the policy shards, in every warehouse stocking it; the number rebalanced."""
    moved = 0
    for sku, sku_policy in sorted(deps.stock.policy().skus.items()):
        if sku_policy.shards is None:
            continue
        for warehouse in sorted(deps.stock.locations(sku)):
            moved += rebalance(warehouse, sku, deps)
    return moved
