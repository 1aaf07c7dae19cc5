"""A stock change too large for one transaction, as an intent and chunks (pure).

An `OrderCommit` of more than the store's transaction limit (DynamoDB: 100 items) is written as:

1. the intent: the stored order (for a new order: the order as captured) carrying a `StockIntent` that lists
   every chunk, written at the order's revision with the change's duplicate-check keys;
2. the chunks, in order, each one transaction of at most the limit: its shard updates, ledger puts and purchase
   counters with the same conditions a single commit has, plus a check that the order still carries the intent;
3. the final write: the order as the change decides it, the intent cleared, at the intent's revision.

Chunks that can be refused (reservations, purchase-limit claims) come first. When one is refused, the chunks
already in are given back by an undo intent (its chunks release what they reserved) and the order ends as it
was: all or nothing, as seen from the order. Once a chunk that cannot be refused is in, the change only goes
forward. Every chunk's ledger entries carry the intent's revision in their id, so a chunk lands once and a
later attempt at the same reservation cycle never collides with an undone one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from ocp.domain.inventory.commit import CounterChange, OrderCommit
from ocp.domain.inventory.intent import FinalChange, IntentChunk, IntentCounter, IntentMove, StockIntent
from ocp.domain.inventory.planning import hold_commit, waiting_commit
from ocp.domain.inventory.stock import LedgerEntry, MovementKind, StockMovement, order_entry_id
from ocp.domain.order.model import HoldReason, Order, OrderStatus, TimelineEntry

MAX_STOCK_LINES = 1000
"""Stock lines (SKU-shard allocations) one order may reserve: its item, carrying the intent (~360 bytes a line
with the reservation it will hold), must stay inside DynamoDB's 400 KB item limit."""
INTENT_GRACE = timedelta(minutes=2)
"""An intent older than this belongs to a process that died: the sweeper finishes or undoes it."""
RESUMED = "stock_change_resumed"
"""Timeline event: an interrupted chunked change was finished (or undone) by whoever found it."""

_UNSET_FIELDS = frozenset({"revision", "reservation_intent", "timeline"})


def too_large(change: OrderCommit, limit: int) -> bool:
    return change.item_count > limit


def too_many_lines(lines: int) -> str | None:
    """The hold detail for an order with more stock lines than one order item can carry while it reserves them."""
    if lines <= MAX_STOCK_LINES:
        return None
    return (f"reserving {lines} stock lines needs more than one order item can hold (DynamoDB: 400 KB); "
            f"at most {MAX_STOCK_LINES} per order: split the order")


def intent_deadline(order: Order) -> datetime | None:
    """When an intent the order still carries counts as abandoned (the sweeper's index key)."""
    intent = order.reservation_intent
    return intent.started_at + INTENT_GRACE if intent is not None else None


# ---- planning the chunks ------------------------------------------------------------------------------------


class _Unit(NamedTuple):
    moves: tuple[IntentMove, ...]
    counters: tuple[IntentCounter, ...] = ()

    @property
    def size(self) -> int:
        return 2 * len(self.moves) + len(self.counters)  # a shard update and a ledger put per move


def intent_commit(change: OrderCommit, base: Order, *, limit: int, started_at: datetime) -> OrderCommit:
    """The first write of a chunked `change`: `base` (the stored order; a new one as captured) carrying the intent,
    at `change`'s expected revision, with its duplicate-check keys (refused there before any stock moves)."""
    revision = change.order.revision  # what the intent write stores: expected + 1, or the new order's own
    first = change.ledger[0] if change.ledger else None
    reason = first.reason if first else "stock change"
    cycle = _cycle(change.order.order_id, first)
    refusable, steady = _units(change, _Ids(change.order.order_id, cycle, revision), reason)
    capacity = limit - 1  # one item checks the order's intent
    first_chunks = _pack(refusable, capacity)
    intent = StockIntent(
        revision=revision, cycle=cycle, kind=_kind(change.movements),
        chunks=(*first_chunks, *_pack(steady, capacity)), failable=len(first_chunks),
        actor=first.actor if first else "ocp", reason=reason, at=first.at if first else started_at,
        started_at=started_at, final=final_change(base, change.order),
    )
    return OrderCommit(order=base.model_copy(update={"reservation_intent": intent}),
                       expected_revision=change.expected_revision, fingerprints=change.fingerprints)


