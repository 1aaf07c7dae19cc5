"""What OCP knows about an order once it is with a warehouse (`Order.fulfillment`): which instruction version
the warehouse holds, which callbacks were seen, the shipments with their write-back to the channel, the issues
raised on the way, and a split order's parcels (one per warehouse). Pure data; the rules that change it are
in `ocp.domain.fulfillment.callbacks` and `ocp.domain.fulfillment.parcels`.
"""

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import Field, model_validator

from ocp.base_model import FrozenModel
from ocp.domain.clock import UtcTime
from ocp.domain.fulfillment.merge_record import MergeRecord


class WritebackState(StrEnum):
    pending = "pending"
    """Not yet acknowledged by the channel: retried with backoff until it is."""
    confirmed = "confirmed"
    failed = "failed"
    """The channel refused it for good (e.g. the order is closed there): an operator must act."""


class Writeback(FrozenModel):
    """Telling the channel that a shipment left, with its carrier and tracking number."""

    state: WritebackState = WritebackState.pending
    requested_at: UtcTime = Field(description="When OCP learned of the shipment: the write-back SLA counts from here")
    attempts: int = 0
    next_attempt_at: UtcTime | None = Field(default=None, description="Earliest retry while pending")
    last_error: str | None = None
    confirmed_at: UtcTime | None = None


class ShippedLine(FrozenModel):
    line_id: str
    quantity: int = Field(gt=0)


class Shipment(FrozenModel):
    """One parcel: what it holds, how it travels, whether it arrived, whether the channel knows."""

    event_id: str = Field(description="The `shipped` callback that reported it")
    at: UtcTime
    carrier: str
    tracking_no: str
    lines: tuple[ShippedLine, ...]
    delivered_at: UtcTime | None = None
    writeback: Writeback
    warehouse: str | None = Field(
        default=None, description="The parcel's warehouse, for an order split across warehouses (else None)")


class IssueKind(StrEnum):
    wms_exception = "wms_exception"
    """The warehouse or carrier reported an `exception` callback."""
    impossible_event = "impossible_event"
    """A callback that cannot apply to the order as it stands (e.g. `delivered` for a cancelled order)."""
    dispatch_rejected = "dispatch_rejected"
    """The WMS refused the instruction for good, or no WMS is configured for the warehouse."""
    dispatched_after_cancel = "dispatched_after_cancel"
    """The instruction reached the warehouse while the order was being cancelled: stop it there."""
    writeback_rejected = "writeback_rejected"
    cancelled_on_channel = "cancelled_on_channel"
    """Reconciliation found the order cancelled on its channel while OCP had it with the warehouse."""
    channel_edit_after_accept = "channel_edit_after_accept"
    """The channel changed the order's lines after the warehouse got its instruction (the order says which)."""
    cancel_after_pick = "cancel_after_pick"
    """The channel cancelled the order once the warehouse had picked it: intercept the parcel or take a return."""
    address_change_after_pick = "address_change_after_pick"
    """The buyer's address changed once the warehouse had picked the order: re-label or intercept the parcel."""


class FulfillmentIssue(FrozenModel):
    at: UtcTime
    kind: IssueKind
    reason: str
    event_id: str | None = None


class ChannelCancel(FrozenModel):
    """The channel cancelled the order after it reached the warehouse (found by reconciliation), and how OCP
    answered: a cancel instruction to the warehouse ("stop the warehouse") unless a parcel already left, and one
    alert. Each step is recorded once it is done, so a run that dies half-way is completed by the next one."""

    detected_at: UtcTime
    channel_status: str | None = Field(default=None, description="The channel's own status, as read")
    stop_version: int | None = Field(
        default=None, description="The cancel instruction's version (None: not sent, see `note`)")
    stop_sent_at: UtcTime | None = None
    alerted_at: UtcTime | None = None
    note: str | None = Field(default=None, description="Why the warehouse was not (or could not be) stopped")

    @property
    def stop_pending(self) -> bool:
        return self.stop_version is not None and self.stop_sent_at is None


class StopRequester(StrEnum):
    operator = "operator"
    channel = "channel"
    """The channel's own push or poll said cancelled (ingest)."""
    reconciliation = "reconciliation"
    """Reconciliation found the order cancelled on its channel."""


