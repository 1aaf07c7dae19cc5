"""The write-back of shipments to the channel, per order and as the scheduled sweep. Apart from the callbacks
(`ocp.services.fulfillment.callbacks`), so `channel_writeback` loads neither the callback events nor the parcels."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from itertools import islice
from typing import TYPE_CHECKING, NamedTuple

from ocp.domain.errors import ConcurrentModification
from ocp.domain.fulfillment.writeback import (
    WritebackRejected,
    WritebackUnavailable,
    due_writebacks,
    writeback_confirmed,
    writeback_failed,
)
from ocp.domain.order.model import GIFT_LINE_PREFIX, Order
from ocp.services.order.updates import update_order

if TYPE_CHECKING:
    from ocp.domain.fulfillment.state import Shipment
    from ocp.ports import ChannelWriteback, OrderQueries, TransactionalOrderStore

WRITEBACK_ACTOR = "channel_writeback"


class WritebackDeps(NamedTuple):
    orders: TransactionalOrderStore
    channel: ChannelWriteback
    now: Callable[[], datetime]


class WritebackAttempt(NamedTuple):
    tracking_no: str
    confirmed: bool
    error: str | None = None
    retryable: bool = False


def write_back(order_id: str, deps: WritebackDeps) -> list[WritebackAttempt]:
    """Confirm every due shipment of the order on its channel and record each answer on the order.

    Pending write-backs stay pending with a growing backoff until the channel acknowledges them; a refusal for
    good marks the write-back failed with an issue. Either way the order shows it, and until it is confirmed the
    order stays in the sparse `by_writeback_pending` index, which the stuck report reads (hop `channel_writeback`).
    Any other exception propagates: the caller's retry (queue redelivery, the next sweep) tries again.
    """
    order = deps.orders.get(order_id)
    if order is None or order.aftersale_of is not None:
        return []
    attempts: list[WritebackAttempt] = []
    for shipment in due_writebacks(order, deps.now()):
        attempt = (_attempt(deps.channel, order, shipment.tracking_no, shipment.carrier) if _channels_own(shipment)
                   else WritebackAttempt(shipment.tracking_no, confirmed=True))
        attempts.append(attempt)
        change: Callable[[Order], Order | None] = (
            partial(writeback_confirmed, tracking_no=attempt.tracking_no, now=deps.now()) if attempt.confirmed
            else partial(writeback_failed, tracking_no=attempt.tracking_no, error=attempt.error or "",
                         retryable=attempt.retryable, now=deps.now())
        )
        order, _ = update_order(deps.orders, order_id, change, actor=WRITEBACK_ACTOR, at=deps.now())
    return attempts


class WritebackSweepDeps(NamedTuple):
    writeback: WritebackDeps
    queries: OrderQueries


@dataclass
class WritebackSweep:
    scanned: int = 0
    """Orders read from the pending index (refused write-backs stay there, visible in the stuck report)."""
    confirmed: list[str] = field(default_factory=list)
    """`<order_id>:<tracking_no>` the channel acknowledged in this sweep."""
    retrying: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)


SWEEP_SCAN_LIMIT = 2_000
SWEEP_ATTEMPT_LIMIT = 200
CHANNEL_FAILURES_PER_SWEEP = 3
"""After this many retryable failures a channel's remaining orders wait for the next sweep (it is down)."""


def sweep_writebacks(deps: WritebackSweepDeps, scan_limit: int = SWEEP_SCAN_LIMIT,
                     attempt_limit: int = SWEEP_ATTEMPT_LIMIT,
                     out_of_time: Callable[[], bool] = lambda: False) -> WritebackSweep:
    """The scheduled retry: every order with an unacknowledged shipment, oldest first, whose next attempt is due.

    Bounded: at most `scan_limit` index entries are read (refused write-backs stay in the index and must not starve
    the ones behind them), at most `attempt_limit` orders are written back, a channel that keeps failing is left
    alone for the rest of the run, and the sweep stops when `out_of_time()`; the rest waits for the next run. A
    failure of one order (its channel down, a write race) never stops the others.
    """
    result, now = WritebackSweep(), deps.writeback.now()
    attempted = 0
    failures: dict[str, int] = {}
    for summary in islice(deps.queries.writeback_pending(now), scan_limit):
        if attempted >= attempt_limit or out_of_time():
            break
        result.scanned += 1
        if failures.get(summary.channel, 0) >= CHANNEL_FAILURES_PER_SWEEP:
            continue
        order = deps.writeback.orders.get(summary.order_id)
        if order is None or not due_writebacks(order, now):
            continue
        attempted += 1
        try:
            attempts = write_back(summary.order_id, deps.writeback)
        except ConcurrentModification:
            result.conflicts.append(summary.order_id)  # written meanwhile: the next run sees the fresh order
            continue
        for attempt in attempts:
            key = f"{summary.order_id}:{attempt.tracking_no}"
            if attempt.confirmed:
                result.confirmed.append(key)
            elif attempt.retryable:
                result.retrying.append(key)
                failures[summary.channel] = failures.get(summary.channel, 0) + 1
            else:
                result.refused.append(key)
    return result


def _channels_own(shipment: Shipment) -> bool:
    """Whether the parcel holds a line the channel sold. One of OCP's gift lines alone (a split order's gift sent
    from another warehouse) is nothing the channel knows of: it is confirmed without a call."""
    return any(not line.line_id.startswith(GIFT_LINE_PREFIX) for line in shipment.lines)


def _attempt(channel: ChannelWriteback, order: Order, tracking_no: str, carrier: str) -> WritebackAttempt:
    try:
        channel.confirm_shipment(order, tracking_no, carrier)
    except WritebackUnavailable as exc:
        return WritebackAttempt(tracking_no, confirmed=False, error=exc.message, retryable=True)
    except WritebackRejected as exc:
        return WritebackAttempt(tracking_no, confirmed=False, error=exc.message, retryable=False)
    return WritebackAttempt(tracking_no, confirmed=True)
