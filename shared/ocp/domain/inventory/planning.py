"""Deciding what an order does to stock, and planning reservations across warehouses and shards (pure).

No read comes first: a plan is a guess that DynamoDB's conditions check. A failed condition tells the planner
which shard was short and by how much (the adapter asks DynamoDB for the item's values on failure), and the
planner moves that SKU to its next shard, then splits it over the shards it knows, then tries the next
candidate warehouse, before it declares the order short.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import NamedTuple

from ocp.domain.fulfillment.state import ParcelStatus
from ocp.domain.inventory.books import ShardKey, StockKey, counted_units, stock_keys
from ocp.domain.inventory.commit import CounterChange, CountGuard, OrderCommit, Shortage
from ocp.domain.inventory.reservation import (
    LockStrategy,
    PartEnded,
    PurchaseClaim,
    Reservation,
    ReservationState,
    StockAllocation,
)
from ocp.domain.inventory.stock import (
    MovementKind,
    StockMovement,
    ledger_entry,
    order_entry_id,
    preferred_shard,
)
from ocp.domain.order.model import Hold, HoldReason, Order, OrderStatus, TimelineEntry

ACTOR = "order_processor"

Locations = Mapping[str, Mapping[str, int]]
"""SKU → {warehouse: active shard count}: where each SKU is stocked (the cached SKU registry)."""


class Need(NamedTuple):
    sku: str
    quantity: int


def needs_of(order: Order) -> tuple[Need, ...]:
    """Units per SKU over all lines (gifts included: they leave the warehouse too), in SKU order."""
    totals: dict[str, int] = {}
    for line in order.lines:
        totals[line.sku] = totals.get(line.sku, 0) + line.quantity
    return tuple(Need(sku, quantity) for sku, quantity in sorted(totals.items()))


def candidate_warehouses(needs: Sequence[Need], locations: Locations) -> list[str]:
    """Warehouses stocking every needed SKU, in a deterministic order (the routing rules will order them)."""
    stocked = [set(locations.get(need.sku, {})) for need in needs]
    common = set.intersection(*stocked) if stocked else set()
    return sorted(common)


# ---- what an order does to stock ---------------------------------------------------------------------------


class StockAction(StrEnum):
    none = "none"
    reserve = "reserve"
    release = "release"
    confirm = "confirm"
    """An order that already holds stock got paid: it is now reserved for good (no more expiry)."""


def is_paid(order: Order) -> bool:
    """Ready to fulfil: paid (OCP's `received`), or cash on delivery."""
    return order.status == OrderStatus.received or (
        order.cash_on_delivery and order.status == OrderStatus.pending_payment
    )


def holds_stock(order: Order) -> bool:
    return order.reservation is not None and order.reservation.state == ReservationState.active


def action_for(before: Order | None, after: Order, strategy: LockStrategy) -> StockAction:
    """What `after` (the order about to be stored; `before` is what is stored now) must do to stock."""
    if after.status == OrderStatus.cancelled:
        return StockAction.release if holds_stock(after) else StockAction.none
    if holds_stock(after):
        return StockAction.confirm if is_paid(after) and after.status != OrderStatus.reserved else StockAction.none
    if is_paid(after):
        return StockAction.reserve
    if after.status == OrderStatus.pending_payment and before is None and strategy != LockStrategy.reserve_on_payment:
        return StockAction.reserve
    return StockAction.none


# ---- the planner ------------------------------------------------------------------------------------------------


class Plan(NamedTuple):
    warehouse: str
    allocations: tuple[StockAllocation, ...]


@dataclass
class _SkuState:
    rotation: list[int]
    known: dict[int, int] = field(default_factory=dict)
    """Shard → available, as last reported by a failed condition."""


class ReservationPlanner:
    """Successive plans for one order; feed each rejected plan's shortages back with `record`."""

    def __init__(self, order_id: str, needs: Sequence[Need], locations: Locations, max_attempts: int = 64,
                 preference: Sequence[str] | None = None) -> None:
        """`preference`: the routing decision's ordered warehouses (None: every stocking warehouse, by id)."""
        self.order_id = order_id
        self.needs = tuple(needs)
        stocking = candidate_warehouses(self.needs, locations)
        self.warehouses = stocking if preference is None else [w for w in preference if w in stocking]
        self._locations = locations
        self._preference = None if preference is None else tuple(preference)
        self._index = 0
        self._states: dict[tuple[str, str], _SkuState] = {}
        self._short: dict[str, int] = {}
        """SKU → the most found available in any warehouse that was declared short of it."""
        self._attempts = 0
        self._max_attempts = max_attempts

    def next_plan(self) -> Plan | None:
        while self._index < len(self.warehouses) and self._attempts < self._max_attempts:
            warehouse = self.warehouses[self._index]
            allocations: list[StockAllocation] = []
            for need in self.needs:
                allocated = self._allocate(warehouse, need)
                if allocated is None:
                    break
                allocations += allocated
            else:
                self._attempts += 1
                return Plan(warehouse, tuple(allocations))
            self._index += 1
        return None

    def record(self, shortages: Iterable[Shortage]) -> None:
        for shortage in shortages:
            state = self._state(shortage.warehouse, shortage.sku)
            state.known[shortage.shard] = shortage.available

    def untried(self, warehouse: str, sku: str) -> list[int]:
        state = self._state(warehouse, sku)
        return [shard for shard in state.rotation if shard not in state.known]

    def sold_out(self, warehouse: str, sku: str) -> bool:
        """Every shard of the SKU in this warehouse is known to have nothing available."""
        state = self._state(warehouse, sku)
        return len(state.known) == len(state.rotation) and all(v <= 0 for v in state.known.values())

    def learn(self, warehouse: str, sku: str, available: Mapping[int, int]) -> None:
        """What a read says the untried shards hold (a hint: a failed condition's own report is kept)."""
        state = self._state(warehouse, sku)
        for shard, value in available.items():
            state.known.setdefault(shard, value)

    def blocking_skus(self) -> set[str]:
        """The SKUs that stopped every plan: found short, or stocked by none of the allowed warehouses."""
        allowed = None if self._preference is None else set(self._preference)
        unstocked = {n.sku for n in self.needs
                     if not (set(self._locations.get(n.sku, {})) & allowed if allowed is not None
                             else self._locations.get(n.sku))}
        return set(self._short) | unstocked

    def hold_detail(self) -> str:
        """`"SKU needs N, M available"` for each SKU that stopped the order."""
        if not self.warehouses:
            missing = [n for n in self.needs if n.sku in self.blocking_skus()]
            if missing:
                where = "" if self._preference is None else f" in {', '.join(self._preference) or 'no warehouse'}"
                return "; ".join(f"{n.sku or '(no SKU)'} needs {n.quantity}, 0 available{where}" for n in missing)
            return "no single warehouse stocks " + ", ".join(n.sku for n in self.needs) + " together"
        parts = [f"{n.sku} needs {n.quantity}, {self._short.get(n.sku, 0)} available"
                 for n in self.needs if n.sku in self._short]
        return "; ".join(parts) or "stock kept changing while reserving; the order was not reserved"

    def _state(self, warehouse: str, sku: str) -> _SkuState:
        key = (warehouse, sku)
        if key not in self._states:
            shards = max(1, self._locations.get(sku, {}).get(warehouse, 1))
            first = preferred_shard(self.order_id, shards)
            self._states[key] = _SkuState(rotation=[(first + i) % shards for i in range(shards)])
        return self._states[key]

    def _allocate(self, warehouse: str, need: Need) -> list[StockAllocation] | None:
        state = self._state(warehouse, need.sku)
        untried = [shard for shard in state.rotation if shard not in state.known]
        if untried:
            return [StockAllocation(sku=need.sku, shard=untried[0], quantity=need.quantity)]
        # Every shard has been tried once: split the need over what they reported, if that covers it.
        total = sum(max(0, state.known[shard]) for shard in state.rotation)
        if total < need.quantity:
            self._short[need.sku] = max(self._short.get(need.sku, 0), total)
            return None
        allocations, remaining = [], need.quantity
        for shard in sorted(state.rotation, key=lambda s: -state.known[s]):
            take = min(remaining, max(0, state.known[shard]))
            if take:
                allocations.append(StockAllocation(sku=need.sku, shard=shard, quantity=take))
                remaining -= take
            if not remaining:
                break
        return allocations


# ---- turning decisions into order changes and commits ---------------------------------------------------------


def _timeline(order: Order, at: datetime, event: str, detail: str, hop: str = "inventory") -> tuple[TimelineEntry, ...]:
    return (*order.timeline, TimelineEntry(at=at, hop=hop, event=event, source="ocp", detail=detail))


def _with_status(order: Order, status: OrderStatus, at: datetime, **update: object) -> Order:
    since = at if status != order.status else order.status_since
    return order.model_copy(update={"status": status, "status_since": since, **update})


def counter_claims(order: Order, limits: Mapping[str, int]) -> tuple[CounterChange, ...]:
    if not order.buyer_id:
        return ()
    return tuple(
        CounterChange(buyer_id=order.buyer_id, sku=need.sku, delta=need.quantity, limit=limits[need.sku])
        for need in needs_of(order) if need.sku in limits
    )


def reserve_commit(
    before: Order | None,
    after: Order,
    plan: Plan,
    *,
    strategy: LockStrategy,
    expiry: timedelta | None,
    claims: Sequence[CounterChange],
    at: datetime,
) -> OrderCommit:
    previous = after.reservation
    seq = previous.seq + 1 if previous else 1
    paid = is_paid(after)
    reservation = Reservation(
        seq=seq, state=ReservationState.active, strategy=strategy, warehouse=plan.warehouse,
        allocations=plan.allocations,
        purchase_claims=tuple(PurchaseClaim(sku=c.sku, quantity=c.delta) for c in claims),
        reserved_at=at, expires_at=at + expiry if expiry is not None and not paid else None,
    )
    movements = tuple(StockMovement.reserve(a.warehouse or plan.warehouse, a.sku, a.shard, a.quantity)
                      for a in plan.allocations)
    summary = ", ".join(f"{a.sku}×{a.quantity}" + (f" (shard {a.shard})" if a.shard else "")
                        + (f" at {a.warehouse}" if a.warehouse and a.warehouse != plan.warehouse else "")
                        for a in plan.allocations)
    reason = f"{strategy.value}: {summary}"
    holds = tuple(h for h in after.holds if h.reason not in (HoldReason.insufficient_stock,
                                                               HoldReason.purchase_limit_exceeded))
    timeline = _timeline(after, at, "reserved", f"{plan.warehouse}: {reason}")
    if paid and holds:
        # Held for a person, with the buyer's units kept meanwhile: the hold is recorded in the same write.
        timeline = (*timeline, *(TimelineEntry(at=at, hop="processing", event="held", source="ocp",
                                               detail=f"{h.reason.value}: {h.detail} (stock kept)") for h in holds))
    status = (OrderStatus.held if holds else OrderStatus.reserved) if paid else after.status
    order = _with_status(after, status, at, warehouse=plan.warehouse, reservation=reservation, holds=holds,
                         timeline=timeline)
    return OrderCommit(
        order=order, expected_revision=before.revision if before else None, movements=movements,
        ledger=tuple(
            ledger_entry(m, order_entry_id(order.order_id, seq, MovementKind.reserve, m), actor=ACTOR,
                         reason=reason, at=at, order_id=order.order_id)
            for m in movements
        ),
        counters=tuple(claims),
    )


def hold_commit(before: Order | None, after: Order, reason: HoldReason, detail: str, at: datetime) -> OrderCommit:
    holds = (*(h for h in after.holds if h.reason != reason), Hold(reason=reason, detail=detail))
    order = _with_status(after, OrderStatus.held, at, holds=holds,
                         timeline=_timeline(after, at, "held", f"{reason.value}: {detail}"))
    return OrderCommit(order=order, expected_revision=before.revision if before else None)


def lines_changed(before: Order, after: Order) -> bool:
    """Whether `after` needs other units than `before` (a channel edit of quantities, SKUs or lines)."""
    return needs_of(before) != needs_of(after)


def rereserve_commit(
    before: Order,
    after: Order,
    plan: Plan,
    *,
    strategy: LockStrategy,
    expiry: timedelta | None,
    claims: Sequence[CounterChange],
    at: datetime,
) -> OrderCommit:
    """The order's stock moved to its edited lines in one commit: each shard is touched once, by the difference
    between what the new plan and the old reservation hold there (DynamoDB allows one write per item)."""
    old = after.reservation
    if old is None or old.state != ReservationState.active:
        raise ValueError(f"order {after.order_id} holds no stock to move")
    fresh = reserve_commit(before, after, plan, strategy=strategy, expiry=expiry, claims=claims, at=at)
    movements = _net_movements(old, plan)
    reason = "the order's lines changed: its reservation follows them"
    seq = old.seq + 1
    ledger = tuple(ledger_entry(m, order_entry_id(after.order_id, seq, m.kind, m), actor=ACTOR, reason=reason, at=at,
                                order_id=after.order_id) for m in movements)
    return OrderCommit(order=fresh.order, expected_revision=before.revision, movements=movements, ledger=ledger,
                       counters=_net_counters(after.buyer_id, old.purchase_claims, claims))


def _net_movements(old: Reservation, plan: Plan) -> tuple[StockMovement, ...]:
    units: dict[tuple[str, str, int], int] = {}
    for a in old.allocations:
        key = (a.warehouse or old.warehouse, a.sku, a.shard)
        units[key] = units.get(key, 0) - a.quantity
    for a in plan.allocations:
        key = (a.warehouse or plan.warehouse, a.sku, a.shard)
        units[key] = units.get(key, 0) + a.quantity
    return tuple(
        StockMovement.reserve(w, sku, shard, delta) if delta > 0 else StockMovement.release(w, sku, shard, -delta)
        for (w, sku, shard), delta in sorted(units.items()) if delta
    )


def _net_counters(buyer_id: str | None, old: Sequence[PurchaseClaim],
                  new: Sequence[CounterChange]) -> tuple[CounterChange, ...]:
    if not buyer_id:
        return ()
    limits = {c.sku: c.limit for c in new}
    deltas: dict[str, int] = {}
    for claim in old:
        deltas[claim.sku] = deltas.get(claim.sku, 0) - claim.quantity
    for change in new:
        deltas[change.sku] = deltas.get(change.sku, 0) + change.delta
    return tuple(CounterChange(buyer_id=buyer_id, sku=sku, delta=delta, limit=limits.get(sku))
                 for sku, delta in sorted(deltas.items()) if delta)


def waiting_commit(before: Order | None, after: Order, detail: str, at: datetime) -> OrderCommit:
    """An unpaid order whose stock is short: stored unreserved in `pending_payment`, not sent to the held queue
    (nobody can act on it before the buyer pays; payment tries the reservation again)."""
    order = after.model_copy(update={"timeline": _timeline(after, at, "reservation_waiting",
                                                           f"not reserved before payment: {detail}")})
    return OrderCommit(order=order, expected_revision=before.revision if before else None)


def end_commit(
    before: Order,
    after: Order,
    kind: MovementKind,
    *,
    actor: str,
    reason: str,
    at: datetime,
    status: OrderStatus | None = None,
    counted: Mapping[ShardKey, int] | None = None,
    warehouses: Collection[str] | None = None,
) -> OrderCommit:
    """Release (cancel, expiry) or ship the order's active reservation, with the order update, in one commit.
    `counted`: shipped units the last WMS push already took off on_hand (`counted_units`), per shard.
    `warehouses`: a split order's parts that end now (None: all still reserved); the others stay reserved."""
    reservation = after.reservation
    if reservation is None or reservation.state != ReservationState.active:
        raise ValueError(f"order {after.order_id} holds no stock")

    def make(a: StockAllocation) -> StockMovement:
        warehouse = a.warehouse or reservation.warehouse
        if kind == MovementKind.release:
            return StockMovement.release(warehouse, a.sku, a.shard, a.quantity)
        already = (counted or {}).get((warehouse, a.sku, a.shard), 0)
        return StockMovement.ship(warehouse, a.sku, a.shard, a.quantity, already)

    ending = tuple(a for a in reservation.active_allocations()
                   if warehouses is None or (a.warehouse or reservation.warehouse) in warehouses)
    movements = tuple(make(a) for a in ending)
    counters: tuple[CounterChange, ...] = ()
    if kind == MovementKind.release and after.buyer_id:
        counters = _released_claims(after.buyer_id, reservation, ending)
    event = {MovementKind.release: "released", MovementKind.ship: "shipped"}[kind]
    order = _with_status(after, status or after.status, at, reservation=_ended(reservation, kind, ending, at),
                         timeline=_timeline(after, at, event, reason, hop="inventory"))
    return OrderCommit(
        order=order, expected_revision=before.revision, movements=movements,
        ledger=tuple(
            ledger_entry(m, order_entry_id(order.order_id, reservation.seq, kind, m), actor=actor, reason=reason,
                         at=at, order_id=order.order_id)
            for m in movements
        ),
        counters=counters,
    )


def _ended(reservation: Reservation, kind: MovementKind, ending: Sequence[StockAllocation],
           at: datetime) -> Reservation:
    """The reservation once `ending` left or went back: ended as a whole, or (a split order's part, the other
    warehouses' units still reserved) with those parts recorded."""
    state = ReservationState.released if kind == MovementKind.release else ReservationState.shipped
    parts = tuple(dict.fromkeys(a.warehouse or reservation.warehouse for a in ending))
    rest = [a for a in reservation.active_allocations() if (a.warehouse or reservation.warehouse) not in parts]
    ended = tuple(PartEnded(warehouse=w, state=state, at=at) for w in parts)
    if rest:
        claims = reservation.purchase_claims
        if kind == MovementKind.release:  # the released units no longer count against the buyer's limit
            freed = {change.sku: -change.delta for change in _released_claims("", reservation, ending)}
            claims = tuple(c.model_copy(update={"quantity": c.quantity - freed.get(c.sku, 0)}) for c in claims)
            claims = tuple(c for c in claims if c.quantity > 0)
        return reservation.model_copy(update={"parts_ended": (*reservation.parts_ended, *ended),
                                              "purchase_claims": claims})
    if reservation.parts_ended:  # ended part by part: each warehouse's end is on record
        shipped = kind == MovementKind.ship or any(p.state == ReservationState.shipped for p in reservation.parts_ended)
        return reservation.model_copy(update={
            "state": ReservationState.shipped if shipped else state, "ended_at": at,
            "parts_ended": (*reservation.parts_ended, *ended)})
    return reservation.model_copy(update={"state": state, "ended_at": at})


def _released_claims(buyer_id: str, reservation: Reservation,
                     ending: Sequence[StockAllocation]) -> tuple[CounterChange, ...]:
    """A released reservation (or part of one) no longer counts against the buyer's purchase limit."""
    released: dict[str, int] = {}
    for a in ending:
        released[a.sku] = released.get(a.sku, 0) + a.quantity
    return tuple(CounterChange(buyer_id=buyer_id, sku=c.sku, delta=-min(c.quantity, released[c.sku]))
                 for c in reservation.purchase_claims if released.get(c.sku))


def confirm_commit(before: Order, after: Order, at: datetime) -> OrderCommit:
    """Paid while holding stock: the reservation stays, its expiry goes, the order is reserved."""
    reservation = after.reservation
    assert reservation is not None
    order = _with_status(
        after, OrderStatus.reserved, at, reservation=reservation.model_copy(update={"expires_at": None}),
        timeline=_timeline(after, at, "reservation_confirmed",
                           f"paid; stock stays reserved at {reservation.warehouse}"),
    )
    return OrderCommit(order=order, expected_revision=before.revision)


def ships(order: Order) -> bool:
    """The order's units leave with this status: it holds stock and is shipped (or delivered)."""
    return holds_stock(order) and order.status in (OrderStatus.shipped, OrderStatus.delivered)


def status_change_commit(before: Order, after: Order, *, actor: str, at: datetime,
                         counts: Mapping[StockKey, datetime | None] | None = None) -> OrderCommit:
    """The commit for any later status change of a stored order (fulfilment callbacks, operator actions): when
    it ships, its reserved units leave on_hand and reserved together; when it is cancelled, they go back on sale;
    otherwise only the order is written. Either way at `before`'s revision, in one transaction.

    `counts`: each (warehouse, SKU)'s last push count time, as read: units that left by then only give back
    their reservation (the push counted them out already), and the commit holds only while no newer push lands."""
    if after.fulfillment.parcels and holds_stock(after):
        return parcels_commit(before, after, actor=actor, at=at, counts=counts)
    if ships(after):
        change = end_commit(before, after, MovementKind.ship, actor=actor, reason=f"{after.status.value}", at=at,
                            counted=counted_units(after, counts) if counts is not None else None)
        if counts is None:
            return change
        guards = tuple(CountGuard(w, sku, counts.get((w, sku))) for w, sku in stock_keys(after))
        return replace(change, count_guards=guards)
    if holds_stock(after) and after.status == OrderStatus.cancelled:
        return end_commit(before, after, MovementKind.release, actor=actor, reason="cancelled", at=at)
    return OrderCommit(order=after, expected_revision=before.revision)


def leaving_keys(after: Order) -> tuple[StockKey, ...]:
    """The (warehouse, SKU)s whose units leave the warehouse when `after` is stored (whose count times matter)."""
    if after.fulfillment.parcels and holds_stock(after):
        shipping = {w for w, kind in parts_ending(after).items() if kind == MovementKind.ship}
        return tuple(key for key in stock_keys(after) if key[0] in shipping)
    return stock_keys(after) if ships(after) else ()


# ---- split orders: each warehouse's part ends with its parcel ---------------------------------------------------

_PARCEL_ENDS = {ParcelStatus.shipped: MovementKind.ship, ParcelStatus.delivered: MovementKind.ship,
                ParcelStatus.cancelled: MovementKind.release}


def parts_ending(after: Order) -> dict[str, MovementKind]:
    """A split order's warehouses whose reserved units end with `after`: those whose parcel shipped (or arrived)
    leave, those whose warehouse cancelled its parcel go back on sale; all go back when the order is cancelled."""
    reservation = after.reservation
    if reservation is None or reservation.state != ReservationState.active:
        return {}
    active = tuple(dict.fromkeys(a.warehouse or reservation.warehouse for a in reservation.active_allocations()))
    if after.status == OrderStatus.cancelled:
        return dict.fromkeys(active, MovementKind.release)
    ends = {p.warehouse: _PARCEL_ENDS[p.status] for p in after.fulfillment.parcels if p.status in _PARCEL_ENDS}
    return {w: ends[w] for w in active if w in ends}


def parcels_commit(before: Order, after: Order, *, actor: str, at: datetime,
                   counts: Mapping[StockKey, datetime | None] | None = None) -> OrderCommit:
    """A split order's change with the stock of the parcels it ends: only those warehouses' allocations ship or
    go back on sale; the others stay reserved until their own parcel ends."""
    ending = parts_ending(after)
    change = OrderCommit(order=after, expected_revision=before.revision)
    for kind in (MovementKind.ship, MovementKind.release):
        warehouses = [w for w, k in ending.items() if k == kind]
        if not warehouses:
            continue
        reason = f"{'shipped' if kind == MovementKind.ship else 'cancelled'}: {', '.join(warehouses)}"
        counted = counted_units(after, counts) if counts is not None and kind == MovementKind.ship else None
        part = end_commit(before, change.order, kind, actor=actor, reason=reason, at=at, counted=counted,
                          warehouses=warehouses)
        change = replace(part, movements=change.movements + part.movements, ledger=change.ledger + part.ledger,
                         counters=change.counters + part.counters)
    if counts is None:
        return change
    guards = tuple(CountGuard(w, sku, counts.get((w, sku))) for w, sku in leaving_keys(after))
    return replace(change, count_guards=guards)
