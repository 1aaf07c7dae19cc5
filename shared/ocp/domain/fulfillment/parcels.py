"""An order split across warehouses ships as parcels, one per warehouse (pure).

A routing rule with `"split": true` may reserve an order over several warehouses (each of `reservation.allocations`
names its `warehouse`). Each warehouse then gets an instruction of its own: only its lines (what its allocations
hold, so a line split over two warehouses is in both, each with its part), its own versions and its own idempotency
key `<order_id>@<warehouse>:<version>`; and each reports on its own parcel (a callback names the `warehouse`). The
order's status follows its parcels: it moves on only once every parcel did (`dispatched` when all were handed over,
`shipped` when all shipped); a parcel its warehouse cancelled no longer holds the order back, and the order is
cancelled once every parcel is. `fulfillment.instruction_version` is the highest version any parcel got, so a stop
(`stops.py`: that plus one, fixed when requested) is newer than every instruction of every warehouse, and each
warehouse that can still stop its parcel gets it.

A whole order (one warehouse) has no parcels: it keeps the order's own version, status and key `<order_id>:<version>`.
Parcels are recorded by the first hand-over or callback; until then they are read from the reservation.
"""

from __future__ import annotations

from datetime import datetime

from ocp.domain.errors import DomainError
from ocp.domain.fulfillment.dispatch import (
    DISPATCHABLE,
    HOP,
    DispatchOutcome,
    DispatchRequest,
    InstructionKind,
    InstructionLine,
    Skip,
    WarehouseInstruction,
    instruction_for,
    mark_rejected,
)
from ocp.domain.fulfillment.state import (
    FulfillmentIssue,
    InstructionUpdate,
    IssueKind,
    Parcel,
    ParcelLine,
    ParcelStatus,
    Shipment,
)
from ocp.domain.fulfillment.stops import stop_sent, with_stop
from ocp.domain.inventory.planning import holds_stock
from ocp.domain.order.model import Order, OrderStatus, TimelineEntry

PATH: tuple[ParcelStatus, ...] = tuple(s for s in ParcelStatus if s != ParcelStatus.cancelled)
"""A parcel's statuses in order: reserved → dispatched → … → delivered."""
OPEN = frozenset({ParcelStatus.reserved, ParcelStatus.dispatched, ParcelStatus.accepted, ParcelStatus.picked,
                  ParcelStatus.packed})
"""Not shipped, delivered or cancelled: the warehouse still has the parcel's units."""
SENDABLE = frozenset({ParcelStatus.reserved, ParcelStatus.dispatched})
"""A parcel its warehouse has not accepted: its instruction may be (re)sent."""
UPDATABLE = frozenset({ParcelStatus.dispatched, ParcelStatus.accepted})
"""With its warehouse and not picked: a newer fulfil instruction still changes the parcel."""


class ParcelNotNamed(DomainError):
    """A callback that does not say which of a split order's parcels it is about (or names no parcel of it)."""

    code = "invalid_request"

    def __init__(self, problem: str) -> None:
        super().__init__(f"warehouse: {problem}", details=[{"field": "warehouse", "problem": problem}])


def rank(status: ParcelStatus) -> int:
    """Position along a parcel's path; -1 for `cancelled`."""
    return PATH.index(status) if status in PATH else -1


def _order_rank(status: OrderStatus) -> int:
    return next((rank(s) for s in PATH if s.value == status.value), -1)


# ---- which parcels an order has ------------------------------------------------------------------------------


def split_reservation(order: Order) -> bool:
    """The order's reservation holds stock in more than one warehouse."""
    return order.reservation is not None and len(order.reservation.warehouses()) > 1


def parcels_of(order: Order, now: datetime) -> tuple[Parcel, ...]:
    """The order's parcels: as recorded; else, for a split order about to be handed over (or answered before its
    hand-over was recorded), one per warehouse of its reservation; none for a whole order."""
    if order.fulfillment.parcels:
        return order.fulfillment.parcels
    if not holds_stock(order) or order.status not in DISPATCHABLE:
        return ()
    return _from_reservation(order, now)


