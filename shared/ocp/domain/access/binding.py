"""A warehouse's principal acts only for its warehouse."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from ocp.domain.access.scopes import EVERY_WAREHOUSE, WMS_PREFIX, Forbidden

if TYPE_CHECKING:
    from ocp.domain.order.model import Order

UNBOUND_SCOPES = ("operator",)
"""Scopes that act for any warehouse (an operator correcting stock, booking a receipt by hand)."""


def bound_warehouses(scopes: Iterable[str]) -> frozenset[str] | None:
    """The warehouses a caller may act for; None when it is not bound (operator, `wms:*`, or no warehouse scope:
    whether it may call the route at all is the authorizer's answer, this only narrows warehouse principals)."""
    held = list(scopes)
    warehouses = frozenset(s[len(WMS_PREFIX):] for s in held if s.startswith(WMS_PREFIX))
    if not warehouses or EVERY_WAREHOUSE in held or any(s in UNBOUND_SCOPES for s in held):
        return None
    return warehouses


def require_warehouse(principal: str, scopes: Iterable[str], warehouse: str | None, what: str,
                      **details: object) -> None:
    """Refuse (403) unless the caller may act for `warehouse`; None (an order not dispatched anywhere) is refused
    to a bound caller too: it has nothing to report there."""
    allowed = bound_warehouses(scopes)
    if allowed is None or (warehouse is not None and warehouse in allowed):
        return
    raise Forbidden(
        f"principal {principal!r} acts for {', '.join(sorted(allowed)) or 'no warehouse'}; {what}",
        details={"warehouse": warehouse, "principal": principal, "may_act_for": sorted(allowed), **details},
    )


def dispatched_to(order: Order, named: str | None = None, tracking_no: str | None = None) -> str | None:
    """The warehouse a callback about `order` speaks for: a split order's parcel the callback names, or else the one
    that shipped `tracking_no` (a carrier's `delivered` need not name it; None when neither finds one parcel), else
    the warehouse the order was dispatched to."""
    parcels = {parcel.warehouse for parcel in order.fulfillment.parcels}
    if not parcels:
        return order.warehouse
    if named is None and tracking_no is not None:
        shipped = {s.warehouse for s in order.fulfillment.shipments if s.tracking_no == tracking_no}
        named = shipped.pop() if len(shipped) == 1 else None
    return named if named in parcels else None


def callback_binding(principal: str, scopes: Iterable[str], named: str | None,
                     tracking_no: str | None) -> Callable[[Order], None] | None:
    """The check every order a callback moves must pass (it raises `Forbidden`); None for a caller bound to no
    warehouse. `named` and `tracking_no` are the callback's parcel warehouse and, for a `delivered`, its tracking
    number (see `dispatched_to`)."""
    held = tuple(scopes)
    if bound_warehouses(held) is None:
        return None

    def may_act_for(order: Order) -> None:
        warehouse = dispatched_to(order, named, tracking_no)
        require_warehouse(principal, held, warehouse,
                          f"order {order.order_id} is dispatched to {warehouse or 'no warehouse'}",
                          order_id=order.order_id)

    return may_act_for


def receipt_binding(principal: str, scopes: Iterable[str],
                    return_id: str) -> Callable[[str, str | None], None] | None:
    """The check of a return receipt (it raises `Forbidden`): a warehouse's principal books only returns due back at
    its warehouse (where the order shipped from), and only there; None for a caller bound to no warehouse."""
    held = tuple(scopes)
    if bound_warehouses(held) is None:
        return None

    def may_receive(warehouse: str, due: str | None) -> None:
        # The return's own warehouse first: the caller chooses `warehouse`, not where the goods are due.
        require_warehouse(principal, held, due, f"return {return_id} is due back at {due or 'no warehouse'}",
                          return_id=return_id)
        require_warehouse(principal, held, warehouse, f"it may not book a receipt at {warehouse}",
                          return_id=return_id)

    return may_receive
