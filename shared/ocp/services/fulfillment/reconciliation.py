"""Reconciliation: compare what OCP believes with each order's channel, on a schedule.

Every order OCP has with a warehouse and not shipped (`dispatched`, `accepted`, `picked`, `packed`) is looked up on
its channel (unless the channel's own push or poll already reported it cancelled), a bounded slice per run: each
status is walked from where the previous run stopped (a checkpoint), so every order is visited in turn however many
there are. An order the channel cancelled is recorded once, the warehouse is told to stop (a cancel instruction,
unless a parcel left) and one alert goes out (`ocp.domain.fulfillment.reconciliation`). A stop someone requested
already (an operator, the channel's push) that is still pending is sent with the same version: the safety net of
the dispatcher, never a second stop. A channel that is down or not configured only skips its own orders.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, NamedTuple

from ocp.domain.clock import iso, parse_instant
from ocp.domain.errors import ChannelApiRejected, ChannelApiUnavailable, ChannelNotConfigured, UnmappableDocument
from ocp.domain.fulfillment.dispatch import DispatchOutcome, WmsUnavailable
from ocp.domain.fulfillment.reconciliation import (
    HOP,
    RECONCILED,
    alert_event,
    mark_alerted,
    record_channel_cancel,
)
from ocp.domain.order.model import Order, OrderStatus
from ocp.services.order.updates import update_order

if TYPE_CHECKING:
    from ocp.domain.fulfillment.stuck import OrderSummary
    from ocp.domain.order.views import ChannelOrderView
    from ocp.ports import (
        ChannelOrders,
        Checkpoints,
        EventPublisher,
        OrderQueries,
        TransactionalOrderStore,
        WmsAdapter,
    )

ACTOR = "reconciliation"
CHECKPOINT = "reconciliation"
DEFAULT_BUDGET = 200
"""Orders looked at per run, shared evenly by the statuses (each lookup is one channel API call)."""
CHANNEL_FAILURES_PER_RUN = 3
"""After this many failed lookups a channel is left alone for the rest of the run."""


class ReconcileDeps(NamedTuple):
    orders: TransactionalOrderStore
    queries: OrderQueries
    channels: ChannelOrders
    wms: WmsAdapter
    events: EventPublisher
    checkpoints: Checkpoints
    now: Callable[[], datetime]


@dataclass
class ReconcileRun:
    looked_up: int = 0
    """Channel lookups that answered."""
    cancelled_on_channel: list[str] = field(default_factory=list)
    """Orders found cancelled on their channel in this run (recorded once: a later run does not count them)."""
    stopped: list[str] = field(default_factory=list)
    """Orders whose warehouse got a cancel instruction in this run."""
    alerted: list[str] = field(default_factory=list)
    unreachable: dict[str, int] = field(default_factory=dict)
    """Channel → lookups that failed (down, throttled, not configured)."""
    unreadable: list[str] = field(default_factory=list)
    """Orders the channel refused to show or answered with a document that does not map."""
    completed: list[str] = field(default_factory=list)
    """Statuses walked to their end in this run: the next run starts them from the oldest again."""


def reconcile(deps: ReconcileDeps, budget: int = DEFAULT_BUDGET,
              out_of_time: Callable[[], bool] = lambda: False) -> ReconcileRun:
    """One run: up to `budget` orders, shared evenly by the statuses, each status from its checkpoint; stops early
    when `out_of_time()` (the checkpoints then say where the next run resumes)."""
    run, now = ReconcileRun(), deps.now()
    positions = deps.checkpoints.get(CHECKPOINT)
    share = max(1, budget // len(RECONCILED))
    for status in RECONCILED:
        last: OrderSummary | None = None
        seen = 0
        for summary in deps.queries.in_status_after(status, _position(positions.get(status.value))):
            if seen == share or out_of_time():
                break
            seen, last = seen + 1, summary
            _check(summary, deps, run, now)
        else:
            positions.pop(status.value, None)
            run.completed.append(status.value)
            continue
        if last is not None:
            positions[status.value] = f"{iso(last.status_since)}|{last.order_id}"
    deps.checkpoints.put(CHECKPOINT, positions, now)
    return run


def _position(text: str | None) -> tuple[datetime, str] | None:
    if not text:
        return None
    since, _, order_id = text.partition("|")
    return parse_instant(since), order_id


def _check(summary: OrderSummary, deps: ReconcileDeps, run: ReconcileRun, now: datetime) -> None:
    order = deps.orders.get(summary.order_id)
    if order is None or order.status not in RECONCILED:
        return  # moved on since the index was read
    if order.fulfillment.channel_cancel is not None:
        _follow_up(order, deps, run, now)  # known already: finish what a previous run left, no channel call
        return
    order = _stop(order, deps, run, now)  # an operator's or the channel's stop the dispatcher has not sent
    if order.cancelled_at is not None:
        # The channel's own push or poll already said so (ingest kept the status and recorded the request).
        channel_status = order.channel_status
    else:
        view = _lookup(order, deps, run)
        if view is None or view.status != OrderStatus.cancelled:
            return
        channel_status = view.channel_status
    stored, wrote = update_order(deps.orders, order.order_id,
                                 partial(record_channel_cancel, channel_status=channel_status, now=now),
                                 actor=ACTOR, at=now)
    if wrote:
        run.cancelled_on_channel.append(order.order_id)
    if stored.fulfillment.channel_cancel is not None:
        _follow_up(stored, deps, run, now)


def _lookup(order: Order, deps: ReconcileDeps, run: ReconcileRun) -> ChannelOrderView | None:
    """The channel's view, or None when it cannot be had now (counted on the run)."""
    channel = order.channel.value
    if run.unreachable.get(channel, 0) >= CHANNEL_FAILURES_PER_RUN:
        return None
    try:
        view = deps.channels.view(channel, order.channel_order_id)
    except ChannelNotConfigured:
        run.unreachable[channel] = CHANNEL_FAILURES_PER_RUN  # nothing to ask: skip its orders this run
        return None
    except ChannelApiUnavailable:
        run.unreachable[channel] = run.unreachable.get(channel, 0) + 1
        return None
    except (ChannelApiRejected, UnmappableDocument):
        run.unreadable.append(order.order_id)
        return None
    run.looked_up += 1
    return view


def _follow_up(order: Order, deps: ReconcileDeps, run: ReconcileRun, now: datetime) -> None:
    """Stop the warehouse (once), then alert (once)."""
    order = _stop(order, deps, run, now)
    cancel = order.fulfillment.channel_cancel
    if cancel is not None and cancel.alerted_at is None:
        deps.events.publish([alert_event(order)])
        update_order(deps.orders, order.order_id, partial(mark_alerted, now=now), actor=ACTOR, at=now)
        run.alerted.append(order.order_id)


def _stop(order: Order, deps: ReconcileDeps, run: ReconcileRun, now: datetime) -> Order:
    """Send the order's stop if it is still pending (its own version: never a second stop). A WMS that is down
    leaves it for the next run."""
    stop = order.fulfillment.stop
    if stop is None or not stop.pending:
        return order
    # A pending stop is rare here (the dispatcher sends them): its use cases load only when one is.
    from ocp.services.fulfillment.dispatch import send_stop

    try:
        order, result = send_stop(order, deps.orders, deps.wms, now, actor=ACTOR, hop=HOP)
    except WmsUnavailable:
        return order
    if result.outcome == DispatchOutcome.stop_sent:
        run.stopped.append(order.order_id)
    return order
