"""The held queue's pure core: what operators do to a held order, and what the checks run again after.

- `PATCH /orders/{id}` fixes the address, picks a warehouse (routing rules are then skipped for the order) or
  edits the lines within what the buyer paid (`ocp.domain.operations.order_edits`).
- `release` sends the order through the checks, routing and reservation again. The hold reasons it carried are
  *acknowledged*: a person looked at them, so the checks do not raise them again; nor do they raise the reasons
  tied to a field the operator fixed (address → `address_unresolved`, `phone_invalid`; lines →
  `price_abnormal`). Stock and routing (`insufficient_stock`, `purchase_limit_exceeded`, `unroutable`) are
  never acknowledged: the reservation decides them again.
- `cancel` ends the order (its stock, if any, goes back on sale in the same write). An order the warehouse has but
  has not picked (`dispatched`, `accepted`) is not ended here: its warehouse is asked to stop, and its `cancelled`
  callback ends it. Once picked, a cancel is refused: the parcel must be intercepted or become a return.
Every action is one timeline entry (hop `operator`, source `operator`) naming the actor; details never carry
personal data (which fields changed, not their values).

Timed holds (a pre-sale order held until its ship date) carry `until`; the scheduled release drops them when due.
An order held for stock alone is released by OCP itself when stock of a SKU it needs arrives
(`ocp.domain.operations.restock`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ocp.domain.decisions.routing import RouteAction, RoutingDecision, WarehouseFacts, WarehouseKind, is_cross_border
from ocp.domain.errors import DomainError
from ocp.domain.fulfillment.state import StopRequester
from ocp.domain.fulfillment.stops import INTERCEPT_OR_RETURN, PAST_PICK, STOPPABLE, request_stop, stopped_at
from ocp.domain.inventory.stock import spread
from ocp.domain.operations.restock import OrderActionRefused, was_paid
from ocp.domain.order.model import (
    Hold,
    HoldReason,
    Order,
    OrderStatus,
    TimelineEntry,
)

HOP = "operator"
SOURCE = "operator"
RELEASE_BUCKETS = 64
"""The sparse release index is spread over this many partition keys (a pre-sale can hold millions of orders, taken
at 10,000 orders/s: docs/CAPACITY.md). Raising it keeps items written before visible; lowering it would not."""

STOCK_REASONS = frozenset({HoldReason.insufficient_stock, HoldReason.purchase_limit_exceeded, HoldReason.unroutable})
"""Decided again by routing and reservation on every release: a person cannot wave them through."""
CANCELLABLE = frozenset({OrderStatus.held, OrderStatus.pending_payment, OrderStatus.received, OrderStatus.reserved})
"""Not with the warehouse yet (a `reserved` order's dispatch sees the cancellation and stops)."""


class InvalidBulkOrderRequest(DomainError):
    """`POST /orders:bulk` with a body that is not a bulk request (400); `details` lists every problem."""

    code = "invalid_bulk_request"


# ---- timed holds -------------------------------------------------------------------------------------------


def release_bucket(order_id: str) -> str:
    return f"rel#{spread(order_id, RELEASE_BUCKETS)}"


def release_due(order: Order) -> datetime | None:
    """When a held order's earliest timed hold ends (None: not held, or no timed hold)."""
    if order.status != OrderStatus.held:
        return None
    times = [hold.until for hold in order.holds if hold.until is not None]
    return min(times) if times else None


def without_due_holds(order: Order, at: datetime) -> Order | None:
    """The order with its timed holds that ended by `at` removed (and said so on the timeline); None: none did."""
    due = [h for h in order.holds if h.until is not None and h.until <= at]
    if not due:
        return None
    entry = TimelineEntry(at=at, hop="processing", event="hold_ended", source="ocp",
                          detail=", ".join(f"{h.reason.value} (until {h.until:%Y-%m-%dT%H:%M:%SZ})" for h in due))
    return order.model_copy(update={
        "holds": tuple(h for h in order.holds if h not in due), "timeline": (*order.timeline, entry),
    })


# ---- acknowledged holds and the operator's warehouse -------------------------------------------------------


def acknowledgeable(holds: tuple[Hold, ...]) -> tuple[HoldReason, ...]:
    return tuple(dict.fromkeys(h.reason for h in holds if h.reason not in STOCK_REASONS))


def not_acknowledged(holds: tuple[Hold, ...], order: Order) -> tuple[Hold, ...]:
    acknowledged = set(order.operator_overrides.acknowledged)
    return tuple(h for h in holds if h.reason not in acknowledged)


def suits(facts: WarehouseFacts, order: Order) -> str | None:
    """Why `facts` cannot take the order (None: it can). A supplier drop-ships domestic orders only; a warehouse
    must be bonded exactly when the order is cross-border."""
    cross_border = is_cross_border(order)
    if not facts.active:
        return "is not active"
    if facts.kind is WarehouseKind.supplier:
        return "is a supplier, and suppliers drop-ship domestic orders only" if cross_border else None
    if (facts.kind is WarehouseKind.bonded) != cross_border:
        return "is bonded; only cross-border orders ship from it" if not cross_border else (
            "is not bonded; cross-border orders ship only from bonded warehouses")
    return None


def operator_route(order: Order, warehouses: Mapping[str, WarehouseFacts], version: int) -> RoutingDecision | None:
    """The route an operator chose (`operator_overrides.warehouse`); None when none was chosen."""
    chosen = order.operator_overrides.warehouse
    if chosen is None:
        return None
    facts = warehouses.get(chosen)
    problem = "is not a known warehouse" if facts is None else suits(facts, order)
    base: dict[str, Any] = {"rule": None, "version": version}
    if facts is None or problem is not None:
        hold = Hold(reason=HoldReason.unroutable, detail=f"the operator's warehouse {chosen} {problem}")
        return RoutingDecision(action=RouteAction.hold, hold=hold, **base)
    if facts.kind is WarehouseKind.supplier:
        return RoutingDecision(action=RouteAction.supplier, supplier=chosen, **base)
    return RoutingDecision(action=RouteAction.warehouses, candidates=(chosen,), **base)


# ---- operator actions ----------------------------------------------------------------------------------------


def operator_entry(at: datetime, event: str, actor: str, detail: str | None = None) -> TimelineEntry:
    return TimelineEntry(at=at, hop=HOP, event=event, source=SOURCE, actor=actor, detail=detail)


def released(order: Order, actor: str, at: datetime, note: str | None = None) -> Order:
    """A held order sent back through the checks: its holds acknowledged, its status what it was before the hold."""
    if order.status != OrderStatus.held:
        raise OrderActionRefused(f"order {order.order_id} is {order.status.value}, not held: nothing to release",
                                 details={"status": order.status.value})
    overrides = order.operator_overrides
    acknowledged = tuple(dict.fromkeys((*overrides.acknowledged, *acknowledgeable(order.holds))))
    reasons = ", ".join(dict.fromkeys(h.reason.value for h in order.holds)) or "no hold"
    detail = f"released ({reasons})" + (f": {note}" if note else "")
    status = OrderStatus.received if was_paid(order) else OrderStatus.pending_payment
    return order.model_copy(update={
        "status": status, "status_since": at, "holds": (),
        "operator_overrides": overrides.model_copy(update={"acknowledged": acknowledged}),
        "timeline": (*order.timeline, operator_entry(at, "released", actor, detail)),
    })


def resumed(order: Order, at: datetime) -> Order:
    """A held order with no hold left, back in the status it had before it was held (the revision is the
    caller's: the change that removed the last hold counted it)."""
    status = OrderStatus.received if was_paid(order) else OrderStatus.pending_payment
    return order.model_copy(update={"status": status, "status_since": at})


def cancelled(order: Order, actor: str, at: datetime, reason: str | None = None) -> Order:
    if order.status not in CANCELLABLE:
        raise _not_cancellable(order)
    detail = f"{order.status.value} → cancelled" + (f": {reason}" if reason else "")
    return order.model_copy(update={
        "status": OrderStatus.cancelled, "status_since": at, "cancelled_at": order.cancelled_at or at,
        "timeline": (*order.timeline, operator_entry(at, "cancelled", actor, detail)),
    })


def stop_requested(order: Order, actor: str, at: datetime, reason: str | None = None) -> Order | None:
    """An operator's cancel of an order the warehouse has not picked yet: the warehouse is asked to stop (a cancel
    instruction) and the order keeps its status and stock until the warehouse confirms. None: asked already."""
    if order.status not in STOPPABLE:
        raise _not_cancellable(order)
    stopping = request_stop(order, StopRequester.operator, at, actor=actor, reason=reason)
    if stopping is None or stopping.fulfillment.stop is None:
        return None
    detail = (f"{order.status.value}: cancel instruction v{stopping.fulfillment.stop.version} to {stopped_at(order)}"
              + (f": {reason}" if reason else ""))
    return stopping.model_copy(update={
        "timeline": (*stopping.timeline, operator_entry(at, "cancel_requested", actor, detail))})


def _not_cancellable(order: Order) -> OrderActionRefused:
    details: dict[str, Any] = {"status": order.status.value,
                               "cancellable": sorted(s.value for s in CANCELLABLE | STOPPABLE)}
    if order.status in PAST_PICK:
        return OrderActionRefused(f"order {order.order_id} is {order.status.value}: {INTERCEPT_OR_RETURN}",
                                  details={**details, "next_step": "intercept_or_return"})
    return OrderActionRefused(f"order {order.order_id} is {order.status.value}: only orders the warehouse has "
                              "not picked yet can be cancelled", details=details)