def _from_reservation(order: Order, now: datetime) -> tuple[Parcel, ...]:
    if not split_reservation(order):
        return ()
    return tuple(Parcel(warehouse=w, lines=lines, status_since=now) for w, lines in _lines_by_warehouse(order).items()
                 if lines)


def _lines_by_warehouse(order: Order) -> dict[str, tuple[ParcelLine, ...]]:
    """Each warehouse's units of a SKU fill the order's lines of that SKU in line order, the warehouses taken in
    allocation order: a line larger than one warehouse's units continues in the next."""
    reservation = order.reservation
    assert reservation is not None
    units: dict[str, dict[str, int]] = {}
    for a in reservation.allocations:
        per_warehouse = units.setdefault(a.sku, {})
        warehouse = a.warehouse or reservation.warehouse
        per_warehouse[warehouse] = per_warehouse.get(warehouse, 0) + a.quantity
    lines: dict[str, list[ParcelLine]] = {w: [] for w in reservation.warehouses()}
    for line in order.lines:
        wanted, left = line.quantity, units.get(line.sku, {})
        for warehouse in list(left):
            take = min(wanted, left[warehouse])
            if take:
                lines[warehouse].append(ParcelLine(line_id=line.line_id, sku=line.sku, quantity=take))
                wanted, left[warehouse] = wanted - take, left[warehouse] - take
            if not wanted:
                break
    return {w: tuple(found) for w, found in lines.items()}


def parcel_named(order: Order, warehouse: str | None, tracking_no: str | None, now: datetime) -> Parcel | None:
    """The parcel a callback is about: its `warehouse`, or the one whose shipment has `tracking_no` (a carrier's
    `delivered` need not know the warehouse); None for a whole order. `ParcelNotNamed` when a split order's callback
    names no parcel of it, and when a whole order's names another warehouse than the order's."""
    parcels = parcels_of(order, now)
    if not parcels:
        with_warehouse = order.warehouse is not None and _order_rank(order.status) >= 0
        if warehouse is not None and with_warehouse and warehouse != order.warehouse:
            raise ParcelNotNamed(f"order {order.order_id} is with {order.warehouse}, not {warehouse}")
        return None
    if warehouse is None:
        warehouse = _shipped_from(order.fulfillment.shipments, tracking_no)
    names = ", ".join(p.warehouse for p in parcels)
    if warehouse is None:
        raise ParcelNotNamed(f"order {order.order_id} ships as one parcel per warehouse ({names}): "
                             "name the parcel's warehouse")
    parcel = next((p for p in parcels if p.warehouse == warehouse), None)
    if parcel is None:
        raise ParcelNotNamed(f"order {order.order_id} has no parcel at {warehouse} (its parcels: {names})")
    return parcel


def _shipped_from(shipments: tuple[Shipment, ...], tracking_no: str | None) -> str | None:
    found = {s.warehouse for s in shipments if tracking_no is not None and s.tracking_no == tracking_no}
    return found.pop() if len(found) == 1 else None


# ---- the order follows its parcels ------------------------------------------------------------------------------


def order_status(parcels: tuple[Parcel, ...]) -> OrderStatus:
    """The least advanced parcel's status, cancelled parcels aside; `cancelled` once every parcel is."""
    going = [p.status for p in parcels if p.status != ParcelStatus.cancelled]
    if not going:
        return OrderStatus.cancelled
    return OrderStatus(min(going, key=rank).value)


