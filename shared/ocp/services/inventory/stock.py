"""Inventory use cases: WMS pushes, the stock board and its ledger, the stock policy, shard rebalancing and returned
goods. The stock signals are `ocp.services.inventory.signals`; the sweeper's release of expired pre-reservations,
which changes orders, is in `ocp.services.inventory.expiry`."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from pydantic import ConfigDict, Field

from ocp.base_model import OcpModel
from ocp.domain.errors import ConcurrentModification
from ocp.domain.inventory.signals import ChannelStock, channel_view
from ocp.domain.inventory.stock import (
    InvalidStockRequest,
    LedgerEntry,
    LedgerTotals,
    MovementKind,
    PushResult,
    StockContention,
    StockHead,
    StockLevel,
    StockPush,
    count_time,
    ledger_totals,
    plan_adjustment,
    skewed,
    summarize,
    validate_sku,
    validate_warehouse,
)
from ocp.services.access.attribution import stamp_ledger

if TYPE_CHECKING:
    from ocp.domain.inventory.policy import StockPolicy
    from ocp.ports import StockStore, WarehouseRegistry

_ADJUST_ATTEMPTS = 5


class UnknownWarehouse(InvalidStockRequest):
    def __init__(self, warehouse: str) -> None:
        super().__init__("warehouse", f"unknown warehouse {warehouse!r}: register it first (see docs/INVENTORY.md)")


@dataclass(frozen=True)
class InventoryDeps:
    stock: StockStore
    warehouses: WarehouseRegistry
    now: Callable[[], datetime]


# ---- WMS pushes -----------------------------------------------------------------------------------------------


def push_stock(warehouse: str, sku: str, push: StockPush, deps: InventoryDeps, actor: str = "wms") -> PushResult:
    """Apply the WMS's absolute on-hand if its version is newer; available is recomputed against what is
    reserved, in the same transaction that checks the version. An unknown SKU is created. The head keeps the
    push's count time (`as_of`, else now), which shipments are judged against (`ocp.domain.inventory.books`)."""
    validate_warehouse(warehouse)
    validate_sku(sku)
    if not deps.warehouses.known(warehouse):
        raise UnknownWarehouse(warehouse)
    policy = deps.stock.policy()
    for _ in range(_ADJUST_ATTEMPTS):
        head, shards = deps.stock.shards(warehouse, sku)
        if head is not None and push.version <= head.version:
            reason = "repeated_version" if push.version == head.version else "stale_version"
            return PushResult(
                applied=False, reason=reason, stored_version=head.version,
                message=f"version {push.version} ignored: version {head.version} is already applied",
                level=summarize(warehouse, sku, head, shards),
            )
        now = deps.now()
        active = policy.shards(sku) or (head.shards if head else 1)
        new_head = StockHead(
            version=push.version,
            safety_stock=push.safety_stock if push.safety_stock is not None else (head.safety_stock if head else 0),
            shards=active, slots=max(active, head.slots if head else 1), updated_at=now,
            counted_at=count_time(push.as_of, now),
        )
        adjustment = plan_adjustment(
            MovementKind.push, warehouse, sku, current=shards, total_on_hand=push.on_hand, head=new_head,
            actor=actor, reason=f"WMS push v{push.version}: on_hand {push.on_hand}", at=now,
            entry_prefix=f"push#{warehouse}#{push.version}#{sku}", version_guard=push.version,
        )
        adjustment = adjustment.model_copy(update={"ledger": stamp_ledger(adjustment.ledger)})
        if deps.stock.adjust(adjustment):
            stored_head, stored = deps.stock.shards(warehouse, sku)
            created = head is None
            return PushResult(
                applied=True, created=created, stored_version=push.version,
                message=(f"created {sku} at {warehouse} (the WMS is the source of truth)" if created
                         else f"applied version {push.version}"),
                level=summarize(warehouse, sku, stored_head, stored) if stored_head else None,
            )
    raise StockContention(f"stock of {sku} at {warehouse} kept changing during the push; retry")


# ---- the board and the ledger -----------------------------------------------------------------------------------


class _View(OcpModel):
    model_config = ConfigDict(frozen=True)


class StockTotals(_View):
    on_hand: int
    reserved: int
    available: int
    safety_stock: int


