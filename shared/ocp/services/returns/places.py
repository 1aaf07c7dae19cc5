"""Where returned goods go: the warehouse the order shipped from, at the address it registered for returns."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ocp.domain.returns.addresses import ReturnAddress

if TYPE_CHECKING:
    from ocp.domain.order.model import Order
    from ocp.services.returns.deps import ReturnsDeps


def receiving_warehouse(order: Order) -> str | None:
    """The order's warehouse: the one it shipped from (a split order's first parcel's)."""
    if order.warehouse:
        return order.warehouse
    if order.reservation is not None:
        return order.reservation.warehouse
    parcels = order.fulfillment.parcels
    return parcels[0].warehouse if parcels else None


def return_address(order: Order, deps: ReturnsDeps) -> ReturnAddress:
    """The warehouse's registered return address (`PUT /warehouses/{id}` `return_address`); without one, the
    warehouse named as the receiver so the channel or carrier call says what is missing."""
    warehouse_id = receiving_warehouse(order) or "unknown"
    warehouse = deps.warehouses.get(warehouse_id) if deps.warehouses is not None else None
    if warehouse is not None and warehouse.return_address is not None:
        return warehouse.return_address.for_channel(order.channel.value)
    name = warehouse.name if warehouse is not None and warehouse.name else warehouse_id
    return ReturnAddress(name=name, phone="", province="", city="", district="",
                         detail=f"{name} returns desk (no return address registered for {warehouse_id})")
