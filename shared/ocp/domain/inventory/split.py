"""Splitting an order across warehouses when no single candidate can take it whole (routing `"split": true`).

Only reached after every candidate failed to take the whole order. By then the unhappy path has read what each
candidate's shards hold (one read per warehouse and SKU); this plans from those numbers: each SKU whole from the
first candidate that holds all of it, else spread over the candidates in their order. The plan is still a guess
that the transaction's conditions check — a failed one is read again and planned again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ocp.domain.inventory.planning import Need, Plan
from ocp.domain.inventory.reservation import StockAllocation

Availability = Mapping[tuple[str, str], Mapping[int, int]]
"""(warehouse, SKU) → shard → available."""


def split_plan(needs: Sequence[Need], candidates: Sequence[str], availability: Availability) -> Plan | None:
    """Allocations over several warehouses (each allocation names its warehouse), the first candidate used being
    the plan's (primary) warehouse; None when the candidates together hold too little of some SKU."""
    allocations: list[StockAllocation] = []
    for need in needs:
        def total(warehouse: str, sku: str = need.sku) -> int:
            return sum(max(0, v) for v in availability.get((warehouse, sku), {}).values())

        whole = next((w for w in candidates if total(w) >= need.quantity), None)
        remaining = need.quantity
        for warehouse in [whole] if whole is not None else candidates:
            shards = availability.get((warehouse, need.sku), {})
            for shard, available in sorted(shards.items(), key=lambda item: (-item[1], item[0])):
                take = min(remaining, max(0, available))
                if take:
                    allocations.append(StockAllocation(sku=need.sku, shard=shard, quantity=take, warehouse=warehouse))
                    remaining -= take
                if not remaining:
                    break
            if not remaining:
                break
        if remaining:
            return None
    used = {a.warehouse for a in allocations}
    primary = next(w for w in candidates if w in used)
    return Plan(primary, tuple(allocations))
