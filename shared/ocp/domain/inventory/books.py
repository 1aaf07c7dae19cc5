"""Keeping the stock books true when an order's units leave (pure).

- A WMS push is an absolute count taken at its `as_of` (`StockHead.counted_at`). A parcel that left
  before that time is already missing from the pushed `on_hand`: its shipment only gives back the reservation
  (`ship_counted`), so it is not taken off twice. `counted_units` says how many of an order's units that is,
  per stock shard, from the times its parcels left.
- A release or shipment never takes a shard's `on_hand` or `reserved` below zero: the store refuses it
  (`BooksRefusal`). `within_books` cuts the refused movements to what the shards hold and names the refusal on
  the order's timeline (`stock_books_refused`), so the order still moves on and the ledger still explains the
  numbers.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from ocp.domain.inventory.stock import LedgerEntry, StockMovement, stock_id
from ocp.domain.order.model import Order, TimelineEntry

if TYPE_CHECKING:
    from ocp.domain.inventory.commit import BooksRefusal, OrderCommit

BOOKS_REFUSED = "stock_books_refused"

StockKey = tuple[str, str]
"""(warehouse, SKU)."""
ShardKey = tuple[str, str, int]
"""(warehouse, SKU, shard)."""


def stock_keys(order: Order) -> tuple[StockKey, ...]:
    """The (warehouse, SKU)s the order's reservation holds units in, in allocation order."""
    reservation = order.reservation
    if reservation is None:
        return ()
    return tuple(dict.fromkeys((a.warehouse or reservation.warehouse, a.sku) for a in reservation.allocations))


def counted_units(order: Order, counts: Mapping[StockKey, datetime | None]) -> dict[ShardKey, int]:
    """Per allocation of the order's reservation, how many of its units the last push of their (warehouse, SKU)
    had already counted out: those that left before its count time (compared at the second precision the count is
    stored with; a tie is not counted). Only allocations with some counted units appear."""
    reservation = order.reservation
    if reservation is None:
        return {}
    left = _departures(order, reservation.warehouse)
    budget: dict[StockKey, int] = {}
    counted: dict[ShardKey, int] = {}
    for allocation in reservation.allocations:
        key = (allocation.warehouse or reservation.warehouse, allocation.sku)
        if key not in budget:
            reserved = sum(a.quantity for a in reservation.allocations
                           if (a.warehouse or reservation.warehouse, a.sku) == key)
            budget[key] = _counted(left.get(key, []), reserved, _reached(order, key[0]), counts.get(key))
        take = min(allocation.quantity, budget[key])
        budget[key] -= take
        if take:
            counted[(*key, allocation.shard)] = take
    return counted


def _departures(order: Order, home: str) -> dict[StockKey, list[tuple[datetime, int]]]:
    """(warehouse, SKU) → (when, units) for each parcel line that left, as the WMS reported it (a split order's
    shipments name their warehouse; any other left from the order's own, `home`)."""
    sku_of = {line.line_id: line.sku for line in order.lines}
    left: dict[StockKey, list[tuple[datetime, int]]] = {}
    for shipment in order.fulfillment.shipments:
        for line in shipment.lines:
            if line.line_id in sku_of:
                key = (shipment.warehouse or home, sku_of[line.line_id])
                left.setdefault(key, []).append((shipment.at, line.quantity))
    return left


def _reached(order: Order, warehouse: str) -> datetime:
    """When the units of `warehouse` reached their status: its parcel's, for a split order."""
    parcel = order.fulfillment.parcel(warehouse)
    return parcel.status_since if parcel is not None else order.status_since


def _counted(left: list[tuple[datetime, int]], reserved: int, reached: datetime, counted_at: datetime | None) -> int:
    if counted_at is None:
        return 0
    # Units no parcel names (delivered before any shipment was reported) left when the order got its status.
    rest = reserved - sum(units for _, units in left)
    moments = [*left, *([(reached, rest)] if rest > 0 else [])]
    # A departure in the count's own second is not taken as counted: on_hand dropping twice undersells until the
    # next push, while a departure missed would oversell.
    return min(reserved, sum(units for at, units in moments if at.replace(microsecond=0) < counted_at))


# ---- refused movements ---------------------------------------------------------------------------------------


def within_books(change: OrderCommit, refusals: Sequence[BooksRefusal], at: datetime) -> OrderCommit:
    """`change` with each refused movement cut to what its shard holds (a missing shard, or nothing left to move:
    dropped with its ledger entry), and one `stock_books_refused` timeline entry saying what was refused."""
    refused = {stock_id(r.warehouse, r.sku, r.shard): r for r in refusals}
    movements: list[StockMovement] = []
    ledger: list[LedgerEntry] = []
    notes: list[str] = []
    for movement, entry in zip(change.movements, change.ledger, strict=True):
        refusal = refused.get(movement.stock_id)
        if refusal is None:
            movements.append(movement)
            ledger.append(entry)
            continue
        cut = _cut(movement, refusal)
        notes.append(_note(movement, refusal, cut))
        if cut is not None:
            movements.append(cut)
            ledger.append(entry.model_copy(update={
                "delta_on_hand": cut.delta_on_hand, "delta_reserved": cut.delta_reserved,
                "delta_available": cut.delta_available, "reason": f"{entry.reason} (cut to the shard's books)",
            }))
    order = change.order
    note = TimelineEntry(at=at, hop="inventory", event=BOOKS_REFUSED, source="ocp", detail="; ".join(notes))
    order = order.model_copy(update={"timeline": (*order.timeline, note)})
    return dataclasses.replace(change, order=order, movements=tuple(movements), ledger=tuple(ledger))


def _cut(movement: StockMovement, refusal: BooksRefusal) -> StockMovement | None:
    """The movement limited so neither on_hand nor reserved goes below zero; None when nothing can move."""
    if refusal.on_hand is None or refusal.reserved is None:
        return None
    on_hand = _limited(movement.delta_on_hand, refusal.on_hand)
    reserved = _limited(movement.delta_reserved, refusal.reserved)
    if not on_hand and not reserved:
        return None
    return movement.model_copy(update={"delta_on_hand": on_hand, "delta_reserved": reserved,
                                       "delta_available": on_hand - reserved})


def _limited(delta: int, held: int) -> int:
    return -min(-delta, max(held, 0)) if delta < 0 else delta


def _note(movement: StockMovement, refusal: BooksRefusal, cut: StockMovement | None) -> str:
    where = f"{movement.warehouse} {movement.sku}" + (f" shard {movement.shard}" if movement.shard else "")
    if refusal.on_hand is None:
        return f"{where}: {movement.kind.value} refused: no such stock item; nothing moved"
    wanted = f"on_hand {movement.delta_on_hand:+d}, reserved {movement.delta_reserved:+d}"
    moved = f"on_hand {cut.delta_on_hand:+d}, reserved {cut.delta_reserved:+d}" if cut else "nothing"
    return (f"{where}: {movement.kind.value} ({wanted}) refused: the books had on_hand {refusal.on_hand}, "
            f"reserved {refusal.reserved}; moved {moved}")
