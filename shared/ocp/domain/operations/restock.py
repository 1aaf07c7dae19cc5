"""An order held for stock alone, released by OCP itself when stock of a SKU it needs arrives (pure). Apart from
the held queue's operator actions (`ocp.domain.operations.held_queue`), so `stock_events` loads neither the
operators' edits nor routing."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ocp.domain.errors import DomainError
from ocp.domain.order.model import HoldReason, OrderStatus, TimelineEntry

if TYPE_CHECKING:
    from datetime import datetime

    from ocp.domain.order.model import Order

RESTOCK_ACTOR = "ocp"
"""Who releases an order held for stock when stock arrives."""


class OrderActionRefused(DomainError):
    """The action does not apply to the order in its status (409)."""

    code = "order_action_refused"


def was_paid(order: Order) -> bool:
    """Paid (or cash on delivery), whatever the status says now (`held` hides it)."""
    return order.paid_at is not None or order.cash_on_delivery or any(
        e.event == "paid" and e.hop == "ingest" for e in order.timeline)


def waits_only_for_stock(order: Order) -> bool:
    """Held for `insufficient_stock` and nothing else: stock arriving is all it waits for."""
    return order.status == OrderStatus.held and bool(order.holds) and all(
        h.reason == HoldReason.insufficient_stock for h in order.holds)


def restocked(order: Order, sku: str, at: datetime) -> Order:
    """An order held for stock alone, sent back through the checks and reservation because stock of `sku`
    arrived: like `released`, but by OCP (actor and source `ocp`), and acknowledging nothing (no person looked)."""
    if not waits_only_for_stock(order):
        raise OrderActionRefused(f"order {order.order_id} is not held for stock alone",
                                 details={"status": order.status.value})
    entry = TimelineEntry(at=at, hop="inventory", event="released", source=RESTOCK_ACTOR, actor=RESTOCK_ACTOR,
                          detail=f"released automatically: stock arrived for {sku}")
    status = OrderStatus.received if was_paid(order) else OrderStatus.pending_payment
    return order.model_copy(update={"status": status, "status_since": at, "holds": (),
                                    "timeline": (*order.timeline, entry)})