def _kind(movements: Sequence[StockMovement]) -> str:
    kinds = {m.kind for m in movements}
    if kinds == {MovementKind.reserve}:
        return "reserve"
    if MovementKind.reserve in kinds:
        return "move"
    return "ship" if kinds & {MovementKind.ship, MovementKind.ship_counted} else "release"


class _Ids(NamedTuple):
    order_id: str
    cycle: int | None
    revision: int


def _cycle(order_id: str, entry: LedgerEntry | None) -> int | None:
    """The reservation cycle in the order's usual ledger ids (`order#<order>#<cycle>#…`), if they are usual."""
    prefix = f"order#{order_id}#"
    if entry is None or not entry.entry_id.startswith(prefix):
        return None
    cycle = entry.entry_id.removeprefix(prefix).split("#", 1)[0]
    return int(cycle) if cycle.isdigit() else None


def move_entry_id(order_id: str, intent: StockIntent, move: IntentMove) -> str:
    """The ledger entry id of a move: as stored, or the usual one for its cycle, with the intent's revision."""
    return move.entry_id or _usual_id(_Ids(order_id, intent.cycle, intent.revision), _movement(move))


def _usual_id(ids: _Ids, movement: StockMovement) -> str:
    kind = MovementKind.ship if movement.kind == MovementKind.ship_counted else movement.kind
    return f"{order_entry_id(ids.order_id, ids.cycle or 0, kind, movement)}#i{ids.revision}"


def _units(change: OrderCommit, ids: _Ids, reason: str) -> tuple[list[_Unit], list[_Unit]]:
    """Per SKU, its moves with its purchase counter: those that can be refused, and those that cannot."""
    moves: dict[tuple[bool, str], list[IntentMove]] = {}
    for movement, entry in zip(change.movements, change.ledger, strict=True):
        key = (movement.kind == MovementKind.reserve, movement.sku)
        moves.setdefault(key, []).append(_move(movement, entry, ids, reason))
    counters: dict[tuple[bool, str], list[IntentCounter]] = {}
    for counter in change.counters:
        key = (counter.delta > 0 and counter.limit is not None, counter.sku)
        if key not in moves and moves:  # a counter goes with a move of its kind: every chunk has a ledger entry
            key = next((k for k in moves if k[0] == key[0]), next(iter(moves)))
        counters.setdefault(key, []).append(IntentCounter(buyer_id=counter.buyer_id, sku=counter.sku,
                                                          delta=counter.delta, limit=counter.limit))
    units = {key: _Unit(tuple(found), tuple(counters.get(key, ()))) for key, found in moves.items()}
    return ([u for (refusable, _), u in units.items() if refusable],
            [u for (refusable, _), u in units.items() if not refusable])


def _move(movement: StockMovement, entry: LedgerEntry, ids: _Ids, reason: str) -> IntentMove:
    entry_id = f"{entry.entry_id}#i{ids.revision}"
    usual = ids.cycle is not None and entry_id == _usual_id(ids, movement)
    return IntentMove(
        entry_id=None if usual else entry_id, kind=movement.kind, warehouse=movement.warehouse, sku=movement.sku,
        shard=movement.shard, delta_on_hand=movement.delta_on_hand, delta_reserved=movement.delta_reserved,
        delta_available=movement.delta_available, reason=entry.reason if entry.reason != reason else None,
    )


