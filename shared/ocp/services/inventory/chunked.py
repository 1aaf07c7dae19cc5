"""Committing an order's stock change of any size, and finishing one a crashed process left half-written.

`commit_any_size` is the one door every stock-moving commit goes through. A change that fits one transaction is
committed as it is (one write, no read: the common case). A larger one is written as intent, chunks and final
write (`ocp.domain.inventory.chunks`): n chunks + 2 writes. A refused chunk (short stock, a purchase limit) undoes
the chunks already in, holds the order for it, and the caller gets `Undone` to re-plan from (another shard, another
warehouse) or to keep.

Whoever finds an order still carrying an intent settles it (`settled`): the redelivered message (`processing`), any
stock commit made from that order (here), the sweeper after `INTENT_GRACE` (`release_expired`). Settling reads
which chunks landed (their ledger entries), applies the rest, and writes the final order; a chunk refused on the way
undoes the change and holds the order for it. Two processes settling the same intent cannot double anything: every
chunk is conditional on the intent and its ledger ids, and the final write on the order's revision.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, NamedTuple

from ocp.domain.errors import ConcurrentModification
from ocp.domain.inventory.books import within_books
from ocp.domain.inventory.chunks import (
    all_entry_ids,
    apply_final,
    chunk_commit,
    intent_commit,
    intent_deadline,
    interrupted_target,
    landed,
    resumed_note,
    too_large,
    undo_order,
    wanted,
)
from ocp.domain.inventory.commit import CommitRejected, OrderCommit
from ocp.domain.order.model import HoldReason, Order, TimelineEntry

if TYPE_CHECKING:
    from ocp.domain.inventory.intent import StockIntent
    from ocp.ports import TransactionalOrderStore

_CONFLICT = CommitRejected(order_conflict=True)
_APPLIED = "applied"


class Undone(NamedTuple):
    """A chunked change was refused part-way and undone: none of its stock stays; `stored` is the order now (held
    for the refusal, or waiting for payment), for the caller to re-plan from or keep."""

    rejected: CommitRejected
    stored: Order


def commit_any_size(orders: TransactionalOrderStore, change: OrderCommit, at: datetime,
                    base: Order | None = None) -> Order | CommitRejected | Undone:
    """Commit `change` however many items it has: the stored order, the rejection, or `Undone`. `base`: the order as
    stored at the change's expected revision (for a new order: as captured); read when needed and not given."""
    if change.order.reservation_intent is not None:
        # Made from an order in the middle of a chunked change: settle that first; the caller re-reads.
        settle(orders, change.order.order_id, at, actor="ocp")
        return _CONFLICT
    if not too_large(change, orders.transaction_items):
        rejected = orders.commit(change)
        return change.order if rejected is None else rejected
    if base is None:
        base = orders.get(change.order.order_id)
        if base is None or base.revision != change.expected_revision:
            return _CONFLICT
    first = intent_commit(change, base, limit=orders.transaction_items, started_at=at)
    rejected = orders.commit(first)
    if rejected is not None:
        return rejected
    return _drive(orders, first.order, frozenset(), at, _Run())


def settled(orders: TransactionalOrderStore, order: Order, at: datetime, actor: str = "ocp") -> Order:
    """`order`, or when it carries an intent, the order once that change is finished or undone (re-read)."""
    if order.reservation_intent is None:
        return order
    return settle(orders, order.order_id, at, actor=actor) or order


def settle(orders: TransactionalOrderStore, order_id: str, at: datetime, *, actor: str) -> Order | None:
    """Finish (or undo) the chunked change the order carries; the order as stored afterwards."""
    order = orders.get(order_id)
    intent = order.reservation_intent if order else None
    if order is None or intent is None:
        return order
    done = landed(order_id, intent, orders.recorded(all_entry_ids(order_id, intent)))
    _drive(orders, order, done, at, _Run(notes=[resumed_note(intent, len(done), actor, at)]))
    return orders.get(order_id)


def abandoned(order: Order, now: datetime) -> bool:
    """The order carries an intent older than `INTENT_GRACE`: its process died; the sweeper settles it."""
    deadline = intent_deadline(order)
    return deadline is not None and deadline <= now


# ---- driving an intent ------------------------------------------------------------------------------------------


@dataclass
class _Run:
    notes: list[TimelineEntry] = field(default_factory=list)
    """Timeline entries for the final write: books refusals cut to size, a settler's word."""


