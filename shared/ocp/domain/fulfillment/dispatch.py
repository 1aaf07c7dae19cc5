"""Dispatch: a reserved order becomes a warehouse instruction, and the order records the hand-over.

Versions make every hand-over idempotent. `Order.fulfillment.instruction_version` is the version the warehouse
last received (0: none). A `DispatchRequest` says "the order should move past version `after_version`": it is
done already when the stored version is higher, and otherwise the instruction sent is `after_version + 1`, so a
redelivered request re-sends the same version under the same idempotency key (`<order_id>:<version>`) and the
WMS sees one instruction. A re-dispatch of a stuck order is a request after the current version. A request may
also ask for what the order owes a warehouse that has it: its recorded stop (`stops.py`) or an update (`changes.py`).
"""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import Field, SerializerFunctionWrapHandler, computed_field, model_serializer

from ocp.base_model import FrozenModel
from ocp.domain.clock import UtcTime
from ocp.domain.errors import DomainError
from ocp.domain.fulfillment.state import FulfillmentIssue, IssueKind
from ocp.domain.fulfillment.stops import stop_sent
from ocp.domain.order.model import Address, Hold, HoldReason, Order, OrderStatus, TimelineEntry

HOP = "fulfillment"
DISPATCHABLE = (OrderStatus.reserved, OrderStatus.dispatched)
"""Statuses an instruction may be (re)sent in; from `accepted` on the warehouse has it."""
CARRIER_TAG_PREFIX = "carrier:"
"""An order tag `carrier:<code>` (set by a channel mapping or a routing rule) is the carrier preference."""


class WmsUnavailable(DomainError):
    """The hand-over did not happen and a retry may succeed (queue or WMS unreachable, 5xx, throttled)."""

    code = "wms_unavailable"


class WmsRejected(DomainError):
    """The WMS refused the instruction for good, or no WMS is configured for the warehouse."""

    code = "wms_rejected"


class InstructionKind(StrEnum):
    fulfil = "fulfil"
    """Pick, pack and ship the order."""
    cancel = "cancel"
    """Stop: do not ship the order (cancelled by an operator or on its channel, or cancelled while being handed
    over). A higher version than every instruction before it, so it supersedes them."""


class InstructionLine(FrozenModel):
    line_id: str
    sku: str = Field(description="Merchant SKU: what the warehouse picks")
    quantity: int
    title: str | None = None
    gift: bool = False