def _pack(units: Iterable[_Unit], capacity: int) -> tuple[IntentChunk, ...]:
    """Units into chunks of at most `capacity` items, in order; a unit larger than a chunk is split."""
    chunks: list[IntentChunk] = []
    moves: list[IntentMove] = []
    counters: list[IntentCounter] = []
    for unit in _pieces(units, capacity):
        if moves and 2 * len(moves) + len(counters) + unit.size > capacity:
            chunks.append(IntentChunk(moves=tuple(moves), counters=tuple(counters)))
            moves, counters = [], []
        moves += unit.moves
        counters += unit.counters
    if moves:
        chunks.append(IntentChunk(moves=tuple(moves), counters=tuple(counters)))
    return tuple(chunks)


def _pieces(units: Iterable[_Unit], capacity: int) -> Iterable[_Unit]:
    for unit in units:
        if unit.size <= capacity:
            yield unit
            continue
        room = (capacity - len(unit.counters)) // 2  # the counters ride with the first piece
        yield _Unit(unit.moves[:room], unit.counters)
        rest = unit.moves[room:]
        step = capacity // 2
        for start in range(0, len(rest), step):
            yield _Unit(rest[start:start + step])


# ---- what the order becomes -------------------------------------------------------------------------------------


def final_change(base: Order, final: Order) -> FinalChange:
    """`final` as a difference from `base`: what the last write sets, whatever else was written meanwhile."""
    before, after = base.model_dump(mode="json"), final.model_dump(mode="json")
    fields = {k: v for k, v in after.items() if k not in _UNSET_FIELDS and v is not None and before.get(k) != v}
    cleared = tuple(k for k, v in after.items() if k not in _UNSET_FIELDS and v is None and before.get(k) is not None)
    old, new = before["timeline"], after["timeline"]
    if new[:len(old)] == old:
        return FinalChange(fields=fields, cleared=cleared, timeline=tuple(new[len(old):]))
    return FinalChange(fields={**fields, "timeline": new}, cleared=cleared)


def apply_final(order: Order, final: FinalChange, notes: Sequence[TimelineEntry] = ()) -> Order:
    """`order` as the change leaves it: its fields set, its timeline entries appended, the intent cleared."""
    data: dict[str, Any] = order.model_dump(mode="json")
    timeline = list(final.fields.get("timeline", [*data["timeline"], *final.timeline]))
    data.update(final.fields)
    data.update(dict.fromkeys(final.cleared))
    data["timeline"] = [*timeline, *(note.model_dump(mode="json") for note in notes)]
    data["reservation_intent"] = None
    return Order.model_validate(data)


def without_intent(order: Order) -> Order:
    return order.model_copy(update={"reservation_intent": None})


# ---- chunks and their undoing -----------------------------------------------------------------------------------


def chunk_commit(order: Order, intent: StockIntent, index: int) -> OrderCommit:
    """Chunk `index` of `intent` as one transaction: conditional as a single commit, and only while the order
    still carries the intent."""
    chunk = intent.chunks[index]
    movements = tuple(_movement(m) for m in chunk.moves)
    ledger = tuple(
        LedgerEntry(entry_id=move_entry_id(order.order_id, intent, m), warehouse=m.warehouse, sku=m.sku,
                    shard=m.shard, kind=m.kind,
                    delta_on_hand=m.delta_on_hand, delta_reserved=m.delta_reserved, delta_available=m.delta_available,
                    order_id=order.order_id, actor=intent.actor, reason=m.reason or intent.reason, at=intent.at)
        for m in chunk.moves
    )
    counters = tuple(CounterChange(buyer_id=c.buyer_id, sku=c.sku, delta=c.delta, limit=c.limit)
                     for c in chunk.counters)
    return OrderCommit(order=order, expected_revision=None, movements=movements, ledger=ledger, counters=counters,
                       intent_check=intent.revision)


def _movement(move: IntentMove) -> StockMovement:
    return StockMovement(
        kind=move.kind, warehouse=move.warehouse, sku=move.sku, shard=move.shard, delta_on_hand=move.delta_on_hand,
        delta_reserved=move.delta_reserved, delta_available=move.delta_available,
        requires_available=move.delta_reserved if move.kind == MovementKind.reserve else 0,
    )


