"""The kinds of stock movement: a leaf, so the order's stock intent names them without building stock's models."""

from __future__ import annotations

from enum import StrEnum


class MovementKind(StrEnum):
    push = "push"
    """The WMS reported a new absolute on-hand: on_hand and available move by the difference."""
    reserve = "reserve"
    release = "release"
    ship = "ship"
    """Goods left the warehouse: on_hand and reserved drop together; available is unchanged."""
    ship_counted = "ship_counted"
    """Goods left that the last WMS push had already counted: reserved drops by all of them, on_hand only by
    those the count still included (none, usually), so they are not taken off twice."""
    rebalance = "rebalance"
    """Units moved between the shards of one (warehouse, SKU); the sum over shards is unchanged."""
    return_in = "return_in"
    """Returned goods the warehouse received: on_hand and available grow (the grade's bucket for worn or
    unsellable units: `<sku>@second_grade`, `<sku>@defective`)."""
