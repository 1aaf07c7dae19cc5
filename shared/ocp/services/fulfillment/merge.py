"""Merged parcels (合单), the use cases (rules in `ocp.domain.fulfillment.merge`):

- `wait_to_merge` (`ocp.services.fulfillment.merge_wait`): where a newly reserved order would be handed to the
  dispatcher, with the routing document's `merge_window_minutes` on it waits instead.
- `merge_due_orders`: the scheduled run (every minute) groups each order whose window ended with its waiting
  mates, writes the group onto all of them in one transaction, then asks the dispatcher for it once. A repeated
  or overlapping run finds them grouped already (the transaction is conditional on every order's revision); a
  request lost after the write is asked for again a few minutes later.
- `dispatch_merged`: the dispatcher sends a group as one instruction, under the key `merge:<first order>:<version>`
  (re-sent unchanged on a redelivery), then marks each order dispatched; a waiting order is never sent alone.
- `record_parcel_callback`: a callback for a merged parcel moves every order of it, each in its own transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, NamedTuple

from ocp.domain.clock import iso
from ocp.domain.errors import ConcurrentModification, OrderNotFound
from ocp.domain.fulfillment.dispatch import (
    DispatchOutcome,
    DispatchRequest,
    Skip,
    WmsRejected,
    mark_rejected,
)
from ocp.domain.fulfillment.merge import (
    MAX_GROUP,
    GroupSend,
    ParcelPartlyRecorded,
    alone,
    callback_targets,
    group_leader,
    group_of,
    grouped,
    mark_group_dispatched,
    merged_instruction,
    owed_request,
    parcel_lines,
    parcel_of,
    plan_group,
    regrouped,
)
from ocp.domain.fulfillment.merge_window import in_group, merge_due, merge_key, waits
from ocp.domain.inventory.stock import StockContention
from ocp.domain.order.model import Order, OrderStatus
from ocp.services.fulfillment.merge_wait import ACTOR
from ocp.services.order.updates import WRITE_ATTEMPTS, update_order

if TYPE_CHECKING:
    from ocp.domain.fulfillment.callbacks import FulfillmentEvent
    from ocp.ports import DispatchQueue, MergeGroups, TransactionalOrderStore
    from ocp.services.fulfillment.callbacks import CallbackDeps, CallbackResult
    from ocp.services.fulfillment.dispatch import DispatchDeps, DispatchResult

# ---- the scheduled run -----------------------------------------------------------------------------------------


class MergeRunDeps(NamedTuple):
    orders: TransactionalOrderStore
    groups: MergeGroups
    queue: DispatchQueue
    now: Callable[[], datetime]


@dataclass
class MergeRun:
    grouped: list[tuple[str, ...]] = field(default_factory=list)
    """Each group formed in this run: its orders, first order first."""
    alone: list[str] = field(default_factory=list)
    """Orders whose window ended with no mate: dispatched as any order."""
    asked_again: list[str] = field(default_factory=list)
    """Groups (by first order) and lone orders formed earlier whose hand-over is still owed: asked for again."""
    conflicts: list[str] = field(default_factory=list)
    """Orders that kept changing while their group was formed: the next run tries again."""


def merge_due_orders(deps: MergeRunDeps, limit: int = 200,
                     out_of_time: Callable[[], bool] = lambda: False) -> MergeRun:
    """Every order whose merge run is due, earliest first, at most `limit`; each group is asked for once."""
    run, now = MergeRun(), deps.now()
    for order_id in deps.groups.due(now, limit):
        if out_of_time():
            break
        order = deps.orders.get(order_id)
        due = merge_due(order) if order is not None else None
        if order is None or due is None or due > now:
            continue  # moved on since the index was read, or grouped earlier in this run
        if waits(order):
            _form(order, deps, run, now)
        elif (asked := owed_request(order)) is not None:
            deps.queue.send([DispatchRequest(order_id=asked, after_version=0, actor=ACTOR)])
            run.asked_again.append(asked)
    return run


def _form(due: Order, deps: MergeRunDeps, run: MergeRun, now: datetime) -> None:
    """Group the due order with its mates in one conditional write, then ask the dispatcher for the group."""
    for _ in range(WRITE_ATTEMPTS):
        group = group_of(due, _mates(due, deps))
        if not group:
            return
        ids = tuple(order.order_id for order in group)
        changed = [grouped(order, ids, now) if len(group) > 1 else alone(order, now) for order in group]
        if deps.groups.claim([(after, before.revision) for after, before in zip(changed, group, strict=True)]):
            deps.queue.send([DispatchRequest(order_id=ids[0], after_version=0, actor=ACTOR)])
            (run.grouped.append(ids) if len(ids) > 1 else run.alone.append(ids[0]))
            return
        fresh = deps.orders.get(due.order_id)
        if fresh is None or not waits(fresh):
            return  # another run (or a change) got there first
        due = fresh
    run.conflicts.append(due.order_id)


def _mates(order: Order, deps: MergeRunDeps) -> list[Order]:
    key = merge_key(order)
    if key is None:
        return []
    ids = [i for i in deps.groups.waiting_with(key, 2 * MAX_GROUP) if i != order.order_id]
    return [mate for i in ids if (mate := deps.orders.get(i)) is not None]  # read again: the index lags


# ---- the dispatcher --------------------------------------------------------------------------------------------

# The dispatcher's use cases are imported inside the functions it calls (it has them loaded): the callbacks and the
# merge run never dispatch, so their functions do not load them.


def dispatch_merged(order: Order, request: DispatchRequest, deps: DispatchDeps) -> DispatchResult | None:
    """The dispatcher's answer for an order that waits to merge or is in a group; None for any other order (it is
    dispatched alone). `WmsUnavailable` propagates: nothing was handed over, the caller retries."""
    from ocp.services.fulfillment.dispatch import DispatchResult

    record = order.fulfillment.merge
    if record is None:
        return None
    if waits(order):
        return DispatchResult(order.order_id, DispatchOutcome.not_dispatchable, 0,
                              f"waits to merge until {iso(record.wait_until or deps.now())}")
    if not in_group(order) or record.group_id is None:
        return None
    found = _group_orders(record.group_id, record.order_ids, deps)
    plan = plan_group(record.group_id, found, request.after_version)
    if isinstance(plan, Skip):
        return DispatchResult(order.order_id, plan.outcome, order.fulfillment.instruction_version, plan.reason)
    return _send(order.order_id, plan, request, deps)


def _group_orders(group_id: str, order_ids: Sequence[str], deps: DispatchDeps) -> list[Order]:
    """The group's orders as listed, and its first order (it names the group even once it left)."""
    leader = group_leader(group_id)
    wanted = list(dict.fromkeys([*order_ids, *([leader] if leader else [])]))
    return [order for i in wanted if (order := deps.orders.get(i)) is not None]