def with_parcels(order: Order, parcels: tuple[Parcel, ...], since: datetime | None = None) -> Order:
    """`order` with `parcels` recorded, the highest version as the order's, and — when `since` is given and the
    parcels say so — the order's status moved forward (never back) at that time."""
    version = max([order.fulfillment.instruction_version, *(p.instruction_version for p in parcels)])
    update: dict[str, object] = {
        "fulfillment": order.fulfillment.model_copy(update={"parcels": parcels, "instruction_version": version})}
    status = order_status(parcels)
    if since is not None and _order_rank(order.status) >= 0 and (
            status == OrderStatus.cancelled or _order_rank(status) > _order_rank(order.status)):
        update |= {"status": status, "status_since": max(order.status_since, since)}
        if status == OrderStatus.cancelled:
            update["cancelled_at"] = order.cancelled_at or since
    return order.model_copy(update=update)


def _replaced(parcels: tuple[Parcel, ...], parcel: Parcel) -> tuple[Parcel, ...]:
    return tuple(parcel if p.warehouse == parcel.warehouse else p for p in parcels)


def recorded(order: Order, now: datetime) -> Order:
    """The order with its parcels on record (read from the reservation the first time, even one released since: a
    hand-over that crossed a cancellation is recorded on its parcel)."""
    if order.fulfillment.parcels:
        return order
    parcels = _from_reservation(order, now)
    return with_parcels(order, parcels) if parcels else order


# ---- a callback on one parcel -------------------------------------------------------------------------------------


def parcel_view(order: Order, parcel: Parcel) -> Order:
    """The parcel as an order of its own, for the callback state machine: its lines (its part of each), status,
    warehouse and shipments. Built without validation: its lines' amounts are the order's."""
    lines = {line.line_id: line for line in order.lines}
    mine = tuple(s for s in order.fulfillment.shipments if s.warehouse == parcel.warehouse)
    return order.model_copy(update={
        "lines": tuple(lines[p.line_id].model_copy(update={"quantity": p.quantity}) for p in parcel.lines),
        "status": OrderStatus(parcel.status.value), "status_since": parcel.status_since,
        "warehouse": parcel.warehouse, "reservation": None,
        "fulfillment": order.fulfillment.model_copy(update={"shipments": mine, "parcels": ()}),
    })


def from_view(order: Order, parcel: Parcel, view: Order, after: Order, at: datetime) -> Order:
    """`order` once the parcel's view went from `view` to `after` (a callback applied to it): the parcel's status and
    shipments, the callback's timeline entry (naming the parcel), issues and event ids; the order's status as its
    parcels now say, from the event's time `at`."""
    shipments = tuple(s.model_copy(update={"warehouse": parcel.warehouse}) for s in after.fulfillment.shipments)
    theirs = iter(shipments)
    merged = [next(theirs) if s.warehouse == parcel.warehouse else s for s in order.fulfillment.shipments]
    merged += list(theirs)  # the new shipment, if one left
    last = shipments[-1] if shipments else None
    moved = parcel.model_copy(update={
        "status": ParcelStatus(after.status.value), "status_since": after.status_since,
        "tracking_no": last.tracking_no if last else None, "carrier": last.carrier if last else None})
    named = f"parcel {parcel.warehouse}"
    entries = tuple(e.model_copy(update={"detail": f"{named}: {e.detail}" if e.detail else named})
                    for e in after.timeline[len(view.timeline):])
    fulfillment = order.fulfillment.model_copy(update={
        "event_ids": after.fulfillment.event_ids, "issues": after.fulfillment.issues, "shipments": tuple(merged)})
    changed = order.model_copy(update={"fulfillment": fulfillment, "timeline": (*order.timeline, *entries)})
    return with_parcels(changed, _replaced(parcels_of(order, at), moved), since=at)


# ---- instructions per parcel --------------------------------------------------------------------------------------


def parcel_instruction(order: Order, parcel: Parcel, version: int, now: datetime,
                       kind: InstructionKind = InstructionKind.fulfil) -> WarehouseInstruction:
    """The order's instruction cut to one parcel: its warehouse, its lines, its own key."""
    lines = {line.line_id: line for line in order.lines}
    mine = tuple(InstructionLine(line_id=p.line_id, sku=p.sku, quantity=p.quantity, title=lines[p.line_id].title,
                                 gift=lines[p.line_id].gift) for p in parcel.lines)
    whole = instruction_for(order, version=version, now=now, kind=kind)
    return whole.model_copy(update={"warehouse": parcel.warehouse, "lines": mine, "split": True})


