"""The write-back of shipments to the channel: pure. Apart from the callbacks' state machine
(`ocp.domain.fulfillment.callbacks`), so `channel_writeback` loads neither the callback events nor the parcels."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from ocp.domain.errors import DomainError
from ocp.domain.fulfillment.state import FulfillmentIssue, IssueKind, WritebackState
from ocp.domain.order.model import TimelineEntry

if TYPE_CHECKING:
    from ocp.domain.fulfillment.state import Shipment, Writeback
    from ocp.domain.order.model import Order

WRITEBACK_HOP = "channel_writeback"


def with_fulfillment(order: Order, fulfillment: Mapping[str, Any], update: Mapping[str, Any] | None = None) -> Order:
    """The next revision of `order` with fulfilment fields replaced; keeps `writeback_pending_since` derived."""
    state = order.fulfillment.model_copy(update=dict(fulfillment))
    return order.model_copy(update={
        **(update or {}),
        "fulfillment": state,
        # An exchange's or reship's parcel is the after-sale's business, not an order shipment of the channel's.
        "writeback_pending_since": None if order.aftersale_of else state.writeback_pending_since(),
    })


class WritebackUnavailable(DomainError):
    """The channel did not acknowledge the shipment this time (network, 5xx, throttled): retry later."""

    code = "writeback_unavailable"


class WritebackRejected(DomainError):
    """The channel refused the shipment confirmation for good (order closed, invalid carrier): an operator acts."""

    code = "writeback_rejected"


WRITEBACK_BACKOFF_CAP = timedelta(minutes=60)


def writeback_backoff(attempts: int) -> timedelta:
    """1, 2, 4, … minutes after the n-th failed attempt, capped at an hour: retried until acknowledged."""
    return min(timedelta(minutes=2 ** max(attempts - 1, 0)), WRITEBACK_BACKOFF_CAP)


def due_writebacks(order: Order, now: datetime) -> tuple[Shipment, ...]:
    """Shipments whose write-back is pending and whose next attempt is due."""
    return tuple(
        s for s in order.fulfillment.shipments
        if s.writeback.state == WritebackState.pending
        and (s.writeback.next_attempt_at is None or s.writeback.next_attempt_at <= now)
    )


def writeback_confirmed(order: Order, tracking_no: str, now: datetime) -> Order | None:
    """The channel acknowledged the parcel; None when that was recorded already."""
    shipment = _pending_shipment(order, tracking_no)
    if shipment is None:
        return None
    writeback = shipment.writeback.model_copy(update={
        "state": WritebackState.confirmed, "attempts": shipment.writeback.attempts + 1, "confirmed_at": now,
        "next_attempt_at": None, "last_error": None,
    })
    entry = TimelineEntry(at=now, hop=WRITEBACK_HOP, event="written_back", source=order.channel.value,
                          detail=f"{shipment.carrier} {tracking_no}")
    return with_fulfillment(order, {"shipments": _replace_writeback(order, tracking_no, writeback)},
                 {"timeline": (*order.timeline, entry)})


def writeback_failed(order: Order, tracking_no: str, error: str, *, retryable: bool, now: datetime) -> Order | None:
    """A failed attempt: retried after a backoff, or (refused for good) failed, with an issue for an operator.

    A retryable failure changes only the write-back's state (attempts, next attempt, last error): the timeline
    gets one entry when the write-back is finally confirmed or refused, not one per attempt.
    """
    shipment = _pending_shipment(order, tracking_no)
    if shipment is None:
        return None
    attempts = shipment.writeback.attempts + 1
    writeback = shipment.writeback.model_copy(update={
        "state": WritebackState.pending if retryable else WritebackState.failed,
        "attempts": attempts,
        "next_attempt_at": now + writeback_backoff(attempts) if retryable else None,
        "last_error": error[:500],
    })
    fulfillment: dict[str, Any] = {"shipments": _replace_writeback(order, tracking_no, writeback)}
    update: dict[str, Any] = {}
    if not retryable:
        issue = FulfillmentIssue(at=now, kind=IssueKind.writeback_rejected, reason=f"{tracking_no}: {error[:400]}")
        fulfillment["issues"] = (*order.fulfillment.issues, issue)
        entry = TimelineEntry(at=now, hop=WRITEBACK_HOP, event="writeback_rejected", source=order.channel.value,
                              detail=f"{shipment.carrier} {tracking_no}: {error[:200]}")
        update["timeline"] = (*order.timeline, entry)
    return with_fulfillment(order, fulfillment, update)


def _pending_shipment(order: Order, tracking_no: str) -> Shipment | None:
    return next((s for s in order.fulfillment.shipments
                 if s.tracking_no == tracking_no and s.writeback.state == WritebackState.pending), None)


def _replace_writeback(order: Order, tracking_no: str, writeback: Writeback) -> tuple[Shipment, ...]:
    return tuple(
        s.model_copy(update={"writeback": writeback})
        if s.tracking_no == tracking_no and s.writeback.state == WritebackState.pending else s
        for s in order.fulfillment.shipments
    )
