"""A channel's change to an order the warehouse already has (pure).

Ingest keeps the status of an order with the warehouse (`ocp.domain.order.ingest`); what the change means for the
warehouse is decided here, in the same write:
- a cancellation stops the warehouse, or is flagged for a person once the order is picked (`stops`);
- a new address of a `dispatched` or `accepted` order records `fulfillment.update`, and the dispatcher sends the next
  instruction version (kind fulfil, the order as it is then, key `<order_id>:<version>`), then clears it. A change
  that lands while the dispatcher is sending keeps it owed, so the dispatcher sends again. Once the order is picked
  the parcel must be re-labelled or intercepted: an issue for a person.
"""

from __future__ import annotations

from datetime import datetime

from ocp.domain.fulfillment.dispatch import HOP, DispatchOutcome, Skip, WarehouseInstruction, instruction_for
from ocp.domain.fulfillment.state import InstructionUpdate, IssueKind
from ocp.domain.fulfillment.stops import PAST_PICK, STOPPABLE, channel_cancel_after_dispatch, flagged
from ocp.domain.order.model import Order, TimelineEntry

ADDRESS_CHANGED = "the buyer's address changed"
RELABEL = "re-label or intercept the parcel"


def after_channel_update(before: Order, after: Order, now: datetime) -> Order:
    """`after` (the channel's view merged into `before`) with what it asks of the warehouse recorded."""
    order = channel_cancel_after_dispatch(after, now)
    if order.address != before.address:
        order = address_changed(order, now)
    return order


def address_changed(order: Order, now: datetime) -> Order:
    """An update owed to the warehouse, or an issue once it picked the order. A stop supersedes both."""
    if order.fulfillment.stop is not None:
        return order
    if order.status in STOPPABLE:
        update = InstructionUpdate(requested_at=now, reason=ADDRESS_CHANGED)
        return order.model_copy(update={"fulfillment": order.fulfillment.model_copy(update={"update": update})})
    if order.status in PAST_PICK:
        return flagged(order, IssueKind.address_change_after_pick,
                       f"{ADDRESS_CHANGED} while {order.status.value}: {RELABEL}", now, order.channel.value)
    return order


def plan_update(order: Order, now: datetime) -> WarehouseInstruction | Skip:
    """The next instruction version for an owed update, or why none is sent."""
    if order.fulfillment.update is None:
        return Skip(DispatchOutcome.already_dispatched, "no update owed to the warehouse")
    if order.fulfillment.stop is not None or order.status not in STOPPABLE:
        return Skip(DispatchOutcome.not_dispatchable, f"order is {order.status.value}"
                    + (", its warehouse asked to stop" if order.fulfillment.stop is not None else ""))
    return instruction_for(order, version=order.fulfillment.instruction_version + 1, now=now)


def mark_updated(order: Order, instruction: WarehouseInstruction, receipt: str, sent_for: InstructionUpdate,
                 now: datetime) -> Order | None:
    """The update handed over; None when this version was recorded already. The update stays owed when a newer
    change arrived after the one this instruction was built from. The status stays."""
    if order.fulfillment.instruction_version >= instruction.version:
        return None
    entry = TimelineEntry(at=now, hop=HOP, event="instruction_updated", source="ocp",
                          detail=f"instruction v{instruction.version} to {instruction.warehouse}: "
                                 f"{sent_for.reason} ({receipt})")
    owed = order.fulfillment.update
    if owed is not None and owed.requested_at <= sent_for.requested_at:
        owed = None
    fulfillment = order.fulfillment.model_copy(update={"instruction_version": instruction.version, "update": owed})
    return order.model_copy(update={"fulfillment": fulfillment, "timeline": (*order.timeline, entry)})


def drop_update(order: Order, now: datetime) -> Order | None:
    """An owed update that can no longer be sent: once picked, flagged for a person; stopped or cancelled, dropped
    (the stop supersedes it). None while it can still be sent."""
    if order.fulfillment.update is None or (order.status in STOPPABLE and order.fulfillment.stop is None):
        return None
    dropped = order.model_copy(update={"fulfillment": order.fulfillment.model_copy(update={"update": None})})
    if order.status in PAST_PICK:
        return flagged(dropped, IssueKind.address_change_after_pick,
                       f"{ADDRESS_CHANGED}; the warehouse picked the order before the new instruction was sent: "
                       f"{RELABEL}", now)
    return dropped
