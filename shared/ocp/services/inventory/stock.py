"""Inventory use cases: WMS pushes, the stock board and its ledger, and the stock policy. Returned goods are
`ocp.services.returns.restock`'s; shard rebalancing (and `InventoryDeps`) is `ocp.services.inventory.shards`; the
stock signals are `ocp.services.inventory.signals`; the sweeper's release of expired pre-reservations, which
changes orders, is in `ocp.services.inventory.expiry`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import ConfigDict, Field

from ocp.base_model import OcpModel
from ocp.domain.errors import ConcurrentModification
from ocp.domain.inventory.adjustments import plan_adjustment
from ocp.domain.inventory.pushes import PushResult, StockPush, count_time
from ocp.domain.inventory.signals import ChannelStock, channel_view
from ocp.domain.inventory.stock import (
    InvalidStockRequest,
    LedgerEntry,
    LedgerTotals,
    MovementKind,
    StockContention,
    StockHead,
    StockLevel,
    ledger_totals,
    summarize,
    validate_sku,
    validate_warehouse,
)
from ocp.services.access.attribution import stamp_ledger
from ocp.services.inventory.shards import ADJUST_ATTEMPTS
from ocp.services.inventory.shards import InventoryDeps as InventoryDeps

if TYPE_CHECKING:
    from ocp.domain.inventory.policy import StockPolicy


class UnknownWarehouse(InvalidStockRequest):
    def __init__(self, warehouse: str) -> None:
        super().__init__("warehouse", f"unknown warehouse {warehouse!r}: register it first (see docs/INVENTORY.md)")


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
    for _ in range(ADJUST_ATTEMPTS):
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
