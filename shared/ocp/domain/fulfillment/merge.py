"""Merged parcels (合单): orders of one buyer to one address from one warehouse, reserved within a few minutes of
each other, leave as one parcel (API.md, "Merged parcels"). Whether an order may wait, how long, and how the merge
indexes are keyed, and the wait itself (`waiting`), are `ocp.domain.fulfillment.merge_window`.

- Grouping. When an order's window ends, it and the waiting orders with its key (its mates, whatever their own
  window) form one group, `merge:<first order id>` (`group_id`), written onto every order of it at once; an
  order with no mate leaves alone and is dispatched as any other order.
- The merged instruction. A group's orders go to the warehouse as one `MergedInstruction` whose `order_id` is the
  group's id (every order's lines, each naming its order), versioned per group: key `<group_id>:<version>`. An
  order that can no longer go (cancelled, held, changed) before the first hand-over leaves the group, and the next
  version goes without it.
- Callbacks. A callback naming the group, or an order in it, moves every order of it, each through its own state
  machine; a `cancelled` confirmation naming an order stays with that order (stops are sent per order).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, NamedTuple

from pydantic import Field

from ocp.domain.clock import iso
from ocp.domain.errors import ConcurrentModification
from ocp.domain.fulfillment.dispatch import (
    HOP,
    DispatchOutcome,
    InstructionLine,
    Skip,
    WarehouseInstruction,
    instruction_for,
    mark_dispatched,
)
from ocp.domain.fulfillment.merge_record import MergeRecord
from ocp.domain.fulfillment.merge_window import (
    free_of_stops,
    in_group,
    merge_due,
    merge_key,
    single_warehouse,
    waits,
    with_merge_record,
)
from ocp.domain.order.model import Order, OrderStatus, TimelineEntry

if TYPE_CHECKING:
    from ocp.domain.fulfillment.callbacks import EventLine

GROUP_PREFIX = "merge:"
"""A group's id is `merge:<its first order's id>`: the merged instruction's `order_id`, never an order's."""
MAX_GROUP = 20
"""Orders per parcel: a group is written in one transaction (at most 100 items), and a carton has its limits."""


class ParcelPartlyRecorded(ConcurrentModification):
    """A callback for a merged parcel reached some of its orders and not (yet) the others: sent again, the orders
    that have it answer duplicate and the others take it."""

    code = "parcel_partly_recorded"


# ---- forming groups --------------------------------------------------------------------------------------------


def group_of(due: Order, candidates: Iterable[Order]) -> tuple[Order, ...]:
    """The due order and the waiting orders with its key, earliest window first (at most `MAX_GROUP`); only the
    due order when it no longer waits or has no key."""
    key = merge_key(due) if waits(due) else None
    if key is None:
        return ()
    mates = {c.order_id: c for c in candidates
             if c.order_id != due.order_id and waits(c) and merge_key(c) == key}
    ordered = sorted([due, *mates.values()], key=_window_order)
    return tuple(ordered[:MAX_GROUP])


def _window_order(order: Order) -> tuple[str, str]:
    record = order.fulfillment.merge
    return (iso(record.wait_until) if record is not None and record.wait_until else "", order.order_id)


def grouped(order: Order, group: Sequence[str], now: datetime) -> Order:
    """The order in the group of `group` (named after the first): the merged instruction's version 1 is owed."""
    group_id, others = GROUP_PREFIX + group[0], [i for i in group if i != order.order_id]
    record = MergeRecord(decided_at=now, group_id=group_id, order_ids=tuple(group), instruction_version=1)
    entry = TimelineEntry(at=now, hop=HOP, event="merged", source="ocp",
                          detail=f"leaves as one parcel with {', '.join(others)} (instruction {group_id}:1)")
    return with_merge_record(order, record, entry)


def alone(order: Order, now: datetime) -> Order:
    """Its window ended with no order to merge with: it is dispatched as any other order."""
    entry = TimelineEntry(at=now, hop=HOP, event="merge_window_ended", source="ocp",
                          detail="no other order of the same buyer and address came within the window: leaves alone")
    return with_merge_record(order, MergeRecord(decided_at=now), entry)


def owed_request(order: Order) -> str | None:
    """The order to ask the dispatcher about for an order whose hand-over is owed: itself when alone (or it left
    its group), its group's first order when grouped (one request per group); None when nothing is owed."""
    record = order.fulfillment.merge
    if record is None or record.waiting or merge_due(order) is None:
        return None
    if not in_group(order):
        return order.order_id
    return order.order_id if record.order_ids[0] == order.order_id else None


# ---- the merged instruction ------------------------------------------------------------------------------------


class MergedLine(InstructionLine):
    order_id: str = Field(description="The order this line belongs to")


class MergedInstruction(WarehouseInstruction):
    """One parcel for several orders of one buyer to one address: `order_id` is the group's id (so the key is
    `merge:<first order id>:<version>`), `merged_order_ids` every order it covers, and each line names its order.
    A single order's instruction is unchanged."""

    lines: tuple[MergedLine, ...]  # a line of a merged parcel names its order
    merged_order_ids: tuple[str, ...] = Field(min_length=1)


def merged_instruction(group_id: str, version: int, orders: Sequence[Order], now: datetime) -> MergedInstruction:
    """The orders' lines in one instruction, with the first order's address and channel fields; notes joined."""
    singles = [instruction_for(order, version=version, now=now) for order in orders]
    first = singles[0]
    return MergedInstruction(
        order_id=group_id, version=version, warehouse=first.warehouse, channel=first.channel,
        channel_order_id=first.channel_order_id, channel_order_name=first.channel_order_name, issued_at=now,
        lines=tuple(MergedLine(order_id=single.order_id, **line.model_dump())
                    for single in singles for line in single.lines),
        address=first.address,
        carrier_preference=next((s.carrier_preference for s in singles if s.carrier_preference), None),
        buyer_note=_joined(s.buyer_note for s in singles), seller_note=_joined(s.seller_note for s in singles),
        merged_order_ids=tuple(single.order_id for single in singles),
    )


def _joined(notes: Iterable[str | None]) -> str | None:
    distinct = list(dict.fromkeys(note for note in notes if note))
    return " / ".join(distinct) or None


# ---- handing a group over --------------------------------------------------------------------------------------


class GroupSend(NamedTuple):
    """What the dispatcher sends for a group, and what it writes first."""

    group_id: str
    version: int
    stay: tuple[Order, ...]
    """The orders the instruction covers, in group order (none: nothing can be sent)."""
    leave: tuple[tuple[Order, str], ...] = ()
    """Orders of the group that can no longer go, with why (only before the first hand-over)."""
    rewrite: tuple[Order, ...] = ()
    """Orders whose record must name the group as it is now before the instruction goes (staying or not)."""

    @property
    def order_ids(self) -> tuple[str, ...]:
        return tuple(order.order_id for order in self.stay)


def belongs(order: Order, group_id: str) -> bool:
    record = order.fulfillment.merge
    return record is not None and record.group_id == group_id and order.order_id in record.order_ids


def plan_group(group_id: str, found: Sequence[Order], after_version: int) -> GroupSend | Skip:
    """What to send for the group of `found` (its orders as listed, its first order among them)."""
    members = [order for order in found if belongs(order, group_id)]
    if not members:
        return Skip(DispatchOutcome.not_dispatchable, f"no order is in merge group {group_id} any more")
    sent = max(order.fulfillment.instruction_version for order in members)
    if sent and any(order.fulfillment.instruction_version < sent for order in members):
        return GroupSend(group_id, sent, tuple(members))  # handed over, recorded on part of it: the same again
    if sent > after_version:
        return Skip(DispatchOutcome.already_dispatched, f"merged instruction v{sent} was handed over already")
    if sent < after_version:
        return Skip(DispatchOutcome.not_dispatchable, f"asked after v{after_version}, the group is at v{sent}")
    return _resend(group_id, members, sent) if sent else _first_send(group_id, found, members)


def _first_send(group_id: str, found: Sequence[Order], members: Sequence[Order]) -> GroupSend:
    """Before the first hand-over an order that can no longer go leaves the group; a changed group is the next
    version (an earlier one may have reached the warehouse before a crash, and this one supersedes it)."""
    keys = Counter(merge_key(order) for order in members if _why_not(order, None) is None)
    key = keys.most_common(1)[0][0] if keys else None  # most of the group decides which of them changed
    reasons = {order.order_id: _why_not(order, key) for order in members}
    stay = tuple(order for order in members if reasons[order.order_id] is None)
    leave = tuple((order, why) for order in members if (why := reasons[order.order_id]) is not None)
    ids = tuple(order.order_id for order in stay)
    top = max(members, key=lambda order: _record(order).instruction_version or 1)
    version = (_record(top).instruction_version or 1) + (0 if _record(top).order_ids == ids else 1)
    # The first order keeps naming the group after it left: callbacks for the group are resolved through it.
    departed = [order for order in found if GROUP_PREFIX + order.order_id == group_id
                and not belongs(order, group_id) and _names_group(order, group_id)]
    rewrite = tuple(order for order in (*members, *departed)
                    if (_record(order).order_ids, _record(order).instruction_version) != (ids, version))
    return GroupSend(group_id, version, stay, leave, rewrite)


def _resend(group_id: str, members: Sequence[Order], sent: int) -> GroupSend | Skip:
    """After the hand-over the parcel is re-sent whole (a stuck group), or not at all: once the warehouse has moved
    any of its orders on, a new version without them would tell it to drop them."""
    blocking = [order for order in members if order.status != OrderStatus.dispatched or not free_of_stops(order)]
    if blocking:
        order = blocking[0]
        return Skip(DispatchOutcome.not_dispatchable,
                    f"the warehouse has merged parcel {group_id}: {order.order_id} is {order.status.value}")
    return GroupSend(group_id, sent + 1, tuple(members))


def _why_not(order: Order, key: str | None) -> str | None:
    """Why the order can no longer go in its group's first instruction, or None."""
    if order.status != OrderStatus.reserved:
        return f"it is {order.status.value}"
    if not free_of_stops(order):
        return "its warehouse was asked to stop it, or its channel cancelled it"
    if any(not line.sku for line in order.lines):
        return "it has lines without a merchant SKU"
    if key is not None and merge_key(order) != key:
        return "its buyer, address or warehouse changed"
    if not single_warehouse(order):
        return "it is split across warehouses"
    return None


def _record(order: Order) -> MergeRecord:
    record = order.fulfillment.merge
    assert record is not None  # only orders of a group are asked
    return record


def _names_group(order: Order, group_id: str) -> bool:
    record = order.fulfillment.merge
    return record is not None and record.group_id == group_id


def regrouped(order: Order, send: GroupSend, now: datetime) -> Order | None:
    """The order's record naming the group as it is now; None when it does already (a redelivery)."""
    record = order.fulfillment.merge
    if record is None or record.group_id != send.group_id:
        return None
    if (record.order_ids, record.instruction_version) == (send.order_ids, send.version):
        return None
    why = {o.order_id: reason for o, reason in send.leave}.get(order.order_id)
    updated = record.model_copy(update={"order_ids": send.order_ids, "instruction_version": send.version,
                                        "note": why or record.note})
    if why is not None:
        entry = TimelineEntry(at=now, hop=HOP, event="merge_left", source="ocp",
                              detail=f"left merge group {send.group_id}: {why}")
    else:
        entry = TimelineEntry(at=now, hop=HOP, event="merge_group_changed", source="ocp",
                              detail=f"merge group {send.group_id} is now {', '.join(send.order_ids) or 'empty'} "
                                     f"(instruction {send.group_id}:{send.version})")
    return with_merge_record(order, updated, entry)


def mark_group_dispatched(order: Order, instruction: MergedInstruction, receipt: str, now: datetime,
                          actor: str | None = None) -> Order | None:
    """The merged instruction is handed over: the order is `dispatched` like any other (its own version is the
    group's), and its timeline says with which orders it left. None when recorded already."""
    first = order.fulfillment.instruction_version == 0
    others = [i for i in instruction.merged_order_ids if i != order.order_id]
    detail = f"{instruction.idempotency_key}, one parcel with {', '.join(others) or 'no other order'}; {receipt}"
    marked = mark_dispatched(order, instruction, detail, now, actor=actor)
    if marked is None:
        return None
    timeline = marked.timeline
    if first and timeline[-1].event != "dispatched":  # a group's first hand-over at a later version
        timeline = (*timeline[:-1], timeline[-1].model_copy(update={"event": "dispatched"}))
    record = marked.fulfillment.merge
    if record is not None:
        record = record.model_copy(update={"instruction_version": instruction.version,
                                           "order_ids": instruction.merged_order_ids})
    return marked.model_copy(update={"timeline": timeline,
                                     "fulfillment": marked.fulfillment.model_copy(update={"merge": record})})


# ---- callbacks for a merged parcel -----------------------------------------------------------------------------


def group_leader(order_id: str) -> str | None:
    """The first order of the group a callback names (`merge:<first order id>`); None: it names an order."""
    return order_id.removeprefix(GROUP_PREFIX) if order_id.startswith(GROUP_PREFIX) else None


def parcel_of(order: Order, group_id: str | None = None) -> tuple[str, ...]:
    """The orders of the merged parcel: of the group `group_id` (named through its first order, which may have
    left it), else of the order's own group while it is in it; () when there is none."""
    record = order.fulfillment.merge
    if record is None or record.group_id is None:
        return ()
    if group_id is not None:
        return record.order_ids if record.group_id == group_id else ()
    return record.order_ids if in_group(order) else ()


def callback_targets(named: Order, members: Sequence[Order], cancelled: bool, whole: bool) -> tuple[Order, ...]:
    """Who a callback moves: every order of the parcel, but a `cancelled` only the order it names (stops are per
    order) unless it names the group; an order cancelled already only when named."""
    if cancelled and not whole:
        return (named,)
    return tuple(m for m in members if m.status != OrderStatus.cancelled or m.order_id == named.order_id)


def parcel_lines(orders: Sequence[Order], lines: Sequence[EventLine]) -> dict[str, tuple[EventLine, ...]] | None:
    """Each order's share of a shipment's lines (by line id or SKU, the orders filled in group order: gift lines
    share ids across orders); None when the lines do not fit the parcel (then each order judges them as sent)."""
    left = {(o.order_id, line.line_id): line.quantity - o.fulfillment.shipped_quantity(line.line_id)
            for o in orders for line in o.lines}
    taken: dict[tuple[str, str], int] = {}
    for wanted in lines:
        slots = [(o.order_id, line.line_id) for o in orders for line in o.lines
                 if (line.line_id == wanted.line_id if wanted.line_id else line.sku == wanted.sku)]
        quantity = wanted.quantity
        for slot in slots:
            share = min(quantity, left[slot] - taken.get(slot, 0))
            if share > 0:
                taken[slot] = taken.get(slot, 0) + share
                quantity -= share
        if not slots or quantity:
            return None
    # Only a callback's lines are shared out, on the callback route, which has the callbacks loaded: the order path
    # and the merge run, which use this module too, do not load them.
    from ocp.domain.fulfillment.callbacks import EventLine

    shares: dict[str, list[EventLine]] = {}
    for (order_id, line_id), quantity in taken.items():
        shares.setdefault(order_id, []).append(EventLine(line_id=line_id, quantity=quantity))
    return {order_id: tuple(share) for order_id, share in shares.items()}
