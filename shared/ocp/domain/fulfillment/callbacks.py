"""The order state machine for warehouse and carrier callbacks (the write-back of shipments to the channel is
`ocp.domain.fulfillment.writeback`).

Rules (API.md, `POST /fulfillment/events`):
- A callback's `event_id` is recorded once: the same id again is a **duplicate** and changes nothing.
- Statuses only move forward along reserved → dispatched → accepted → picked → packed → shipped → delivered;
  steps may be skipped (not every WMS reports every step). An event whose status the order already passed is
  **late**: recorded on the timeline, status untouched.
- A callback for an order that is not with a warehouse (pending payment, received, held, cancelled) is
  **impossible**: recorded, and raised as an issue on the order. `reserved` counts as with the warehouse: the
  WMS may answer before the dispatcher has recorded the hand-over.
- `shipped` may name lines and quantities (by `line_id` or merchant `sku`); without lines it ships whatever is
  left. The order is `shipped` once every line is; before that it is at least `packed` and the shipments say
  what left. Over-shipping a line is impossible. Each shipment owes the channel a write-back.
- `delivered` with a tracking number delivers that parcel; the order is `delivered` once every line shipped and
  every parcel arrived (or when the carrier reports delivery before any shipment was reported).
- `exception` never moves the status and puts no hold: the order stays with the warehouse, the reason is
  recorded as an issue, and if the warehouse does not move on the order turns up in the stuck report.
- `cancelled` is the warehouse confirming it stopped the order (the answer to a cancel instruction, e.g. after the
  channel cancelled it): the order is `cancelled` and its stock goes back on sale in the same write. Once a parcel
  left it is impossible (the warehouse reports what it shipped instead); for a cancelled order it is late.
- An order split across warehouses (`ocp.domain.fulfillment.parcels`): a callback names its parcel's `warehouse`
  (`ParcelNotNamed`, a 400, when it does not) and these rules apply to that parcel as if it were the order; the
  order's status follows its parcels.
Every recorded event (all but duplicates) adds exactly one timeline entry.
"""

from collections.abc import Mapping
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, NamedTuple

from pydantic import AwareDatetime, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from ocp.base_model import OcpModel
from ocp.domain.fulfillment.outcome import Outcome
from ocp.domain.fulfillment.parcels import from_view, parcel_named, parcel_view
from ocp.domain.fulfillment.state import (
    FulfillmentIssue,
    IssueKind,
    Parcel,
    Shipment,
    ShippedLine,
    Writeback,
)
from ocp.domain.fulfillment.writeback import with_fulfillment
from ocp.domain.order.model import Order, OrderStatus, TimelineEntry

HOP = "fulfillment"

FULFILMENT_ORDER: tuple[OrderStatus, ...] = (
    OrderStatus.reserved,
    OrderStatus.dispatched,
    OrderStatus.accepted,
    OrderStatus.picked,
    OrderStatus.packed,
    OrderStatus.shipped,
    OrderStatus.delivered,
)
_RANK = {status: rank for rank, status in enumerate(FULFILMENT_ORDER)}


def rank(status: OrderStatus) -> int:
    """Position along the fulfilment path; -1 for statuses off it (not yet with a warehouse, or cancelled)."""
    return _RANK.get(status, -1)


class FulfillmentEventName(StrEnum):
    accepted = "accepted"
    picked = "picked"
    packed = "packed"
    shipped = "shipped"
    delivered = "delivered"
    exception = "exception"
    cancelled = "cancelled"
    """The warehouse stopped the order and will not ship it (normally at OCP's cancel instruction)."""


_STEP_STATUS = {
    FulfillmentEventName.accepted: OrderStatus.accepted,
    FulfillmentEventName.picked: OrderStatus.picked,
    FulfillmentEventName.packed: OrderStatus.packed,
}