def plan_parcels(order: Order, request: DispatchRequest, now: datetime) -> tuple[WarehouseInstruction, ...] | Skip:
    """The instructions to send for `request`: each parcel it names (all, or its `warehouse`) whose version is
    still `after_version` and that its warehouse has not accepted; or why none is to be sent."""
    why = not_dispatchable(order)
    if why:
        return Skip(DispatchOutcome.not_dispatchable, why)
    parcels = [p for p in parcels_of(order, now) if request.warehouse in (None, p.warehouse)]
    if not parcels:
        return Skip(DispatchOutcome.not_dispatchable, f"order has no parcel at {request.warehouse}")
    plans: list[WarehouseInstruction] = []
    skips: list[Skip] = []
    for parcel in parcels:
        version, where = parcel.instruction_version, parcel.warehouse
        if version > request.after_version:
            skips.append(Skip(DispatchOutcome.already_dispatched, f"{where}: v{version} was handed over already"))
        elif version < request.after_version:
            skips.append(Skip(DispatchOutcome.not_dispatchable,
                              f"{where}: asked after v{request.after_version}, parcel is at v{version}"))
        elif parcel.status not in SENDABLE:
            skips.append(Skip(DispatchOutcome.not_dispatchable, f"{where}: parcel is {parcel.status.value}"))
        else:
            plans.append(parcel_instruction(order, parcel, version + 1, now))
    if plans:
        return tuple(plans)
    done = all(s.outcome == DispatchOutcome.already_dispatched for s in skips)
    return Skip(DispatchOutcome.already_dispatched if done else DispatchOutcome.not_dispatchable,
                "; ".join(s.reason for s in skips))


def not_dispatchable(order: Order) -> str | None:
    """Why none of the order's parcels may be (re)sent now; None when they may."""
    if order.status not in DISPATCHABLE:
        return f"order is {order.status.value}"
    if order.fulfillment.channel_cancel is not None:
        return "order was cancelled on its channel"
    if order.fulfillment.stop is not None:
        return "its warehouses were asked to stop"
    unnamed = [line.line_id for line in order.lines if not line.sku]
    return f"lines without a merchant SKU: {', '.join(unnamed)}" if unnamed else None


def next_requests(order: Order, actor: str | None = None) -> tuple[DispatchRequest, ...]:
    """A re-dispatch: one request per parcel its warehouse has not accepted, each after that parcel's version; else
    (a whole order, a split order never handed over) one request after the order's version."""
    whole = DispatchRequest(order_id=order.order_id, after_version=order.fulfillment.instruction_version, actor=actor)
    per_parcel = tuple(DispatchRequest(order_id=order.order_id, after_version=p.instruction_version,
                                       warehouse=p.warehouse, actor=actor)
                       for p in order.fulfillment.parcels if p.status in SENDABLE)
    return per_parcel or (whole,)


