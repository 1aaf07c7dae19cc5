"""Gift rules: buy X get Y, spend over N get Y, stacking and stop, idempotent gift lines."""

from __future__ import annotations

from typing import Any

from ocp.domain.decisions.gifts import gifts_for, with_gifts
from ocp.domain.decisions.rules import Facts, compile_document, default_ruleset
from tests.rules_support import catalog_item, line, make_order


def gift_rules(*rules: dict[str, Any]) -> Any:
    return compile_document("gift", {"rules": list(rules)}, version=3)


BUY_TEA_GET_CUP = {"id": "tea-cup", "priority": 10, "when": {"field": "lines.sku", "eq": "TEA-1"},
                   "then": {"gift_sku": "CUP-GIFT", "per_unit_of": ["TEA-1"], "every": 2, "max_per_order": 2}}
SPEND_300 = {"id": "spend-300", "priority": 20, "when": {"field": "amounts.paid", "gte": 30000},
             "then": {"gift_sku": "BAG-GIFT", "while_stock_lasts": False}}


def test_buy_x_get_y_gives_one_per_every_units_capped_per_order() -> None:
    # Given "every 2 tea get a cup, at most 2"
    rules = gift_rules(BUY_TEA_GET_CUP)

    # Then 2 tea get 1 cup, 3 get 1, 10 get 2 (the cap), and 1 gets none
    for quantity, cups in [(2, 1), (3, 1), (10, 2), (1, 0)]:
        order = make_order(lines=[line("TEA-1", quantity, 100)])
        assert [g.line.quantity for g in gifts_for(order, rules)] == ([cups] if cups else []), quantity


def test_spend_over_n_and_buy_x_stack_and_the_gift_lines_are_free() -> None:
    # Given both promotions and an order of 4 tea for 398.00
    rules = gift_rules(SPEND_300, BUY_TEA_GET_CUP)
    order = make_order(lines=[line("TEA-1", 4, 9950)])

    # When the gifts are added
    gifts = gifts_for(order, rules, {"CUP-GIFT": catalog_item("CUP-GIFT", name="青瓷杯", gift=True)})
    with_gift_lines = with_gifts(order, gifts)

    # Then both apply in priority order, paid 0, gift=True, named from the catalog; amounts are unchanged
    assert [(g.rule, g.line.sku, g.line.quantity, g.line.title, g.while_stock_lasts) for g in gifts] == [
        ("tea-cup", "CUP-GIFT", 2, "青瓷杯", True), ("spend-300", "BAG-GIFT", 1, None, False)]
    assert all(g.line.paid == 0 and g.line.unit_price == 0 and g.line.gift for g in gifts)
    assert with_gift_lines.amounts == order.amounts
    assert [li.line_id for li in with_gift_lines.lines] == ["l-TEA-1", "gift:tea-cup", "gift:spend-300"]


def test_stop_ends_the_promotions_and_a_channel_gift_is_not_given_twice() -> None:
    stop_first = {**BUY_TEA_GET_CUP, "then": {**BUY_TEA_GET_CUP["then"], "stop": True}}
    order = make_order(lines=[line("TEA-1", 4, 9950)])
    assert [g.rule for g in gifts_for(order, gift_rules(stop_first, SPEND_300))] == ["tea-cup"]
    channel_gift = make_order(lines=[line("TEA-1", 4, 9950), line("CUP-GIFT", 1, 0, gift=True)])
    assert [g.rule for g in gifts_for(channel_gift, gift_rules(BUY_TEA_GET_CUP, SPEND_300))] == ["spend-300"]


def test_applying_the_gift_rules_again_replaces_the_gift_lines_it_added() -> None:
    # Given an order that already has OCP's gift lines from an earlier pass
    rules = gift_rules(SPEND_300, BUY_TEA_GET_CUP)
    once = with_gifts(make_order(lines=[line("TEA-1", 4, 9950)]), gifts_for(make_order(lines=[line("TEA-1", 4, 9950)]),
                                                                             rules))

    # When the rules run again on it
    twice = with_gifts(once, gifts_for(once, rules))

    # Then nothing is added twice
    assert twice == once
    assert gifts_for(make_order(), default_ruleset("gift")) == []


def test_the_dry_run_trace_stops_where_the_promotions_stop() -> None:
    # Given a stopping rule before another that would also apply
    stop_first = {**BUY_TEA_GET_CUP, "then": {**BUY_TEA_GET_CUP["then"], "stop": True}}
    rules = gift_rules(stop_first, SPEND_300)

    # When explained
    fired, trace = rules.explain(Facts(make_order(lines=[line("TEA-1", 4, 9950)])))

    # Then only the stopping rule fired and the later one was not evaluated
    assert [r.id for r in fired] == ["tea-cup"]
    assert {entry["rule"] for entry in trace} == {"tea-cup"}