def entry_ids(order_id: str, intent: StockIntent, chunk: IntentChunk) -> tuple[str, ...]:
    return tuple(move_entry_id(order_id, intent, m) for m in chunk.moves)


def all_entry_ids(order_id: str, intent: StockIntent) -> list[str]:
    return [entry_id for chunk in intent.chunks for entry_id in entry_ids(order_id, intent, chunk)]


def landed(order_id: str, intent: StockIntent, recorded: set[str]) -> frozenset[int]:
    """The chunks whose ledger entries exist (a chunk is atomic: any one of its entries means all of it)."""
    return frozenset(i for i, chunk in enumerate(intent.chunks)
                     if recorded.intersection(entry_ids(order_id, intent, chunk)))


def undo_order(order: Order, intent: StockIntent, applied: Iterable[int], target: Order, *, cause: str,
               at: datetime) -> Order | None:
    """`order` carrying the intent that gives back the `applied` refusable chunks of `intent` and ends as `target`;
    None when nothing landed (`target` is then written as it is)."""
    chunks = tuple(_inverse(order.order_id, intent, intent.chunks[i]) for i in sorted(applied) if i < intent.failable)
    if not chunks:
        return None
    undo = StockIntent(
        revision=order.revision + 1, kind=intent.kind, undo=True, chunks=chunks, actor=intent.actor,
        reason=f"{intent.kind} undone: {cause}", at=at, started_at=at, final=final_change(order, target), cause=cause,
    )
    return order.model_copy(update={"reservation_intent": undo})


def _inverse(order_id: str, intent: StockIntent, chunk: IntentChunk) -> IntentChunk:
    moves = tuple(
        m.model_copy(update={"entry_id": f"{move_entry_id(order_id, intent, m)}#undo", "kind": MovementKind.release,
                             "reason": None,
                             "delta_on_hand": -m.delta_on_hand, "delta_reserved": -m.delta_reserved,
                             "delta_available": -m.delta_available})
        for m in chunk.moves
    )
    counters = tuple(IntentCounter(buyer_id=c.buyer_id, sku=c.sku, delta=-c.delta) for c in chunk.counters)
    return IntentChunk(moves=moves, counters=counters)


def interrupted_target(order: Order, intent: StockIntent, reason: HoldReason, detail: str, at: datetime) -> Order:
    """What an undone reservation leaves: the order as decided, without the stock, held for it (paid) or waiting
    for payment (unpaid) — what a single commit's refusal leads to. Other changes end as the order was (an edit's
    old lines keep their old reservation)."""
    current = without_intent(order)
    if intent.kind != "reserve":
        return current
    decided = apply_final(current, intent.final)
    kept = tuple(e for e in decided.timeline[len(current.timeline):] if e.event not in ("reserved", "held"))
    decided = decided.model_copy(update={
        **{key: getattr(current, key) for key in ("status", "status_since", "reservation", "warehouse")},
        "timeline": (*current.timeline, *kept),
    })
    status = intent.final.fields.get("status", current.status)
    if status == OrderStatus.pending_payment:
        return waiting_commit(None, decided, detail, at).order
    return hold_commit(None, decided, reason, detail, at).order


def wanted(intent: StockIntent, sku: str) -> tuple[int, int]:
    """(units reserved, units claimed against the purchase limit) of `sku` by the intent's chunks."""
    units = sum(m.delta_reserved for chunk in intent.chunks for m in chunk.moves
                if m.sku == sku and m.kind == MovementKind.reserve)
    claimed = sum(c.delta for chunk in intent.chunks for c in chunk.counters if c.sku == sku and c.delta > 0)
    return units, claimed


def resumed_note(intent: StockIntent, landed_before: int, actor: str, at: datetime) -> TimelineEntry:
    what = f"undoing of the {intent.kind}" if intent.undo else intent.kind
    return TimelineEntry(at=at, hop="inventory", event=RESUMED, source="ocp",
                         detail=f"{actor} took over the {what} a stopped process left after {landed_before} of "
                                f"{len(intent.chunks)} transactions")