def _drive(orders: TransactionalOrderStore, order: Order, done: frozenset[int], at: datetime,
           run: _Run) -> Order | CommitRejected | Undone:
    """Apply the chunks of the intent `order` carries that are not `done`, then the final write."""
    intent = order.reservation_intent
    assert intent is not None
    for index in range(len(intent.chunks)):
        if index in done:
            continue
        outcome = _apply(orders, order, intent, index, at, run)
        if outcome == _APPLIED:
            continue
        if isinstance(outcome, CommitRejected) and not outcome.order_conflict:
            return _undo(orders, order, intent, range(index), outcome, at, run)
        return _CONFLICT
    return _finish(orders, order, intent, run)


def _apply(orders: TransactionalOrderStore, order: Order, intent: StockIntent, index: int, at: datetime,
           run: _Run) -> str | CommitRejected:
    """`_APPLIED` (now or by someone else), a conflict (the intent is gone), or a refusal to undo for."""
    commit = chunk_commit(order, intent, index)
    rejected = orders.commit(commit)
    if rejected is not None and rejected.refused and not rejected.order_conflict:
        # Releases and shipments the books cannot take whole: cut to what the shards hold, as a single commit is.
        commit = within_books(commit, rejected.refused, at)
        run.notes.append(commit.order.timeline[-1])
        rejected = orders.commit(commit)
    if rejected is None:
        return _APPLIED
    if rejected.order_conflict:
        fresh = orders.get(order.order_id)
        still = fresh.reservation_intent if fresh else None
        # The intent is still there: the chunk's ledger entries exist, i.e. another settler applied it.
        return _APPLIED if still is not None and still.revision == intent.revision else _CONFLICT
    if (rejected.shortages or rejected.over_limit) and not intent.undo and index < intent.failable:
        return rejected
    raise ConcurrentModification(f"order {order.order_id}: chunk {index} refused: {rejected}")


def _undo(orders: TransactionalOrderStore, order: Order, intent: StockIntent, applied: range,
          cause: CommitRejected, at: datetime, run: _Run) -> Order | CommitRejected | Undone:
    """Give back the chunks in before the refused one; the order ends held for the refusal (waiting, unpaid), as
    a single commit's refusal would leave it, so a process dying meanwhile leaves nothing for nobody to finish. The
    live caller may still re-plan from there (another shard or warehouse)."""
    reason, detail = _why(intent, cause)
    target = interrupted_target(order, intent, reason, detail, at)
    flipped = undo_order(order, intent, applied, target, cause=detail, at=at)
    if flipped is None:
        stored = _write(orders, OrderCommit(order=target, expected_revision=order.revision))
    else:
        flip = OrderCommit(order=flipped, expected_revision=order.revision)
        if orders.commit(flip) is not None:
            return _CONFLICT  # someone else is settling it
        outcome = _drive(orders, flip.order, frozenset(), at, run)
        stored = outcome if isinstance(outcome, Order) else None
    return _CONFLICT if stored is None else Undone(cause, stored)


def _finish(orders: TransactionalOrderStore, order: Order, intent: StockIntent, run: _Run) -> Order | CommitRejected:
    final = apply_final(order, intent.final, run.notes)
    stored = _write(orders, OrderCommit(order=final, expected_revision=order.revision))
    return _CONFLICT if stored is None else stored


def _write(orders: TransactionalOrderStore, commit: OrderCommit) -> Order | None:
    rejected = orders.commit(commit)
    if rejected is None:
        return commit.order
    if rejected.order_conflict:
        return None
    raise ConcurrentModification(f"order {commit.order.order_id}: unexpected rejection {rejected}")


def _why(intent: StockIntent, rejected: CommitRejected) -> tuple[HoldReason, str]:
    """The hold a refused chunk means, with the detail the single-transaction path gives."""
    if rejected.over_limit:
        return HoldReason.purchase_limit_exceeded, "; ".join(
            f"{b.sku}: limit {b.limit} per buyer, {b.bought} already bought, "
            f"this order wants {wanted(intent, b.sku)[1]}" for b in rejected.over_limit)
    return HoldReason.insufficient_stock, "; ".join(_short(intent, rejected))


def _short(intent: StockIntent, rejected: CommitRejected) -> Sequence[str]:
    available: dict[str, int] = {}
    for shortage in rejected.shortages:
        available[shortage.sku] = available.get(shortage.sku, 0) + max(0, shortage.available)
    return [f"{sku} needs {wanted(intent, sku)[0]}, {units} available" for sku, units in sorted(available.items())]
