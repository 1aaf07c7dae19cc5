"""The held queue: fix held orders, release or cancel them, one or many at a time. Listing them by reason is
`ocp.services.operations.order_pages`; releasing pre-sale orders when their ship date comes, `presale`.

Every action reads the order, changes it (`ocp.domain.operations.held_queue`) and writes it with its stock effects in
one transaction at the revision it read (an `If-Match` revision makes a stale edit a 409 instead of a retry):
- PATCH: an edit of the lines or the warehouse of an order that holds stock releases that stock in the same write
  (it is reserved again, for the edited order, on release); an address fix keeps it.
- release: the order goes through the checks, gifts, routing and reservation again (`place`), the holds it had
  acknowledged; it ends reserved (and is handed to the dispatcher) or held again with the new reasons.
- cancel: stock it holds goes back on sale in the same write. An order the warehouse has but has not picked is
  asked to stop instead (the dispatcher sends the cancel instruction at once); its `cancelled` callback ends it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, NamedTuple

from pydantic import Field, ValidationError

from ocp.base_model import OcpModel
from ocp.domain.errors import ConcurrentModification, OrderNotFound
from ocp.domain.fulfillment.stops import STOPPABLE
from ocp.domain.inventory.commit import OrderCommit
from ocp.domain.inventory.planning import end_commit, holds_stock, status_change_commit
from ocp.domain.inventory.stock import MovementKind
from ocp.domain.operations.held_queue import (
    InvalidBulkOrderRequest,
    OrderActionRefused,
    cancelled,
    released,
    stop_requested,
)
from ocp.domain.operations.order_edits import InvalidOrderEdit, edited, parse_patch
from ocp.domain.order.model import Hold, Order, OrderStatus
from ocp.domain.problems import problems_from
from ocp.services.access.attribution import StampingOrders, stamp_commit, stamp_order
from ocp.services.fulfillment.owed import request_owed
from ocp.services.inventory.reservation import StockDeps, commit_order
from ocp.services.order.updates import WRITE_ATTEMPTS

if TYPE_CHECKING:
    from ocp.ports import DispatchQueue, HeldQueueQueries, OrderStore, TransactionalOrderStore
    from ocp.services.decisions.order_path import RulesDeps

MAX_BULK = 100


class HeldQueueDeps(NamedTuple):
    orders: TransactionalOrderStore
    queries: HeldQueueQueries
    stock: StockDeps
    rules: RulesDeps
    now: Callable[[], datetime]
    dispatch: DispatchQueue | None = None


# ---- one order ---------------------------------------------------------------------------------------------------


def patch_order(deps: HeldQueueDeps, order_id: str, body: Any, actor: str,
                expected_revision: int | None = None) -> Order:
    """Fix a held order's address, warehouse or lines (`InvalidOrderEdit` lists every problem)."""
    patch = parse_patch(body)

    def change(current: Order, now: datetime) -> OrderCommit:
        after = edited(current, patch, deps.rules.warehouses.facts(), actor, now)
        reservation = current.reservation
        moved = patch.warehouse is not None and reservation is not None and patch.warehouse != reservation.warehouse
        if holds_stock(current) and (patch.lines is not None or moved):
            return end_commit(current, after, MovementKind.release, actor=actor, at=now,
                              reason="edited by an operator; reserved again on release")
        return OrderCommit(order=after, expected_revision=current.revision)

    return _write(deps, order_id, change, expected_revision)


def release_order(deps: HeldQueueDeps, order_id: str, actor: str, note: str | None = None,
                  expected_revision: int | None = None) -> Order:
    """Send a held order through the checks, routing and reservation again; it ends reserved or held anew."""
    # The order path (checks, rules, phone and ID data) is imported here, not at import: the handlers that list
    # the queue (operator_api) never release an order and should not load it.
    from ocp.services.decisions.order_path import merging, place, request_dispatch

    for _ in range(WRITE_ATTEMPTS):
        current = _get(deps.orders, order_id, expected_revision)
        # The order path knows nothing of principals: its writes carry the caller's through the store.
        stock = deps.stock._replace(orders=StampingOrders(deps.stock.orders, current))
        placed = place(current, released(current, actor, deps.now(), note), stock, deps.rules)
        if placed is not None:
            stored = stamp_order(current, placed)  # `place` answers the order it built, before the store stamped it
            request_dispatch(current, stored, deps.dispatch, actor=actor,
                             merge=merging(deps.rules, deps.orders, deps.now))
            return stored
        if expected_revision is not None:
            break
    raise ConcurrentModification(f"order {order_id} changed meanwhile; read it again and retry")


def cancel_order(deps: HeldQueueDeps, order_id: str, actor: str, reason: str | None = None,
                 expected_revision: int | None = None) -> Order:
    """Cancel an order that is not with the warehouse yet; stock it holds goes back on sale in the same write.
    One the warehouse has not picked yet keeps its status: the warehouse is asked to stop, once however often an
    operator asks (the answer is the order with `fulfillment.stop`)."""
    return cancel_or_stop(deps.stock, deps.dispatch, order_id, actor, reason, expected_revision)


def cancel_or_stop(stock: StockDeps, dispatch: DispatchQueue | None, order_id: str, actor: str,
                   reason: str | None = None, expected_revision: int | None = None) -> Order:
    """`cancel_order` for any caller with the stock books (an after-sale's refund before shipment, too)."""

    def change(current: Order, now: datetime) -> OrderCommit | None:
        if current.status in STOPPABLE:
            stopping = stop_requested(current, actor, now, reason)
            return None if stopping is None else OrderCommit(order=stopping, expected_revision=current.revision)
        return status_change_commit(current, cancelled(current, actor, now, reason), actor=actor, at=now)

    stored = _commit_change(stock, order_id, change, expected_revision)
    request_owed(stored, dispatch, actor=actor)
    return stored