def mark_parcel_dispatched(order: Order, instruction: WarehouseInstruction, receipt: str, now: datetime,
                           actor: str | None = None) -> Order | None:
    """The order once one parcel's instruction is handed over; None when this version was recorded already. The
    parcel is `dispatched` (a re-dispatch restarts its acceptance clock) unless a callback got in first; the order
    is `dispatched` once every parcel is. An order cancelled meanwhile stays cancelled and gets an issue."""
    current = recorded(order, now)
    parcel = current.fulfillment.parcel(instruction.warehouse)
    if parcel is None or parcel.instruction_version >= instruction.version:
        return None
    update: dict[str, object] = {"instruction_version": instruction.version}
    if parcel.status in SENDABLE:
        update |= {"status": ParcelStatus.dispatched, "status_since": now}
    event = "redispatched" if instruction.version > 1 else "dispatched"
    entry = TimelineEntry(at=now, hop=HOP, event=event, source="ocp", actor=actor,
                          detail=f"instruction v{instruction.version} to {instruction.warehouse} ({receipt}): "
                                 + _summary(parcel))
    moved = with_parcels(current, _replaced(current.fulfillment.parcels, parcel.model_copy(update=update)))
    changes: dict[str, object] = {"timeline": (*order.timeline, entry)}
    if order.status in DISPATCHABLE and order_status(moved.fulfillment.parcels) == OrderStatus.dispatched:
        changes |= {"status": OrderStatus.dispatched, "status_since": now}
    elif order.status == OrderStatus.cancelled:
        issue = FulfillmentIssue(at=now, kind=IssueKind.dispatched_after_cancel,
                                 reason=f"instruction v{instruction.version} reached {instruction.warehouse}")
        changes["fulfillment"] = moved.fulfillment.model_copy(update={"issues": (*moved.fulfillment.issues, issue)})
    return moved.model_copy(update=changes)


def mark_parcel_rejected(order: Order, warehouse: str, reason: str, now: datetime, actor: str | None = None) -> Order:
    """The warehouse's WMS refused its parcel's instruction: the parcel stays where it is, the reason is recorded."""
    return mark_rejected(recorded(order, now), warehouse, reason, now, actor)


def _summary(parcel: Parcel) -> str:
    return ", ".join(f"{line.sku}×{line.quantity}" for line in parcel.lines)


# ---- stopping the warehouses ----------------------------------------------------------------------------------


def stoppable(order: Order) -> tuple[Parcel, ...]:
    """The parcels a cancel instruction may still stop: not shipped from (not even in part), delivered or
    cancelled."""
    shipped_from = {s.warehouse for s in order.fulfillment.shipments}
    return tuple(p for p in order.fulfillment.parcels if p.status in OPEN and p.warehouse not in shipped_from)


def owed_stops(order: Order, now: datetime) -> tuple[WarehouseInstruction, ...]:
    """The cancel instructions a split order owes its warehouses: its pending stop, at the version fixed when it was
    requested, to each parcel that can still stop and has not had it; and, for an order OCP cancelled while some
    warehouses held its instructions, its next version to each of those."""
    stop = order.fulfillment.stop
    owed = [p for p in stoppable(order) if p.stop_sent_at is None]
    if stop is not None and stop.pending and stop.version is not None:
        return tuple(parcel_instruction(order, p, stop.version, now, InstructionKind.cancel) for p in owed)
    if owes_cancels(order):
        return tuple(parcel_instruction(order, p, p.instruction_version + 1, now, InstructionKind.cancel)
                     for p in owed if p.instruction_version > 0)
    return ()


def owes_cancels(order: Order) -> bool:
    """OCP cancelled a split order (an operator, the channel) while some warehouses held its instructions, and
    not every one of them was told: each gets a cancel instruction, its own next version."""
    return order.fulfillment.stop is None and order.status == OrderStatus.cancelled and any(
        p.instruction_version > 0 and p.stop_sent_at is None for p in stoppable(order))


def renumbered_stop(order: Order) -> Order | None:
    """A pending stop whose version a parcel still owed it already had for another instruction (an update crossed
    it) moves to the next version, recorded before it is sent; None when its version is still free."""
    stop = order.fulfillment.stop
    if stop is None or not stop.pending or stop.version is None:
        return None
    owed = [p for p in stoppable(order) if p.stop_sent_at is None]
    if all(p.instruction_version < stop.version for p in owed):
        return None
    version = order.fulfillment.instruction_version + 1
    return order.model_copy(update={"fulfillment": with_stop(order.fulfillment, stop.model_copy(update={
        "version": version}))})


