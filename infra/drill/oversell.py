"""Oversold units, from what the orders commit against what the WMS pushed — never from the stock counters.

An order commits a unit when its reservation (active, or shipped) allocates it at a warehouse, or when it is on
its way out of a warehouse (dispatched or later) without such a reservation: a unit shipped unreserved is a unit
the counters never saw. Per warehouse and SKU, whatever the orders commit beyond the units pushed is oversold.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

StockKey = tuple[str, str]
"""(warehouse, sku)"""

_HOLDING = frozenset({"active", "shipped"})
_LEAVING = frozenset({"dispatched", "accepted", "picked", "packed", "shipped", "delivered"})


def committed_units(orders: Iterable[Mapping[str, Any]]) -> Counter[StockKey]:
    """Units each (warehouse, sku) owes to orders, each order counted once (by `order_id`)."""
    owed: Counter[StockKey] = Counter()
    seen: set[str] = set()
    for order in orders:
        order_id = str(order.get("order_id"))
        if order_id in seen:
            continue
        seen.add(order_id)
        owed.update(_order_units(order))
    return owed


def _order_units(order: Mapping[str, Any]) -> Counter[StockKey]:
    units: Counter[StockKey] = Counter()
    reservation = order.get("reservation") or {}
    if reservation.get("state") in _HOLDING:
        home = str(reservation.get("warehouse"))
        for allocation in reservation.get("allocations") or []:
            units[(str(allocation.get("warehouse") or home), str(allocation["sku"]))] += int(allocation["quantity"])
    elif order.get("status") in _LEAVING:
        warehouse = str(order.get("warehouse"))
        for line in order.get("lines") or []:
            units[(warehouse, str(line["sku"]))] += int(line["quantity"])
    return units


def oversold(orders: Iterable[Mapping[str, Any]], pushed: Mapping[StockKey, int]) -> dict[StockKey, int]:
    """Per (warehouse, sku), the units orders commit beyond what was pushed there (only those above zero)."""
    owed = committed_units(orders)
    return {key: units - pushed.get(key, 0) for key, units in sorted(owed.items()) if units > pushed.get(key, 0)}
