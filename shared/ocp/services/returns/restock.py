"""Returned goods on the books: each receipt line is one ledger movement at the receiving warehouse, into the
sellable SKU (intact) or its grade's bucket, which no channel sells (`<sku>@second_grade`, `<sku>@defective`).
Here rather than with the stock board's use cases: a receipt needs none of the board's views or stock signals."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ocp.domain.inventory.adjustments import plan_adjustment
from ocp.domain.inventory.stock import MovementKind, StockContention, StockHead
from ocp.domain.returns.model import AfterSale, Grade, Receipt
from ocp.services.access.attribution import stamp_ledger
from ocp.services.inventory.shards import ADJUST_ATTEMPTS

if TYPE_CHECKING:
    from ocp.services.inventory.shards import InventoryDeps
    from ocp.services.returns.deps import ReturnsDeps

BUCKETS = {Grade.intact: "", Grade.minor_wear: "@second_grade", Grade.unsellable: "@defective"}


def bucket_sku(sku: str, grade: Grade) -> str:
    return f"{sku}{BUCKETS[grade]}"


def restock_receipt(after_sale: AfterSale, receipt: Receipt, deps: ReturnsDeps) -> None:
    if deps.inventory is None:
        raise RuntimeError("receipts need the stock books (composition)")
    for index, line in enumerate(receipt.lines):
        sku = bucket_sku(line.sku, line.grade)
        receive_returned(receipt.warehouse, sku, line.quantity,
                         f"return#{after_sale.return_id}#{receipt.receipt_id}#{index}#{sku}", deps.inventory,
                         actor=receipt.actor,
                         reason=f"after-sale {after_sale.return_id}: {line.quantity} received {line.grade.value}")


def receive_returned(warehouse: str, sku: str, units: int, entry_id: str, deps: InventoryDeps, *, actor: str,
                     reason: str) -> bool:
    """Put `units` of returned goods on the books of (warehouse, SKU), once per `entry_id` (the ledger refuses a
    second entry of that id, and a repeat finds it recorded); True when this call moved them."""
    for _ in range(ADJUST_ATTEMPTS):
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