def _send(order_id: str, plan: GroupSend, request: DispatchRequest, deps: DispatchDeps) -> DispatchResult:
    from ocp.services.fulfillment.dispatch import DispatchResult, stop_after_cancel

    now = deps.now()
    for order in plan.rewrite:  # the group as it is now, on every order, before the instruction names it
        update_order(deps.orders, order.order_id, partial(regrouped, send=plan, now=now), actor=ACTOR, at=now)
    if not plan.stay:
        _alone_now(plan, deps)
        return DispatchResult(order_id, DispatchOutcome.not_dispatchable, None,
                              f"no order of {plan.group_id} can still go: " +
                              "; ".join(f"{o.order_id}: {why}" for o, why in plan.leave))
    instruction = merged_instruction(plan.group_id, plan.version, plan.stay, now)
    try:
        receipt = deps.wms.send(instruction)
    except WmsRejected as exc:
        for order in plan.stay:
            update_order(deps.orders, order.order_id, partial(mark_rejected, warehouse=instruction.warehouse,
                                                              reason=exc.message, now=now, actor=request.actor),
                         actor=ACTOR, at=now)
        return DispatchResult(order_id, DispatchOutcome.rejected, plan.version, exc.message)
    for order in plan.stay:
        stored, _ = update_order(deps.orders, order.order_id,
                                 partial(mark_group_dispatched, instruction=instruction, receipt=receipt, now=now,
                                         actor=request.actor), actor=ACTOR, at=now)
        if stored.status == OrderStatus.cancelled:
            stop_after_cancel(stored, deps)  # cancelled while being handed over: that order alone is stopped
    _alone_now(plan, deps)
    again = any(0 < order.fulfillment.instruction_version < plan.version for order in plan.stay)
    outcome = DispatchOutcome.redispatched if again else DispatchOutcome.dispatched
    return DispatchResult(order_id, outcome, plan.version, f"{instruction.idempotency_key}: {receipt}")


