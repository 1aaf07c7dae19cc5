"""Stopping the warehouse: a cancel of an order the warehouse already has (pure).

Whoever asks (an operator, the channel's push, reconciliation), the order gets one `StopRequest` with the version of
its cancel instruction, fixed when recorded: the dispatcher sends it at once, reconciliation resends it if it is
still pending, and both send the same instruction under the same idempotency key. A second request finds the first
and adds nothing. The order's status stays until the warehouse confirms with a `cancelled` callback, which cancels
it and releases its stock in the same write (`ocp.domain.fulfillment.callbacks`).

Once the warehouse picked the order a cancel instruction no longer stops the parcel: a person intercepts it or
takes it back as a return (an issue, or a refusal for an operator).
"""

from __future__ import annotations

from datetime import datetime

from ocp.domain.fulfillment.state import (
    Fulfillment,
    FulfillmentIssue,
    IssueKind,
    StopRequest,
    StopRequester,
)
from ocp.domain.order.model import Order, OrderStatus, TimelineEntry

HOP = "fulfillment"
STOPPABLE = frozenset({OrderStatus.dispatched, OrderStatus.accepted})
"""With the warehouse and not picked yet: a cancel instruction still stops the parcel."""
PAST_PICK = frozenset({OrderStatus.picked, OrderStatus.packed, OrderStatus.shipped, OrderStatus.delivered})
"""Picked or later: the parcel must be intercepted or become a return."""
INTERCEPT_OR_RETURN = "the warehouse has picked it: intercept the parcel with the carrier, or take it back as a return"


def new_stop(order: Order, by: StopRequester, now: datetime, *, actor: str | None = None,
             reason: str | None = None) -> StopRequest:
    """A stop of the order's warehouse: the next instruction version, kind cancel."""
    return StopRequest(requested_by=by, requested_at=now, actor=actor, reason=reason,
                       version=order.fulfillment.instruction_version + 1)


def request_stop(order: Order, by: StopRequester, now: datetime, *, actor: str | None = None,
                 reason: str | None = None) -> Order | None:
    """The order with a stop requested; None when one was requested already or the order is not stoppable.
    Callers add their own timeline entry (each action is one entry naming who acted)."""
    if order.fulfillment.stop is not None or order.status not in STOPPABLE:
        return None
    stop = new_stop(order, by, now, actor=actor, reason=reason)
    return order.model_copy(update={"fulfillment": with_stop(order.fulfillment, stop)})


def stopped_at(order: Order) -> str:
    """Where a stop goes: the order's warehouse, or each of a split order's parcels' warehouses."""
    return ", ".join(p.warehouse for p in order.fulfillment.parcels) or str(order.warehouse)


def with_stop(fulfillment: Fulfillment, stop: StopRequest) -> Fulfillment:
    """`stop` recorded; a channel cancel shows the same stop in its own (documented) `stop_*` fields."""
    cancel = fulfillment.channel_cancel
    if cancel is not None:
        cancel = cancel.model_copy(update={
            "stop_version": stop.version, "stop_sent_at": stop.sent_at, "note": stop.note})
    return fulfillment.model_copy(update={"stop": stop, "channel_cancel": cancel})


def stop_sent(fulfillment: Fulfillment, version: int, now: datetime) -> Fulfillment:
    """The stop of `version` handed over (a cancel instruction of another version leaves the request as is)."""
    stop = fulfillment.stop
    if stop is None or stop.version != version or stop.sent_at is not None:
        return fulfillment
    return with_stop(fulfillment, stop.model_copy(update={"sent_at": now}))


def renumbered(order: Order) -> Order | None:
    """A pending stop whose version another instruction took meanwhile (an address update crossed it) moves to the
    next version, recorded before it is sent; None when its version is still free."""
    stop = order.fulfillment.stop
    current = order.fulfillment.instruction_version
    if stop is None or not stop.pending or (stop.version or 0) > current:
        return None
    return order.model_copy(update={"fulfillment": with_stop(order.fulfillment, stop.model_copy(update={
        "version": current + 1}))})


def stop_refused(order: Order, reason: str, now: datetime, hop: str = HOP) -> Order | None:
    """The warehouse refused the cancel instruction for good: not asked again, the note says why (a person acts)."""
    stop = order.fulfillment.stop
    if stop is None or not stop.pending:
        return None
    entry = TimelineEntry(at=now, hop=hop, event="stop_rejected", source="ocp", detail=reason[:300])
    refused = stop.model_copy(update={
        "version": None, "note": f"the warehouse refused the cancel instruction: {reason[:300]}"})
    return order.model_copy(update={
        "fulfillment": with_stop(order.fulfillment, refused), "timeline": (*order.timeline, entry),
    })


def flagged(order: Order, kind: IssueKind, detail: str, now: datetime, source: str = "ocp") -> Order:
    """The order with an issue for a person and the same on its timeline."""
    issue = FulfillmentIssue(at=now, kind=kind, reason=detail)
    entry = TimelineEntry(at=now, hop=HOP, event=kind.value, source=source, detail=detail)
    return order.model_copy(update={
        "fulfillment": order.fulfillment.model_copy(update={"issues": (*order.fulfillment.issues, issue)}),
        "timeline": (*order.timeline, entry),
    })


def channel_cancel_after_dispatch(after: Order, now: datetime) -> Order:
    """A channel's cancellation of an order the warehouse has (ingest kept its status): stop the warehouse now
    while it can, else flag the order for a person, once."""
    if after.cancelled_at is None or after.status == OrderStatus.cancelled or after.fulfillment.stop is not None:
        return after
    source = after.channel.value
    if after.status in STOPPABLE:
        stopping = request_stop(after, StopRequester.channel, now, reason=f"cancelled on {source}")
        assert stopping is not None and stopping.fulfillment.stop is not None
        detail = (f"cancelled on {source} while {after.status.value}: "
                  f"cancel instruction v{stopping.fulfillment.stop.version} to {stopped_at(after)}")
        entry = TimelineEntry(at=now, hop=HOP, event="stop_requested", source=source, detail=detail)
        return stopping.model_copy(update={"timeline": (*stopping.timeline, entry)})
    already = any(i.kind == IssueKind.cancel_after_pick for i in after.fulfillment.issues)
    if after.status in PAST_PICK and not already:
        return flagged(after, IssueKind.cancel_after_pick,
                       f"cancelled on {source} while {after.status.value}: {INTERCEPT_OR_RETURN}", now, source)
    return after