class EventLine(OcpModel):
    """A line of a `shipped` callback: by OCP's `line_id` (echoed from the instruction) or by merchant `sku`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    line_id: str | None = Field(default=None, min_length=1, max_length=128)
    sku: str | None = Field(default=None, min_length=1, max_length=128)
    quantity: int = Field(gt=0, le=100_000)

    @model_validator(mode="after")
    def _one_reference(self) -> "EventLine":
        if (self.line_id is None) == (self.sku is None):
            raise ValueError("give exactly one of line_id or sku")
        return self


class FulfillmentEvent(OcpModel):
    """A WMS/TMS callback: the body of `POST /fulfillment/events`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    order_id: str = Field(min_length=1, max_length=128)
    event: FulfillmentEventName
    at: AwareDatetime = Field(description="When it happened in the reporting system: ISO-8601 with an offset")
    event_id: str = Field(min_length=1, max_length=128, description="The reporter's id: a resend is a no-op")
    tracking_no: str | None = Field(default=None, min_length=1, max_length=64, validate_default=True)
    carrier: str | None = Field(default=None, min_length=1, max_length=64, validate_default=True)
    reason: str | None = Field(default=None, min_length=1, max_length=500, validate_default=True)
    lines: tuple[EventLine, ...] | None = Field(default=None, min_length=1, max_length=500)
    source: str | None = Field(
        default=None, min_length=1, max_length=64,
        description="Reporting system, e.g. `wms:WH-GZ` or `tms:SF`; default `wms:<warehouse>` or `tms:<carrier>`",
    )
    warehouse: str | None = Field(
        default=None, min_length=1, max_length=64,
        description="The parcel's warehouse: required when the order ships as one parcel per warehouse (split), "
                    "except for a `delivered` whose tracking_no names a shipment",
    )

    @field_validator("at")
    @classmethod
    def _in_utc(cls, value: datetime) -> datetime:
        return value.astimezone(UTC)

    @field_validator("tracking_no", "carrier")
    @classmethod
    def _shipped_needs_parcel(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None and info.data.get("event") == FulfillmentEventName.shipped:
            raise ValueError(f"`shipped` needs {info.field_name}")
        return value

    @field_validator("reason")
    @classmethod
    def _exception_needs_reason(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None and info.data.get("event") == FulfillmentEventName.exception:
            raise ValueError("`exception` needs a reason")
        return value

    @model_validator(mode="after")
    def _lines_only_when_shipped(self) -> "FulfillmentEvent":
        if self.lines is not None and self.event != FulfillmentEventName.shipped:
            raise ValueError("only `shipped` takes lines")
        return self


class Applied(NamedTuple):
    outcome: Outcome
    order: Order
    """The order after the event: the input itself for a duplicate, else the next revision to store."""

    @property
    def changed(self) -> bool:
        return self.outcome != Outcome.duplicate


def apply_event(order: Order, event: FulfillmentEvent, now: datetime) -> Applied:
    """The order after `event`; `now` is when OCP received it (a reporter's clock never sets a time ahead)."""
    if event.event_id in order.fulfillment.event_ids:
        return Applied(Outcome.duplicate, order)
    tracking = event.tracking_no if event.event == FulfillmentEventName.delivered else None
    parcel = parcel_named(order, event.warehouse, tracking, now)
    if parcel is not None and rank(order.status) >= 0:
        return _on_parcel(order, parcel, event, now)
    if event.event == FulfillmentEventName.cancelled:
        return _cancel(order, event, now)
    if rank(order.status) < 0:
        return _impossible(order, event, now, f"order is {order.status.value}, not with a warehouse")
    if event.event == FulfillmentEventName.shipped:
        return _ship(order, event, now)
    if event.event == FulfillmentEventName.delivered:
        return _deliver(order, event, now)
    if event.event == FulfillmentEventName.exception:
        issue = FulfillmentIssue(at=event.at, kind=IssueKind.wms_exception, reason=event.reason or "",
                                 event_id=event.event_id)
        return _record(order, event, now, Outcome.applied, order.status, detail=event.reason,
                       issues=(*order.fulfillment.issues, issue))
    target = _STEP_STATUS[event.event]
    if rank(target) <= rank(order.status):
        return _record(order, event, now, Outcome.late, order.status, detail=f"late: order already {order.status}")
    return _record(order, event, now, Outcome.applied, target)


def _on_parcel(order: Order, parcel: Parcel, event: FulfillmentEvent, now: datetime) -> Applied:
    """A split order's callback, applied to its warehouse's parcel as if the parcel were the order (statuses forward
    only, shipments of its lines alone); the order then moves as its parcels say."""
    view = parcel_view(order, parcel)
    applied = apply_event(view, event.model_copy(update={"warehouse": None}), now)
    after = from_view(order, parcel, view, applied.order, min(event.at, now))
    return Applied(applied.outcome, with_fulfillment(after, {}))


def _ship(order: Order, event: FulfillmentEvent, now: datetime) -> Applied:
    fulfillment = order.fulfillment
    wanted = _shipped_lines(order, event)
    if isinstance(wanted, str):
        return _impossible(order, event, now, wanted)
    if not wanted:
        return _record(order, event, now, Outcome.late, order.status, detail="late: every line already shipped")
    shipment = Shipment(
        event_id=event.event_id, at=event.at, carrier=event.carrier or "", tracking_no=event.tracking_no or "",
        lines=wanted, writeback=Writeback(requested_at=now, next_attempt_at=now),
    )
    shipments = (*fulfillment.shipments, shipment)
    complete = _all_shipped(order, shipments)
    target = OrderStatus.shipped if complete else OrderStatus.packed
    parcel = f"{event.carrier} {event.tracking_no}: " + ", ".join(f"{ln.line_id}×{ln.quantity}" for ln in wanted)
    if rank(target) < rank(order.status):
        return _record(order, event, now, Outcome.late, order.status, shipments=shipments,
                       detail=f"late: order already {order.status}; {parcel}")
    return _record(order, event, now, Outcome.applied, max(target, order.status, key=rank), shipments=shipments,
                   detail=parcel if complete else f"partial: {parcel}")


def _shipped_lines(order: Order, event: FulfillmentEvent) -> tuple[ShippedLine, ...] | str:
    """The lines this shipment holds, or why it cannot be (unknown line, more than is left to ship)."""
    left = {line.line_id: line.quantity - order.fulfillment.shipped_quantity(line.line_id) for line in order.lines}
    if event.lines is None:
        return tuple(ShippedLine(line_id=line_id, quantity=q) for line_id, q in left.items() if q > 0)
    taken: dict[str, int] = {}
    for wanted in event.lines:
        candidates = [ln.line_id for ln in order.lines
                      if (ln.line_id == wanted.line_id if wanted.line_id else ln.sku == wanted.sku)]
        if not candidates:
            return f"no line {wanted.line_id or wanted.sku!r} on the order"
        quantity = wanted.quantity
        for line_id in candidates:  # a SKU on several lines fills them in order
            share = min(quantity, left[line_id] - taken.get(line_id, 0))
            if share > 0:
                taken[line_id] = taken.get(line_id, 0) + share
                quantity -= share
        if quantity:
            name, left_over = wanted.line_id or wanted.sku, wanted.quantity - quantity
            return f"{name}: {wanted.quantity} shipped but only {left_over} left to ship"
    return tuple(ShippedLine(line_id=line_id, quantity=q) for line_id, q in taken.items())


def _all_shipped(order: Order, shipments: tuple[Shipment, ...]) -> bool:
    after = order.fulfillment.model_copy(update={"shipments": shipments})
    return all(after.shipped_quantity(line.line_id) >= line.quantity for line in order.lines)


def _deliver(order: Order, event: FulfillmentEvent, now: datetime) -> Applied:
    if order.status == OrderStatus.delivered:
        return _record(order, event, now, Outcome.late, order.status, detail="late: order already delivered")
    # With a tracking number only that parcel arrived (one not reported shipped yet marks nothing); without one,
    # every parcel on its way did.
    shipments = tuple(
        s.model_copy(update={"delivered_at": event.at})
        if s.delivered_at is None and event.tracking_no in (None, s.tracking_no) else s
        for s in order.fulfillment.shipments
    )
    complete = not shipments or (_all_shipped(order, shipments) and all(s.delivered_at for s in shipments))
    if complete:
        return _record(order, event, now, Outcome.applied, OrderStatus.delivered, shipments=shipments)
    return _record(order, event, now, Outcome.applied, order.status, shipments=shipments,
                   detail="parcel delivered; the order has more to ship or deliver")


def _cancel(order: Order, event: FulfillmentEvent, now: datetime) -> Applied:
    if order.status == OrderStatus.cancelled:
        return _record(order, event, now, Outcome.late, order.status, detail="late: order already cancelled")
    if rank(order.status) < 0:
        return _impossible(order, event, now, f"order is {order.status.value}, not with a warehouse")
    if order.fulfillment.shipments:
        return _impossible(order, event, now, "a parcel already left; report what was shipped")
    requested = order.fulfillment.stop is not None or order.fulfillment.channel_cancel is not None
    detail = "stopped as OCP asked" if requested else (event.reason or "stopped by the warehouse")
    return _record(order, event, now, Outcome.applied, OrderStatus.cancelled, detail=detail,
                   update={"cancelled_at": order.cancelled_at or min(event.at, now)})


def _impossible(order: Order, event: FulfillmentEvent, now: datetime, reason: str) -> Applied:
    issue = FulfillmentIssue(at=now, kind=IssueKind.impossible_event, reason=f"{event.event}: {reason}",
                             event_id=event.event_id)
    return _record(order, event, now, Outcome.impossible, order.status, detail=f"impossible: {reason}",
                   issues=(*order.fulfillment.issues, issue))


def _record(
    order: Order,
    event: FulfillmentEvent,
    now: datetime,
    outcome: Outcome,
    status: OrderStatus,
    *,
    detail: str | None = None,
    shipments: tuple[Shipment, ...] | None = None,
    issues: tuple[FulfillmentIssue, ...] | None = None,
    update: Mapping[str, Any] | None = None,
) -> Applied:
    """One timeline entry and the event id recorded; the status moves only forward, at the reported time."""
    entry = TimelineEntry(at=event.at, hop=HOP, event=event.event.value, source=_source(order, event),
                          detail=detail)
    fulfillment: dict[str, Any] = {"event_ids": (*order.fulfillment.event_ids, event.event_id)}
    if shipments is not None:
        fulfillment["shipments"] = shipments
    if issues is not None:
        fulfillment["issues"] = issues
    changes: dict[str, Any] = {**(update or {}), "timeline": (*order.timeline, entry)}
    if status != order.status:
        # The reporter's time says when the order really got there; never ahead of now, never before the last move.
        changes |= {"status": status, "status_since": max(order.status_since, min(event.at, now))}
    return Applied(outcome, with_fulfillment(order, fulfillment, changes))


def _source(order: Order, event: FulfillmentEvent) -> str:
    if event.source:
        return event.source
    if event.event == FulfillmentEventName.delivered:
        carriers = {s.carrier for s in order.fulfillment.shipments if event.tracking_no in (None, s.tracking_no)}
        carrier = event.carrier or (carriers.pop() if len(carriers) == 1 else None)
        return f"tms:{carrier}" if carrier else "tms"
    return f"wms:{order.warehouse}" if order.warehouse else "wms"
