"""What an after-sale does to orders: lines that leave an order before shipment, the order cancelled or stopped, and
the outbound order of an exchange or reship. Each goes through the same paths as any order change, so the stock
books, the warehouse and the timeline follow."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ocp.domain.errors import ConcurrentModification, OrderExists
from ocp.domain.fulfillment.state import Fulfillment
from ocp.domain.order.model import (
    Amounts,
    HoldReason,
    OperatorOverrides,
    Order,
    OrderLine,
    OrderStatus,
    TimelineEntry,
)
from ocp.domain.returns.checks import LINES_REFUNDED, refund_marker

if TYPE_CHECKING:
    from ocp.domain.returns.model import AfterSale
    from ocp.services.inventory.reservation import StockDeps
    from ocp.services.returns.deps import ReturnsDeps

RETURNS_ACTOR = "ocp:returns"
_ATTEMPTS = 5


def cancel_for_refund(order: Order, deps: ReturnsDeps, reason: str) -> Order:
    """The whole order refunded before shipment: cancelled (its stock released), or stopped at the warehouse."""
    if order.status == OrderStatus.cancelled or order.fulfillment.stop is not None:
        return order
    # See `remove_lines`: the held queue's cancel (reservations, warehouse stops) too loads only when an order changes.
    from ocp.services.operations.held_queue import cancel_or_stop

    return cancel_or_stop(_stock(deps), deps.dispatch, order.order_id, RETURNS_ACTOR, reason)


def remove_lines(order: Order, after_sale: AfterSale, deps: ReturnsDeps) -> Order:
    """The refunded units leave the order (a line with none left goes); the reservation follows, as for a channel's
    own edit. A repeat finds the units gone already and changes nothing."""
    # The order path (checks, rules, phone and ID data) loads only when an after-sale changes or places an order, not
    # in every returns function's cold start.
    from ocp.domain.fulfillment.changes import after_channel_update
    from ocp.services.decisions.order_path import merging, place, request_dispatch
    from ocp.services.fulfillment.owed import request_owed

    stock = _stock(deps)
    for _ in range(_ATTEMPTS):
        current = deps.orders.get(order.order_id) or order
        reduced = _without(current, after_sale)
        if reduced is None:
            return current
        now = deps.now()
        stored = place(current, after_channel_update(current, reduced, now), stock, deps.rules)
        if stored is not None:
            request_dispatch(current, stored, deps.dispatch, merge=merging(deps.rules, stock.orders, deps.now))
            request_owed(stored, deps.dispatch)
            return stored
    raise ConcurrentModification(f"order {order.order_id} kept changing while lines left it")


def _without(order: Order, after_sale: AfterSale) -> Order | None:
    marker = refund_marker(after_sale.return_id)
    if any(entry.event == LINES_REFUNDED and entry.detail == marker for entry in order.timeline):
        return None
    leaving = {line.line_id: line.quantity for line in after_sale.lines}
    lines: list[OrderLine] = []
    for line in order.lines:
        gone = leaving.get(line.line_id, 0)
        if gone >= line.quantity:
            continue
        if gone:
            paid = line.paid - line.paid * gone // line.quantity
            line = line.model_copy(update={"quantity": line.quantity - gone, "paid": paid,
                                           "discount": line.discount - line.discount * gone // line.quantity})
        lines.append(line)
    if not lines:
        return None
    paid = sum(line.paid for line in lines) + order.amounts.shipping
    items = sum(line.unit_price * line.quantity for line in lines)
    amounts = order.amounts.model_copy(update={"paid": paid, "items": items})
    entry = TimelineEntry(at=after_sale.updated_at, hop="returns", event=LINES_REFUNDED, source="ocp",
                          detail=marker, actor=RETURNS_ACTOR)
    return order.model_copy(update={"lines": tuple(lines), "amounts": amounts,
                                    "timeline": (*order.timeline, entry)})


def place_replacement(order: Order, after_sale: AfterSale, deps: ReturnsDeps) -> Order:
    """The exchange's or reship's outbound order: the after-sale's lines at no charge, to the original address,
    decided, reserved and handed to the dispatcher like any order (a repeat answers the one placed)."""
    from ocp.domain.order.ingest import first_capture  # see `remove_lines`
    from ocp.services.decisions.order_path import place, request_dispatch

    replacement_id = f"{after_sale.return_id}-out"
    existing = deps.orders.get(replacement_id)
    if existing is not None:
        return existing
    now = deps.now()
    lines = tuple(OrderLine(line_id=f"{line.line_id}-r", sku=line.sku, quantity=line.quantity, unit_price=0, paid=0,
                            title=f"{after_sale.kind.value} of line {line.line_id}") for line in after_sale.lines)
    outbound = order.model_copy(update={
        "order_id": replacement_id, "channel_order_id": f"{order.channel_order_id}/{after_sale.return_id}",
        "channel_order_name": None, "status": OrderStatus.received, "status_since": now, "created_at": now,
        "paid_at": now, "cancelled_at": None, "channel_updated_at": now, "lines": lines,
        "amounts": Amounts(items=0, discount=0, shipping=0, paid=0), "reservation": None, "reservation_intent": None,
        "rules_applied": None, "holds": (), "warehouse": None, "fulfillment": Fulfillment(),
        "writeback_pending_since": None, "aftersale_of": after_sale.return_id, "timeline": (), "revision": 0,
        "tags": (*order.tags, f"aftersale:{after_sale.kind.value}"),
        # Free and the same buyer, address and items as its original by design: not a price or duplicate anomaly.
        "operator_overrides": OperatorOverrides(acknowledged=(HoldReason.duplicate_suspect, HoldReason.price_abnormal)),
    })
    try:
        stored = place(None, first_capture(outbound, now, now), _stock(deps), deps.rules)
    except OrderExists:
        stored = deps.orders.get(replacement_id)
    if stored is None:
        stored = deps.orders.get(replacement_id)
        if stored is None:
            raise ConcurrentModification(f"replacement order {replacement_id} could not be stored; will retry")
        return stored
    request_dispatch(None, stored, deps.dispatch, merge=None)
    return stored


def _stock(deps: ReturnsDeps) -> StockDeps:
    if deps.stock is None:
        raise RuntimeError("the returns workflow needs the stock books to change orders (composition)")
    return deps.stock
