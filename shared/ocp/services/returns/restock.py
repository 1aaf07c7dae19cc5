"""Returned goods on the books: each receipt line is one ledger movement at the receiving warehouse, into the
sellable SKU (intact) or its grade's bucket, which no channel sells (`<sku>@second_grade`, `<sku>@defective`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ocp.domain.returns.model import AfterSale, Grade, Receipt
from ocp.services.inventory.stock import receive_returned

if TYPE_CHECKING:
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
