"""The routing decision: the winning rule's candidates, bonded-only for cross-border, suppliers, holds."""

from __future__ import annotations

from typing import Any

from ocp.domain.decisions.routing import RouteAction, WarehouseFacts, WarehouseKind, decide_route
from ocp.domain.decisions.rules import compile_document, default_ruleset
from ocp.domain.order.model import HoldReason
from tests.rules_support import catalog_item, line, make_order

REGISTRY = {
    "WH-GZ": WarehouseFacts("WH-GZ", WarehouseKind.own),
    "WH-SH": WarehouseFacts("WH-SH", WarehouseKind.own),
    "WH-BJ": WarehouseFacts("WH-BJ", WarehouseKind.own, active=False),
    "BW-HZ": WarehouseFacts("BW-HZ", WarehouseKind.bonded),
    "BW-NB": WarehouseFacts("BW-NB", WarehouseKind.bonded),
    "SUP-TEA": WarehouseFacts("SUP-TEA", WarehouseKind.supplier),
}
CROSS_BORDER = {"kind": "bonded", "id_card_name": "张三", "id_card_no": "440106199003071231"}


def routing(*rules: dict[str, Any]) -> Any:
    return compile_document("routing", {"rules": list(rules)}, version=5)


def rule(rule_id: str, priority: int, when: dict[str, Any], then: dict[str, Any]) -> dict[str, Any]:
    return {"id": rule_id, "priority": priority, "when": when, "then": then}


def test_the_default_document_sends_a_domestic_order_to_every_active_own_warehouse() -> None:
    # Given the routing document that ships with OCP
    decision = decide_route(make_order(), default_ruleset("routing"), warehouses=REGISTRY)

    # Then the candidates are the active own warehouses (no bonded, supplier or inactive one), version 0
    assert decision.action is RouteAction.warehouses
    assert decision.candidates == ("WH-GZ", "WH-SH")
    assert (decision.rule, decision.version, decision.split) == ("default", 0, False)


def test_the_winning_rule_orders_the_candidates_and_star_adds_the_rest() -> None:
    # Given a south-China rule preferring GZ then anything else, with split allowed
    rules = routing(
        rule("south", 10, {"field": "address.province", "in": ["广东省", "海南省"]},
             {"warehouses": ["WH-GZ", "*"], "split": True}),
        rule("default", 100, {"always": True}, {"warehouses": ["WH-SH"]}),
    )

    # When a Guangdong order is routed
    decision = decide_route(make_order(), rules, warehouses=REGISTRY)

    # Then GZ comes first, then the other own warehouses, and split is carried
    assert decision.candidates == ("WH-GZ", "WH-SH")
    assert (decision.rule, decision.version, decision.split) == ("south", 5, True)


def test_rules_read_the_catalog_through_the_lines() -> None:
    rules = routing(rule("tea", 1, {"field": "lines.category", "eq": "tea"}, {"warehouses": ["WH-SH"]}),
                    rule("default", 2, {"always": True}, {"warehouses": ["WH-GZ"]}))
    order = make_order(lines=[line("TEA-1")])
    assert decide_route(order, rules, warehouses=REGISTRY,
                        catalog={"TEA-1": catalog_item("TEA-1", category="tea")}).candidates == ("WH-SH",)
    assert decide_route(order, rules, warehouses=REGISTRY).candidates == ("WH-GZ",)


def test_cross_border_orders_go_only_to_bonded_warehouses() -> None:
    # Given a rule that lists an own and a bonded warehouse, then any
    rules = routing(rule("all", 1, {"always": True}, {"warehouses": ["WH-GZ", "BW-NB", "*"]}))

    # When a cross-border order is routed
    decision = decide_route(make_order(cross_border=CROSS_BORDER), rules, warehouses=REGISTRY)

    # Then only bonded warehouses remain (the named one first), and the own one is reported as dropped
    assert decision.candidates == ("BW-NB", "BW-HZ")
    assert decision.dropped == ("WH-GZ",)


def test_a_cross_border_order_with_no_bonded_candidate_is_unroutable() -> None:
    rules = routing(rule("own", 1, {"always": True}, {"warehouses": ["WH-GZ"]}))
    decision = decide_route(make_order(cross_border=CROSS_BORDER), rules, warehouses=REGISTRY)
    assert decision.action is RouteAction.hold
    assert decision.hold is not None and decision.hold.reason is HoldReason.unroutable
    assert decision.hold.detail == (
        "rule 'own' lists no warehouse that can take this order: no active bonded warehouse (cross-border)")


def test_supplier_rules_drop_ship_domestic_orders_only() -> None:
    rules = routing(rule("tea-direct", 1, {"field": "lines.sku", "eq": "TEA-1"}, {"supplier": "SUP-TEA"}))
    order = make_order(lines=[line("TEA-1")])
    assert decide_route(order, rules, warehouses=REGISTRY).supplier == "SUP-TEA"
    held = decide_route(order.model_copy(update={"cross_border": make_order(cross_border=CROSS_BORDER).cross_border}),
                        rules, warehouses=REGISTRY)
    assert held.hold is not None and "cross-border orders ship only from bonded warehouses" in held.hold.detail
    unknown = routing(rule("x", 1, {"always": True}, {"supplier": "WH-GZ"}))
    assert decide_route(order, unknown, warehouses=REGISTRY).hold.detail == (  # type: ignore[union-attr]
        "rule 'x' names supplier 'WH-GZ', which is not an active supplier")


def test_a_hold_rule_and_no_matching_rule_both_hold_the_order() -> None:
    rules = routing(rule("review", 1, {"field": "amounts.paid", "gte": 500000}, {"hold": "price_abnormal"}))
    big = make_order(lines=[line("TEA-1", 1, 600000)])
    assert decide_route(big, rules, warehouses=REGISTRY).hold.reason is HoldReason.price_abnormal  # type: ignore[union-attr]
    small = decide_route(make_order(), rules, warehouses=REGISTRY)
    assert (small.action, small.rule, small.hold.reason, small.hold.detail) == (  # type: ignore[union-attr]
        RouteAction.hold, None, HoldReason.unroutable, "no routing rule matched (routing v5)")


def test_inactive_and_unknown_warehouses_are_dropped_and_reported() -> None:
    rules = routing(rule("r", 1, {"always": True}, {"warehouses": ["WH-BJ", "WH-XX", "WH-SH"]}))
    decision = decide_route(make_order(), rules, warehouses=REGISTRY)
    assert (decision.candidates, decision.dropped) == (("WH-SH",), ("WH-BJ", "WH-XX"))