def mark_parcel_stop_sent(order: Order, instruction: WarehouseInstruction, receipt: str,
                          now: datetime) -> Order | None:
    """One warehouse got its cancel instruction; None when recorded already. The stop counts as sent once every
    parcel that could still stop had it. Statuses stay: each warehouse confirms with a `cancelled` callback."""
    parcel = order.fulfillment.parcel(instruction.warehouse)
    if parcel is None or parcel.stop_sent_at is not None or parcel.instruction_version >= instruction.version:
        return None
    moved = with_parcels(order, _replaced(order.fulfillment.parcels, parcel.model_copy(update={
        "instruction_version": instruction.version, "stop_sent_at": now})))
    fulfillment = moved.fulfillment
    if all(p.stop_sent_at is not None for p in stoppable(moved)):
        fulfillment = stop_sent(fulfillment, instruction.version, now)
    entry = TimelineEntry(at=now, hop=HOP, event="stop_sent", source="ocp",
                          detail=f"cancel instruction v{instruction.version} to {instruction.warehouse} ({receipt})")
    return moved.model_copy(update={"fulfillment": fulfillment, "timeline": (*order.timeline, entry)})


# ---- updates after dispatch ------------------------------------------------------------------------------------


def plan_parcel_updates(order: Order, now: datetime) -> tuple[WarehouseInstruction, ...] | Skip:
    """The next fulfil version for each parcel its warehouse has and has not picked, when the order owes its
    warehouses an update (a parcel picked already is flagged once the others were sent); or why none is sent."""
    if order.fulfillment.update is None:
        return Skip(DispatchOutcome.already_dispatched, "no update owed to the warehouses")
    if order.fulfillment.stop is not None or order.status not in (OrderStatus.dispatched, OrderStatus.accepted):
        return Skip(DispatchOutcome.not_dispatchable, f"order is {order.status.value}"
                    + (", its warehouses asked to stop" if order.fulfillment.stop is not None else ""))
    due = [p for p in order.fulfillment.parcels if p.status in UPDATABLE]
    if not due:
        return Skip(DispatchOutcome.not_dispatchable, "every parcel was picked")
    return tuple(parcel_instruction(order, p, p.instruction_version + 1, now) for p in due)


def mark_parcel_updated(order: Order, instruction: WarehouseInstruction, receipt: str, sent_for: InstructionUpdate,
                        now: datetime, *, last: bool) -> Order | None:
    """One warehouse got the update; None when recorded already. With the `last` of them the update is no longer
    owed (unless a newer change arrived meanwhile), and each parcel picked already is flagged for a person."""
    parcel = order.fulfillment.parcel(instruction.warehouse)
    if parcel is None or parcel.instruction_version >= instruction.version:
        return None
    moved = with_parcels(order, _replaced(order.fulfillment.parcels, parcel.model_copy(update={
        "instruction_version": instruction.version})))
    entry = TimelineEntry(at=now, hop=HOP, event="instruction_updated", source="ocp",
                          detail=f"instruction v{instruction.version} to {instruction.warehouse}: "
                                 f"{sent_for.reason} ({receipt})")
    fulfillment = moved.fulfillment
    timeline: tuple[TimelineEntry, ...] = (*order.timeline, entry)
    owed = fulfillment.update
    if last and owed is not None and owed.requested_at <= sent_for.requested_at:
        fulfillment = fulfillment.model_copy(update={"update": None})
        for picked in (p for p in fulfillment.parcels if p.status in OPEN - UPDATABLE - {ParcelStatus.reserved}):
            detail = (f"{sent_for.reason} while {picked.warehouse}'s parcel is {picked.status.value}: "
                      "re-label or intercept the parcel")
            issue = FulfillmentIssue(at=now, kind=IssueKind.address_change_after_pick, reason=detail)
            fulfillment = fulfillment.model_copy(update={"issues": (*fulfillment.issues, issue)})
            timeline = (*timeline, TimelineEntry(at=now, hop=HOP, event=IssueKind.address_change_after_pick.value,
                                                 source="ocp", detail=detail))
    return moved.model_copy(update={"fulfillment": fulfillment, "timeline": timeline})