class StockBoard(_View):
    sku: str
    warehouses: list[StockLevel]
    totals: StockTotals
    channels: dict[str, ChannelStock] = Field(description="What each channel can really sell, and how it locks")
    policy_version: int


def stock_board(sku: str, deps: InventoryDeps) -> StockBoard:
    validate_sku(sku)
    levels = deps.stock.levels(sku)
    policy = deps.stock.policy()
    totals = StockTotals(
        on_hand=sum(level.on_hand for level in levels), reserved=sum(level.reserved for level in levels),
        available=sum(level.available for level in levels), safety_stock=sum(level.safety_stock for level in levels),
    )
    return StockBoard(sku=sku, warehouses=levels, totals=totals, channels=channel_view(sku, levels, policy),
                      policy_version=policy.version)


class WarehouseLedger(_View):
    warehouse: str
    totals: LedgerTotals
    explains_board: bool = Field(description="The ledger's sums equal the board's on_hand, reserved, available")


class LedgerView(_View):
    sku: str
    warehouses: list[WarehouseLedger]
    entries: list[LedgerEntry]


def ledger_view(sku: str, deps: InventoryDeps) -> LedgerView:
    validate_sku(sku)
    entries = deps.stock.ledger(sku)
    levels = {level.warehouse: level for level in deps.stock.levels(sku)}
    summaries = []
    for warehouse in sorted({e.warehouse for e in entries} | set(levels)):
        totals = ledger_totals(e for e in entries if e.warehouse == warehouse)
        level = levels.get(warehouse)
        explains = level is not None and (totals.on_hand, totals.reserved, totals.available) == (
            level.on_hand, level.reserved, level.available)
        summaries.append(WarehouseLedger(warehouse=warehouse, totals=totals, explains_board=explains))
    return LedgerView(sku=sku, warehouses=summaries, entries=entries)


# ---- the policy --------------------------------------------------------------------------------------------------


def put_policy(document: StockPolicy, deps: InventoryDeps) -> StockPolicy:
    current = deps.stock.policy()
    if not deps.stock.put_policy(document, expected_version=current.version):
        raise ConcurrentModification("the stock policy changed meanwhile; read it again and retry")
    return document.model_copy(update={"version": current.version + 1})


# ---- rebalancing ---------------------------------------------------------------------------------------------------


def rebalance(warehouse: str, sku: str, deps: InventoryDeps, actor: str = "reservation_sweeper",
              force: bool = False) -> bool:
    """Even out `available` over the active shards (and adopt the policy's shard count); True if it moved."""
    policy = deps.stock.policy()
    for _ in range(_ADJUST_ATTEMPTS):
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


def receive_returned(warehouse: str, sku: str, units: int, entry_id: str, deps: InventoryDeps, *, actor: str,
                     reason: str) -> bool:
    """Put `units` of returned goods on the books of (warehouse, SKU), once per `entry_id` (the ledger refuses a
    second entry of that id, and a repeat finds it recorded); True when this call moved them."""
    for _ in range(_ADJUST_ATTEMPTS):
        head, shards = deps.stock.shards(warehouse, sku)
        now = deps.now()
        base = head or StockHead(version=0, safety_stock=0, shards=1, slots=1)
        new_head = base.model_copy(update={"updated_at": now})
        adjustment = plan_adjustment(
            MovementKind.return_in, warehouse, sku, current=shards,
            total_on_hand=sum(s.on_hand for s in shards) + units,
            head=new_head, actor=actor, reason=reason, at=now, entry_prefix=entry_id,
        )
        adjustment = adjustment.model_copy(update={"ledger": stamp_ledger(adjustment.ledger)})
        if deps.stock.adjust(adjustment):
            return True
        if any(entry.entry_id == entry_id for entry in deps.stock.ledger(sku)):
            return False
    raise StockContention(f"stock of {sku} at {warehouse} kept changing while returned goods were received; retry")


def rebalance_sharded(deps: InventoryDeps) -> int:
    """Rebalance every SKU the policy shards, in every warehouse stocking it; the number rebalanced."""
    moved = 0
    for sku, sku_policy in sorted(deps.stock.policy().skus.items()):
        if sku_policy.shards is None:
            continue
        for warehouse in sorted(deps.stock.locations(sku)):
            moved += rebalance(warehouse, sku, deps)
    return moved