def _write(deps: HeldQueueDeps, order_id: str, change: Callable[[Order, datetime], OrderCommit | None],
           expected_revision: int | None) -> Order:
    return _commit_change(deps.stock, order_id, change, expected_revision)


def _commit_change(stock: StockDeps, order_id: str, change: Callable[[Order, datetime], OrderCommit | None],
                   expected_revision: int | None) -> Order:
    """Commit `change` of the order at the revision read; a change of None (nothing to do) answers the order."""
    for _ in range(WRITE_ATTEMPTS):
        current = _get(stock.orders, order_id, expected_revision)
        commit = change(current, stock.now())
        if commit is None:
            return current
        stored = commit_order(stock, stamp_commit(current, commit))  # the caller's principal on what it adds
        if stored is not None:
            return stored
        if expected_revision is not None:
            break
    raise ConcurrentModification(f"order {order_id} changed meanwhile; read it again and retry")


def _get(orders: OrderStore, order_id: str, expected_revision: int | None) -> Order:
    current = orders.get(order_id)
    if current is None:
        raise OrderNotFound(f"no order {order_id!r}")
    if expected_revision is not None and current.revision != expected_revision:
        raise ConcurrentModification(f"order {order_id} is at revision {current.revision}, not {expected_revision}",
                                     details={"revision": current.revision})
    return current


# ---- many orders -------------------------------------------------------------------------------------------------


class BulkAction(StrEnum):
    release = "release"
    cancel = "cancel"
    set_warehouse = "set_warehouse"
    """PATCH each order's warehouse (then release them)."""


class BulkRequest(OcpModel):
    """`POST /orders:bulk`."""

    action: BulkAction
    order_ids: list[str] = Field(min_length=1, max_length=MAX_BULK)
    warehouse: str | None = Field(default=None, min_length=1, max_length=64, description="For set_warehouse")
    note: str | None = Field(default=None, max_length=300, description="On each order's timeline")


class BulkOutcome(StrEnum):
    done = "done"
    held = "held"
    """Released, and held again by the checks or the reservation (see `holds`)."""
    refused = "refused"
    not_found = "not_found"
    conflict = "conflict"
    stop_requested = "stop_requested"
    """Cancel of an order the warehouse has: it was asked to stop; the order ends when the warehouse confirms."""


class BulkItem(OcpModel):
    order_id: str
    outcome: BulkOutcome
    status: OrderStatus | None = None
    holds: list[Hold] = []
    error: dict[str, Any] | None = None
    """`{"code", "message", "details"?}` for refused and conflict."""


class BulkAnswer(OcpModel):
    action: BulkAction
    counts: dict[str, int]
    results: list[BulkItem]


def parse_bulk(body: Any) -> BulkRequest:
    try:
        request = BulkRequest.model_validate(body)
    except ValidationError as exc:
        raise InvalidBulkOrderRequest("the bulk request is not valid",
                                      details=[p.as_dict() for p in problems_from(exc)]) from None
    if request.action == BulkAction.set_warehouse and request.warehouse is None:
        raise InvalidBulkOrderRequest("set_warehouse needs the warehouse",
                                      details=[{"path": "warehouse", "problem": "required for set_warehouse"}])
    return request


def bulk(deps: HeldQueueDeps, body: Any, actor: str) -> BulkAnswer:
    """Apply one action to many orders, each on its own: one order's refusal never stops the others."""
    request = parse_bulk(body)
    results = [_one(deps, request, order_id, actor) for order_id in dict.fromkeys(request.order_ids)]
    counts = {outcome.value: sum(1 for r in results if r.outcome == outcome) for outcome in BulkOutcome}
    return BulkAnswer(action=request.action, counts={k: v for k, v in counts.items() if v}, results=results)


def _one(deps: HeldQueueDeps, request: BulkRequest, order_id: str, actor: str) -> BulkItem:
    try:
        if request.action == BulkAction.release:
            order = release_order(deps, order_id, actor, request.note)
        elif request.action == BulkAction.cancel:
            order = cancel_order(deps, order_id, actor, request.note)
        else:
            order = patch_order(deps, order_id, {"warehouse": request.warehouse, "note": request.note}, actor)
    except OrderNotFound:
        return BulkItem(order_id=order_id, outcome=BulkOutcome.not_found)
    except (OrderActionRefused, InvalidOrderEdit, ConcurrentModification) as exc:
        outcome = BulkOutcome.conflict if isinstance(exc, ConcurrentModification) else BulkOutcome.refused
        error = {"code": exc.code, "message": exc.message, **({"details": exc.details} if exc.details else {})}
        return BulkItem(order_id=order_id, outcome=outcome, error=error)
    return BulkItem(order_id=order_id, outcome=_outcome(request.action, order), status=order.status,
                    holds=list(order.holds))


def _outcome(action: BulkAction, order: Order) -> BulkOutcome:
    if action == BulkAction.release and order.status == OrderStatus.held:
        return BulkOutcome.held
    if action == BulkAction.cancel and order.status != OrderStatus.cancelled:
        return BulkOutcome.stop_requested
    return BulkOutcome.done
