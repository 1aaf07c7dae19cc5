"""Splitting an order across its candidate warehouses (routing `"split": true`), planned from what the shards hold."""

from __future__ import annotations

from ocp.domain.inventory.planning import Need
from ocp.domain.inventory.split import split_plan


def test_each_sku_comes_whole_from_the_first_candidate_that_holds_it_all() -> None:
    # Given tea only at WH-SH, cups at both
    availability = {("WH-GZ", "CUP-1"): {0: 5}, ("WH-SH", "CUP-1"): {0: 5}, ("WH-SH", "TEA-1"): {0: 2, 1: 1}}
    # When two teas and a cup are planned over WH-GZ then WH-SH
    plan = split_plan([Need("CUP-1", 1), Need("TEA-1", 3)], ["WH-GZ", "WH-SH"], availability)
    # Then the cup comes from WH-GZ, the tea from WH-SH's shards, and WH-GZ is the primary warehouse
    assert plan is not None and plan.warehouse == "WH-GZ"
    assert [(a.warehouse, a.sku, a.shard, a.quantity) for a in plan.allocations] == [
        ("WH-GZ", "CUP-1", 0, 1), ("WH-SH", "TEA-1", 0, 2), ("WH-SH", "TEA-1", 1, 1)]


def test_a_sku_no_candidate_holds_whole_is_spread_in_candidate_order_and_too_little_is_none() -> None:
    # Given three units at WH-GZ and two at WH-SH
    availability = {("WH-GZ", "TEA-1"): {0: 3}, ("WH-SH", "TEA-1"): {0: 2, 1: -1}}
    # When four and then six are planned
    four = split_plan([Need("TEA-1", 4)], ["WH-GZ", "WH-SH"], availability)
    six = split_plan([Need("TEA-1", 6)], ["WH-GZ", "WH-SH"], availability)
    # Then four take WH-GZ's three and one of WH-SH's; six cannot be had
    assert four is not None
    assert [(a.warehouse, a.quantity) for a in four.allocations] == [("WH-GZ", 3), ("WH-SH", 1)]
    assert six is None