def _alone_now(plan: GroupSend, deps: DispatchDeps) -> None:
    """An order that left the group but can still go (its address or warehouse changed) goes on its own now."""
    from ocp.services.fulfillment.dispatch import dispatch

    for order, _ in plan.leave:
        if order.status == OrderStatus.reserved:
            dispatch(DispatchRequest(order_id=order.order_id, after_version=0), deps)


# ---- callbacks -------------------------------------------------------------------------------------------------

# The callbacks' events and use case are imported inside the functions the callback route calls (it has them
# loaded): the merge run and the order path never record a callback, so they do not load them.


class ParcelCallback(NamedTuple):
    answer: CallbackResult
    """The named order's result (for a group: its first order's)."""
    results: tuple[CallbackResult, ...]
    """Every order the callback moved, in parcel order; one for an order not merged."""
    merged: bool = False


def record_parcel_callback(event: FulfillmentEvent, deps: CallbackDeps,
                           may_act_for: Callable[[Order], None] | None = None) -> ParcelCallback:
    """Apply a callback to the order it names, or to every order of the merged parcel it names (the group's id, or
    one of its orders), each exactly once in its own transaction. `OrderNotFound` for an unknown order or group;
    `ParcelPartlyRecorded` when some orders could not take it now (the same event again completes them).
    `may_act_for` refuses (raises) an order the caller may not report on: every order the event would move is
    checked before the first is written, so a refusal records nothing."""
    from ocp.domain.fulfillment.callbacks import FulfillmentEventName
    from ocp.services.fulfillment.callbacks import record_callback

    leader = group_leader(event.order_id)
    named = deps.orders.get(leader or event.order_id)
    if named is None:
        raise OrderNotFound(f"no order {event.order_id!r}")
    ids = parcel_of(named, event.order_id if leader else None)
    if not ids:
        if leader is not None:
            raise OrderNotFound(f"no merge group {event.order_id!r}")
        if may_act_for is not None:
            may_act_for(named)
        single = record_callback(event, deps, read=named)
        return ParcelCallback(single, (single,))
    members = [member for i in ids if (member := deps.orders.get(i)) is not None]
    targets = callback_targets(named, members, event.event == FulfillmentEventName.cancelled, leader is not None)
    events = _per_order(event, targets) or _per_order(event, (named,))  # none left: the named one
    read = {order.order_id: order for order in (named, *targets)}  # as read just now: spares a second read
    if may_act_for is not None:
        for one in events:
            may_act_for(read[one.order_id])
    results = _apply_each(events, read, deps)
    answer = next((r for r in results if r.order_id == named.order_id), results[0])
    return ParcelCallback(answer, results, merged=True)


def _per_order(event: FulfillmentEvent, targets: Sequence[Order]) -> list[FulfillmentEvent]:
    """The event as each target order takes it (its share of the lines); an order with no share takes none."""
    shares = parcel_lines(targets, event.lines) if event.lines is not None else None
    return [event.model_copy(update={"order_id": order.order_id,
                                     "lines": event.lines if shares is None else shares.get(order.order_id)})
            for order in targets if shares is None or order.order_id in shares]


def _apply_each(events: Sequence[FulfillmentEvent], read: dict[str, Order],
                deps: CallbackDeps) -> tuple[CallbackResult, ...]:
    from ocp.services.fulfillment.callbacks import record_callback

    done: dict[str, CallbackResult] = {}
    failed: dict[str, str] = {}
    unused = dict(read)  # the first try needs no second read
    for _ in range(2):  # a second round for orders that were busy: one order's failure never loses the others'
        for one in events:
            if one.order_id in done:
                continue
            try:
                done[one.order_id] = record_callback(one, deps, read=unused.pop(one.order_id, None))
                failed.pop(one.order_id, None)
            except (ConcurrentModification, StockContention) as exc:
                failed[one.order_id] = exc.message
        if not failed:
            break
    if failed:
        raise ParcelPartlyRecorded(
            f"recorded for {', '.join(done) or 'no order'}; not yet for {', '.join(failed)}: send the same event "
            "again (the orders that have it answer duplicate)",
            details={"recorded": list(done), "failed": [{"order_id": k, "reason": v} for k, v in failed.items()]})
    return tuple(done[one.order_id] for one in events)