class WarehouseInstruction(FrozenModel):
    """What a WMS needs to pick, pack and ship one order (the message body on its queue, or the HTTP body)."""

    order_id: str
    version: int = Field(gt=0)
    kind: InstructionKind = InstructionKind.fulfil
    warehouse: str
    channel: str
    channel_order_id: str
    channel_order_name: str | None = None
    issued_at: UtcTime
    lines: tuple[InstructionLine, ...]
    address: Address
    carrier_preference: str | None = None
    buyer_note: str | None = None
    seller_note: str | None = None
    split: bool = Field(default=False, description="One warehouse's part of an order split across warehouses: its "
                                                   "lines only, versioned per warehouse (omitted when false)")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def idempotency_key(self) -> str:
        # A split order's warehouses count their versions apart, so the key names the warehouse; a whole order's
        # key stays `<order_id>:<version>`, which WMS integrations dedupe on.
        if self.split:
            return f"{self.order_id}@{self.warehouse}:{self.version}"
        return f"{self.order_id}:{self.version}"

    @model_serializer(mode="wrap")
    def _whole_orders_unchanged(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """A whole order's instruction serialises exactly as before parcels existed (no `split` field)."""
        data: dict[str, Any] = handler(self)
        if not self.split:
            data.pop("split", None)
        return data


class DispatchPurpose(StrEnum):
    fulfil = "fulfil"
    """Hand the order over (first dispatch, or a re-dispatch of a stuck order)."""
    stop = "stop"
    """Send the order's requested stop (`fulfillment.stop`: its version was fixed when requested)."""
    update = "update"
    """Send the update the order owes its warehouse (`fulfillment.update`: the next version, kind fulfil)."""


class DispatchRequest(FrozenModel):
    """Hand the order to its warehouse unless a version after `after_version` was handed over already; a stop or
    an update is sent while the order still owes it (its own record makes it idempotent)."""

    order_id: str = Field(min_length=1, max_length=128)
    after_version: int = Field(default=0, ge=0)
    actor: str | None = Field(default=None, max_length=128, description="Who asked (operator re-dispatch)")
    purpose: DispatchPurpose = DispatchPurpose.fulfil
    warehouse: str | None = Field(
        default=None, max_length=64,
        description="A split order: only this warehouse's parcel, `after_version` being its version (None: every "
                    "parcel, or a whole order)")


class DispatchOutcome(StrEnum):
    dispatched = "dispatched"
    redispatched = "redispatched"
    already_dispatched = "already_dispatched"
    not_dispatchable = "not_dispatchable"
    rejected = "rejected"
    not_found = "not_found"
    stop_sent = "stop_sent"
    updated = "updated"


@dataclass(frozen=True)
class Skip:
    outcome: DispatchOutcome
    reason: str


def plan_dispatch(order: Order, request: DispatchRequest, now: datetime) -> WarehouseInstruction | Skip:
    """The instruction to send for `request`, or why nothing is to be sent."""
    current = order.fulfillment.instruction_version
    if current > request.after_version:
        return Skip(DispatchOutcome.already_dispatched, f"instruction v{current} was handed over already")
    if current < request.after_version:
        return Skip(DispatchOutcome.not_dispatchable, f"asked after v{request.after_version}, order is at v{current}")
    if order.status not in DISPATCHABLE:
        return Skip(DispatchOutcome.not_dispatchable, f"order is {order.status.value}")
    if order.fulfillment.channel_cancel is not None:
        return Skip(DispatchOutcome.not_dispatchable, "order was cancelled on its channel")
    if order.fulfillment.stop is not None:
        return Skip(DispatchOutcome.not_dispatchable, "its warehouse was asked to stop")
    if not order.warehouse:
        return Skip(DispatchOutcome.not_dispatchable, "order has no warehouse")
    unnamed = [line.line_id for line in order.lines if not line.sku]
    if unnamed:
        return Skip(DispatchOutcome.not_dispatchable, f"lines without a merchant SKU: {', '.join(unnamed)}")
    return instruction_for(order, version=current + 1, now=now)


def instruction_for(
    order: Order, version: int, now: datetime, kind: InstructionKind = InstructionKind.fulfil
) -> WarehouseInstruction:
    carrier = next((t.removeprefix(CARRIER_TAG_PREFIX) for t in order.tags if t.startswith(CARRIER_TAG_PREFIX)), None)
    return WarehouseInstruction(
        order_id=order.order_id,
        version=version,
        kind=kind,
        warehouse=order.warehouse or "",
        channel=order.channel.value,
        channel_order_id=order.channel_order_id,
        channel_order_name=order.channel_order_name,
        issued_at=now,
        lines=tuple(
            InstructionLine(line_id=line.line_id, sku=line.sku, quantity=line.quantity, title=line.title,
                            gift=line.gift)
            for line in order.lines
        ),
        address=order.address,
        carrier_preference=carrier or None,
        buyer_note=order.buyer_note,
        seller_note=order.seller_note,
    )


def mark_dispatched(
    order: Order, instruction: WarehouseInstruction, receipt: str, now: datetime, actor: str | None = None
) -> Order | None:
    """The order once the instruction is handed over; None when this version was recorded already.

    A re-dispatch restarts the acceptance clock (`status_since`). A callback that got in first (the WMS answered
    before this write) keeps its later status; an order cancelled meanwhile stays cancelled and gets an issue.
    """
    if order.fulfillment.instruction_version >= instruction.version:
        return None
    redispatch = instruction.version > 1
    event = "redispatched" if redispatch else "dispatched"
    entry = TimelineEntry(at=now, hop=HOP, event=event, source="ocp", actor=actor,
                          detail=f"instruction v{instruction.version} to {instruction.warehouse} ({receipt})")
    fulfillment = order.fulfillment.model_copy(update={"instruction_version": instruction.version})
    update: dict[str, object] = {}
    if order.status in DISPATCHABLE:
        update = {"status": OrderStatus.dispatched, "status_since": now}
    elif order.status == OrderStatus.cancelled:
        issue = FulfillmentIssue(at=now, kind=IssueKind.dispatched_after_cancel,
                                 reason=f"instruction v{instruction.version} reached {instruction.warehouse}")
        fulfillment = fulfillment.model_copy(update={"issues": (*fulfillment.issues, issue)})
    return order.model_copy(update={
        **update, "fulfillment": fulfillment, "timeline": (*order.timeline, entry),
    })


def stop_instruction(order: Order, version: int, now: datetime) -> WarehouseInstruction:
    """A cancel instruction: the warehouse must not ship the order (it names the lines it must not ship)."""
    return instruction_for(order, version=version, now=now, kind=InstructionKind.cancel)


def mark_stop_sent(order: Order, instruction: WarehouseInstruction, receipt: str, now: datetime) -> Order | None:
    """The cancel instruction is handed over; None when this version was recorded already. The status stays:
    the warehouse confirms the stop with a `cancelled` callback (or reports what it shipped meanwhile)."""
    if order.fulfillment.instruction_version >= instruction.version:
        return None
    entry = TimelineEntry(at=now, hop=HOP, event="stop_sent", source="ocp",
                          detail=f"cancel instruction v{instruction.version} to {instruction.warehouse} ({receipt})")
    fulfillment = stop_sent(order.fulfillment.model_copy(update={"instruction_version": instruction.version}),
                            instruction.version, now)
    return order.model_copy(update={
        "fulfillment": fulfillment, "timeline": (*order.timeline, entry),
    })


def mark_rejected(order: Order, warehouse: str, reason: str, now: datetime, actor: str | None = None) -> Order:
    """The WMS refused the instruction: the order stays where it is, with the reason for an operator."""
    entry = TimelineEntry(at=now, hop=HOP, event="dispatch_rejected", source="ocp", actor=actor,
                          detail=f"{warehouse}: {reason[:300]}")
    issue = FulfillmentIssue(at=now, kind=IssueKind.dispatch_rejected, reason=f"{warehouse}: {reason[:400]}")
    fulfillment = order.fulfillment.model_copy(update={"issues": (*order.fulfillment.issues, issue)})
    return order.model_copy(update={
        "fulfillment": fulfillment, "timeline": (*order.timeline, entry),
    })


EDITABLE_BEFORE_WAREHOUSE = frozenset({OrderStatus.pending_payment, OrderStatus.received, OrderStatus.held,
                                       OrderStatus.reserved})
"""Statuses in which a channel's edit of the lines is OCP's to apply (the warehouse has no instruction yet)."""


def flag_edit_after_dispatch(order: Order, now: datetime) -> Order:
    """The channel changed the lines of an order the warehouse already has: the stock stays as reserved (it is what
    the instruction says), the order carries a `channel_edit_after_accept` hold and issue for a person to act on."""
    detail = f"the channel changed the lines while the order is {order.status.value}: re-pick or intercept"
    hold = Hold(reason=HoldReason.channel_edit_after_accept, detail=detail)
    issue = FulfillmentIssue(at=now, kind=IssueKind.channel_edit_after_accept, reason=detail)
    entry = TimelineEntry(at=now, hop=HOP, event=IssueKind.channel_edit_after_accept.value, source="ocp", detail=detail)
    return order.model_copy(update={
        "holds": (*(h for h in order.holds if h.reason != hold.reason), hold),
        "fulfillment": order.fulfillment.model_copy(update={"issues": (*order.fulfillment.issues, issue)}),
        "timeline": (*order.timeline, entry),
    })
