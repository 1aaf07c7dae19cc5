"""The routing decision: which warehouses may take an order, in order — before any stock is touched.

    decision = decide_route(order, routing_rules, warehouses=registry, catalog=catalog)

The winning rule (lowest priority number that holds) gives ordered candidates, a supplier, or a hold. This
module applies the platform's own constraints to them: a warehouse suits an order when it is active, not a
supplier, and bonded exactly when the order is cross-border (bonded stock has not cleared customs); `"*"`
expands to every other suitable warehouse, in id order; named warehouses that are unknown or do not suit are
dropped and reported. A supplier drop-ships only domestic orders. No rule, or no suitable warehouse, holds
the order as `unroutable`. Reserving stock on the candidates (the first that can take
the whole order; split across them when the rule allows) is the caller's step, and with no stock anywhere it
holds the order as `insufficient_stock`.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import TYPE_CHECKING, Any, NamedTuple

from pydantic import ConfigDict

from ocp.base_model import OcpModel
from ocp.domain.order.model import Hold, HoldReason, Order

if TYPE_CHECKING:  # signatures only: the held queue uses this module's types without the rule language
    from ocp.domain.decisions.rules.documents.routing import RoutingThen
    from ocp.domain.decisions.rules.engine import RuleSet
    from ocp.domain.decisions.rules.paths import Facts
    from ocp.domain.operations.catalog import CatalogItem

ANY_WAREHOUSE = "*"
"""In a routing rule's `warehouses`, last: then every other suitable warehouse, in id order."""


class WarehouseKind(StrEnum):
    own = "own"
    bonded = "bonded"
    supplier = "supplier"


class WarehouseFacts(NamedTuple):
    """What routing needs to know about a warehouse (the warehouses registry supplies it)."""

    id: str
    kind: WarehouseKind
    active: bool = True


class RouteAction(StrEnum):
    warehouses = "warehouses"
    supplier = "supplier"
    hold = "hold"


class RoutingDecision(OcpModel):
    model_config = ConfigDict(frozen=True)

    action: RouteAction
    rule: str | None
    """The rule that decided, or None when none matched."""
    version: int
    """The routing document version that decided (orders record it)."""
    candidates: tuple[str, ...] = ()
    """Warehouses to try, in order (action `warehouses`)."""
    split: bool = False
    supplier: str | None = None
    hold: Hold | None = None
    dropped: tuple[str, ...] = ()
    """Warehouses the rule named that are unknown, inactive, or do not suit the order."""


def is_cross_border(order: Order) -> bool:
    return order.cross_border is not None


def _suits(facts: WarehouseFacts, cross_border: bool) -> bool:
    """Active, not a supplier, and bonded exactly when the order is cross-border (bonded stock has not cleared
    customs: it may only leave as a cross-border parcel)."""
    if not facts.active or facts.kind is WarehouseKind.supplier:
        return False
    return (facts.kind is WarehouseKind.bonded) == cross_border


def decide_route(
    order: Order,
    rules: RuleSet[RoutingThen],
    *,
    warehouses: Mapping[str, WarehouseFacts],
    catalog: Mapping[str, CatalogItem] | None = None,
    facts: Facts | None = None,
) -> RoutingDecision:
    """`facts`: the order's shared `Facts`, when the caller has one."""
    if facts is None:  # only callers without the decision's shared facts (tests, tools) build them here
        from ocp.domain.decisions.rules.paths import Facts

        facts = Facts(order, catalog or {})
    rule = rules.first(facts)
    return route_for(order, rule.id if rule else None, rule.then if rule else None, rules.version, warehouses)


def route_for(
    order: Order,
    rule_id: str | None,
    then: RoutingThen | None,
    version: int,
    warehouses: Mapping[str, WarehouseFacts],
) -> RoutingDecision:
    """The decision for a rule's `then` (None: no rule matched); `decide_route` and the dry run share it."""
    base: dict[str, Any] = {"rule": rule_id, "version": version}
    if then is None:
        return _held(base, f"no routing rule matched (routing v{version})")
    if then.hold is not None:
        return RoutingDecision(action=RouteAction.hold, hold=Hold(reason=then.hold, detail=f"routing rule {rule_id!r}"),
                               **base)
    cross_border = is_cross_border(order)
    if then.supplier is not None:
        known = warehouses.get(then.supplier)
        if cross_border:
            return _held(base, f"rule {rule_id!r} drop-ships, but cross-border orders ship only from bonded warehouses")
        if known is None or known.kind is not WarehouseKind.supplier or not known.active:
            return _held(base, f"rule {rule_id!r} names supplier {then.supplier!r}, which is not an active supplier")
        return RoutingDecision(action=RouteAction.supplier, supplier=then.supplier, **base)
    candidates: list[str] = []
    dropped: list[str] = []
    for warehouse in then.warehouses or ():
        if warehouse == ANY_WAREHOUSE:
            candidates += sorted(w for w, f in warehouses.items() if w not in candidates and _suits(f, cross_border))
            continue
        known = warehouses.get(warehouse)
        if known is not None and _suits(known, cross_border):
            candidates.append(warehouse)
        else:
            dropped.append(warehouse)
    if not candidates:
        why = "no active bonded warehouse (cross-border)" if cross_border else "no active own warehouse"
        return _held(base, f"rule {rule_id!r} lists no warehouse that can take this order: {why}",
                     dropped=tuple(dropped))
    return RoutingDecision(action=RouteAction.warehouses, candidates=tuple(candidates), split=then.split,
                           dropped=tuple(dropped), **base)


def _held(base: dict[str, Any], detail: str, dropped: tuple[str, ...] = ()) -> RoutingDecision:
    return RoutingDecision(action=RouteAction.hold, hold=Hold(reason=HoldReason.unroutable, detail=detail),
                           dropped=dropped, **base)