class StopRequest(FrozenModel):
    """Someone asked OCP to stop the warehouse: the order is not cancelled until the warehouse confirms with a
    `cancelled` callback. The cancel instruction's version is fixed when the request is recorded, so every resend
    (dispatch queue redelivery, reconciliation) is the same instruction under the same idempotency key."""

    requested_by: StopRequester
    requested_at: UtcTime
    actor: str | None = Field(default=None, description="The operator, for an operator's request")
    reason: str | None = None
    version: int | None = Field(default=None, description="The cancel instruction's version (None: not sent, see note)")
    sent_at: UtcTime | None = None
    note: str | None = Field(default=None, description="Why the warehouse was not (or could not be) stopped")

    @property
    def pending(self) -> bool:
        return self.version is not None and self.sent_at is None


class InstructionUpdate(FrozenModel):
    """The order changed after the warehouse got its instruction (the buyer's address): the next version is owed."""

    requested_at: UtcTime
    reason: str


class ParcelStatus(StrEnum):
    """A parcel's way through its warehouse: the order statuses from `reserved` on, in this order, and `cancelled`
    (declared here, not taken from `OrderStatus`: the order model imports this module)."""

    reserved = "reserved"
    dispatched = "dispatched"
    accepted = "accepted"
    picked = "picked"
    packed = "packed"
    shipped = "shipped"
    delivered = "delivered"
    cancelled = "cancelled"


class ParcelLine(FrozenModel):
    line_id: str
    sku: str
    quantity: int = Field(gt=0, description="This warehouse's part of the line")


class Parcel(FrozenModel):
    """One warehouse's part of an order split across warehouses (its reservation's allocations there): its own
    instruction versions, status and tracking. The order's status follows its parcels."""

    warehouse: str
    lines: tuple[ParcelLine, ...]
    instruction_version: int = Field(default=0, description="The instruction version this warehouse last received")
    status: ParcelStatus = ParcelStatus.reserved
    status_since: UtcTime
    tracking_no: str | None = Field(default=None, description="The last shipment's, once one left")
    carrier: str | None = None
    stop_sent_at: UtcTime | None = Field(default=None, description="When this warehouse was sent a cancel instruction")


class Fulfillment(FrozenModel):
    instruction_version: int = Field(
        default=0, description="The warehouse instruction version last handed over (0: never dispatched); "
                               "a split order's highest over its parcels"
    )
    event_ids: tuple[str, ...] = Field(default=(), description="Every callback `event_id` recorded, once each")
    shipments: tuple[Shipment, ...] = ()
    issues: tuple[FulfillmentIssue, ...] = ()
    channel_cancel: ChannelCancel | None = Field(
        default=None, description="Set when the channel cancelled the order after it reached the warehouse")
    stop: StopRequest | None = Field(
        default=None, description="Set when the warehouse was asked to stop the order (operator, channel or "
                                  "reconciliation); one per order")
    update: InstructionUpdate | None = Field(
        default=None, description="Set while a changed order's next instruction version is owed to the warehouse")
    merge: MergeRecord | None = Field(
        default=None, description="Merged parcels: waiting for, or leaving with, other orders of the same buyer and "
                                  "address (`ocp.domain.fulfillment.merge`)")
    parcels: tuple[Parcel, ...] = Field(
        default=(), description="An order split across warehouses: one parcel per warehouse (empty otherwise)")

    @model_validator(mode="before")
    @classmethod
    def _stop_of_a_channel_cancel(cls, data: Any) -> Any:
        """Orders stored before stop requests had their own record: reconciliation's stop is the order's stop."""
        if not isinstance(data, dict) or data.get("stop") is not None or data.get("channel_cancel") is None:
            return data
        cancel = data["channel_cancel"]
        fields = cancel.model_dump() if isinstance(cancel, ChannelCancel) else dict(cancel)
        stop = {"requested_by": StopRequester.reconciliation, "requested_at": fields["detected_at"],
                "version": fields.get("stop_version"), "sent_at": fields.get("stop_sent_at"),
                "note": fields.get("note")}
        return {**data, "stop": stop}

    def parcel(self, warehouse: str) -> Parcel | None:
        return next((p for p in self.parcels if p.warehouse == warehouse), None)

    def shipped_quantity(self, line_id: str) -> int:
        return sum(line.quantity for s in self.shipments for line in s.lines if line.line_id == line_id)

    def writeback_pending_since(self) -> datetime | None:
        """The oldest shipment the channel has not acknowledged (pending or failed), else None."""
        open_since = [s.writeback.requested_at for s in self.shipments if s.writeback.state != WritebackState.confirmed]
        return min(open_since) if open_since else None
