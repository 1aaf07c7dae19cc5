"""The condition language: operators, missing values and type mismatches, any-line semantics, the catalog join,
priority, traces — and, with Hypothesis, that compiled conditions combine exactly like the logic they spell."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ocp.domain.decisions.rules import Facts, InvalidRuleDocument, compile_document
from ocp.domain.decisions.rules.compiler import compile_condition
from ocp.domain.decisions.rules.conditions import MAX_SUBJECT, Condition
from ocp.domain.decisions.rules.kinds import KINDS, RuleKind
from ocp.domain.decisions.rules.paths import known_paths
from ocp.domain.order.model import Order
from tests.rules_support import catalog_item, line, make_order

ORDER = make_order(
    lines=[line("TEA-1", 2, 19900), line("CUP-1", 1, 5000, gift_for=("l-TEA-1",))],
    tags=("vip", "double11"), buyer_note="请开发票，谢谢",
)
CATALOG = {"TEA-1": catalog_item("TEA-1", category="tea", list_price=19900, min_price=15000),
           "CUP-1": catalog_item("CUP-1", category="teaware", gift=True)}


def holds(condition: dict[str, Any], order: Order = ORDER, catalog: dict[str, Any] | None = None,
          extra: dict[str, Any] | None = None, kind: RuleKind = RuleKind.routing) -> bool:
    """Compile `condition` as the only rule of a document and say whether it fires."""
    document = {"rules": [{"id": "r", "priority": 1, "when": condition, "then": _then(kind)}]}
    ruleset = compile_document(kind.value, document, version=1)
    facts = Facts(order, CATALOG if catalog is None else catalog, extra or {})
    fired = ruleset.first(facts) is not None
    explained, _ = ruleset.explain(facts)
    assert fired == bool(explained), "explain must decide exactly as the fast path"
    return fired


def _then(kind: RuleKind) -> dict[str, Any]:
    return {RuleKind.routing: {"warehouses": ["WH-GZ"]}, RuleKind.return_policy: {"auto_approve": True}}[kind]


@pytest.mark.parametrize(("condition", "expected"), [
    ({"field": "channel", "eq": "taobao"}, True),
    ({"field": "channel", "eq": "jd"}, False),
    ({"field": "channel", "ne": "jd"}, True),
    ({"field": "amounts.paid", "eq": 45800}, True),
    ({"field": "amounts.paid", "gt": 45800}, False),
    ({"field": "amounts.paid", "gte": 45800}, True),
    ({"field": "amounts.paid", "lt": 45801}, True),
    ({"field": "amounts.paid", "lte": 45799}, False),
    ({"field": "amounts.paid", "gte": 458.5}, True),
    ({"field": "address.province", "in": ["广东省", "广西壮族自治区"]}, True),
    ({"field": "address.province", "not_in": ["广东省"]}, False),
    ({"field": "address.city", "gte": "广"}, True),
    ({"field": "cash_on_delivery", "eq": False}, True),
    ({"field": "cash_on_delivery", "eq": True}, False),
    ({"field": "buyer_note", "contains": "发票"}, True),
    ({"field": "buyer_note", "matches": "开.?发票"}, True),
    ({"field": "buyer_note", "matches": "^发票"}, False),
    ({"field": "tags", "contains": "vip"}, True),
    ({"field": "tags", "contains": "vi"}, False),
    ({"field": "tags", "in": ["double11", "618"]}, True),
    ({"field": "created_at", "gte": "2026-11-11T12:00:00+08:00"}, True),
    ({"field": "created_at", "lt": "2026-11-11T04:05:13Z"}, False),
    ({"field": "created_at", "eq": "2026-11-11 12:05:13"}, True),
    ({"field": "total_quantity", "eq": 3}, True),
    ({"field": "buyer_note", "exists": True}, True),
    ({"field": "seller_note", "exists": False}, True),
    ({"field": "presale", "exists": True}, False),
    ({"always": True}, True),
    ({"always": False}, False),
], ids=lambda v: str(v))
def test_each_operator(condition: dict[str, Any], expected: bool) -> None:
    # Given a taobao order of 458.00 CNY to 广东省 created 2026-11-11 12:05:13 +08:00
    # When the condition is the only rule
    # Then it fires exactly when the order matches it
    assert holds(condition) is expected


@pytest.mark.parametrize("condition", [
    {"field": "seller_note", "eq": "x"},
    {"field": "seller_note", "ne": "x"},
    {"field": "seller_note", "not_in": ["x"]},
    {"field": "seller_note", "contains": "x"},
    {"field": "seller_note", "matches": ".*"},
    {"field": "seller_note", "lt": "zzz"},
    {"field": "presale.ship_by", "lt": "2030-01-01T00:00:00Z"},
    {"field": "cross_border.id_card_no", "ne": "x"},
], ids=lambda v: str(v))
def test_a_missing_value_never_matches_not_even_a_negative_operator(condition: dict[str, Any]) -> None:
    # Given an order without a seller note, pre-sale or cross-border data
    # When a condition reads that missing value
    # Then it is false (only `exists: false` is true of a missing value), and nothing raises
    assert holds(condition) is False
    assert holds({"field": condition["field"], "exists": False}) is True


def test_a_missing_value_is_noted_in_the_trace() -> None:
    # Given a rule on a note the order does not have
    ruleset = compile_document("routing", {"rules": [
        {"id": "r", "priority": 1, "when": {"field": "seller_note", "ne": "x"}, "then": {"warehouses": ["W"]}}]}, 1)

    # When it is explained
    _, trace = ruleset.explain(Facts(ORDER))

    # Then the entry says why it is false
    assert trace == [{"at": "when", "condition": 'seller_note ne "x"', "result": False, "actual": None,
                      "note": "no value at this path (missing values never match)", "rule": "r"}]


@pytest.mark.parametrize(("condition", "extra", "expected"), [
    ({"field": "return.reason", "eq": "5"}, {"reason": 5}, False),
    ({"field": "return.quantity", "eq": 1}, {"quantity": True}, False),
    ({"field": "return.quantity", "eq": 1}, {"quantity": 1.0}, True),
    ({"field": "return.quantity", "gt": 0}, {"quantity": "3"}, False),
    ({"field": "return.reason", "contains": "破"}, {"reason": ["破损"]}, False),
    ({"field": "return.reason", "matches": "破"}, {"reason": 7}, False),
    ({"field": "return.quantity", "in": [1, 2]}, {"quantity": 2}, True),
    ({"field": "return.days_since_delivery", "lte": 7}, {"days_since_delivery": 7}, True),
], ids=lambda v: str(v))
def test_a_value_of_the_wrong_type_is_false_never_an_error(
    condition: dict[str, Any], extra: dict[str, Any], expected: bool
) -> None:
    # Given a return-policy rule over the `return.*` values of a return request (given per evaluation)
    # When the request carries a value of another type than the rule compares
    # Then the rule does not fire (and nothing raises)
    assert holds(condition, extra={"return": extra}, kind=RuleKind.return_policy) is expected


def test_a_type_mismatch_is_noted_in_the_trace() -> None:
    # Given a return rule comparing a number with a text value
    ruleset = compile_document("return_policy", {"rules": [
        {"id": "r", "priority": 1, "when": {"field": "return.quantity", "gt": 0}, "then": {"auto_approve": True}}]}, 1)

    # When explained
    _, trace = ruleset.explain(Facts(ORDER, extra={"return": {"quantity": "3"}}))

    # Then the trace says the types differ
    assert trace[0]["result"] is False
    assert trace[0]["note"] == "type mismatch: gt compares number values"


def test_a_path_through_lines_holds_when_any_line_matches() -> None:
    # Given an order with a TEA-1 line and a CUP-1 line
    # Then a line condition holds if one line matches
    assert holds({"field": "lines.sku", "eq": "CUP-1"})
    assert holds({"field": "lines.quantity", "gte": 2})
    assert not holds({"field": "lines.quantity", "gte": 3})
    # and "no line is CUP-1" is spelled with `not`
    assert not holds({"not": {"field": "lines.sku", "eq": "CUP-1"}})
    # and each condition of an `all` may be met by a different line (documented: any line, per condition)
    assert holds({"all": [{"field": "lines.sku", "eq": "CUP-1"}, {"field": "lines.quantity", "eq": 2}]})
    # and list values inside lines are flattened
    assert holds({"field": "lines.gift_for", "contains": "l-TEA-1"})


def test_catalog_fields_are_joined_onto_lines() -> None:
    # Given a catalog with TEA-1 in category tea and CUP-1 a give-away in teaware
    # Then rules read category, price and flags through the lines
    assert holds({"field": "lines.category", "eq": "tea"})
    assert holds({"field": "lines.category", "in": ["teaware"]})
    assert holds({"field": "lines.list_price", "gte": 19900})
    assert holds({"field": "lines.catalog.gift", "eq": True})
    # and the line's own `gift` (a gift line) is a different thing from the catalog's give-away flag
    assert not holds({"field": "lines.gift", "eq": True})
    # and with no catalog entry the joined value is missing
    assert not holds({"field": "lines.category", "eq": "tea"}, catalog={})
    assert holds({"field": "lines.category", "exists": False}, catalog={})


def _routing(*rules: tuple[str, int, dict[str, Any]], disabled: tuple[str, ...] = ()) -> Any:
    return compile_document("routing", {"rules": [
        {"id": rule_id, "priority": priority, "when": when, "then": {"warehouses": [f"WH-{rule_id}"]},
         "enabled": rule_id not in disabled}
        for rule_id, priority, when in rules
    ]}, version=7)


def test_the_lowest_priority_number_that_holds_wins_and_ties_keep_document_order() -> None:
    # Given rules listed out of priority order, two of them tied
    ruleset = _routing(
        ("default", 100, {"always": True}),
        ("south", 10, {"field": "address.province", "eq": "广东省"}),
        ("big", 5, {"field": "amounts.paid", "gte": 500000}),
        ("tie-first", 10, {"always": True}),
    )

    # When the order (not big, in 广东) is decided
    winner = ruleset.first(Facts(ORDER))

    # Then `south` wins: `big` (5) does not hold, and `south` precedes `tie-first` (both 10) in the document
    assert winner is not None and winner.id == "south"
    assert [r.id for r in ruleset.rules] == ["big", "south", "tie-first", "default"]


def test_disabled_rules_are_kept_but_never_evaluated() -> None:
    # Given the best rule disabled
    ruleset = _routing(("south", 10, {"always": True}), ("default", 100, {"always": True}), disabled=("south",))

    # When decided and explained
    fired, trace = ruleset.explain(Facts(ORDER))

    # Then the next rule wins and the disabled one is not in the trace
    assert ruleset.first(Facts(ORDER)).id == "default"  # type: ignore[union-attr]
    assert [r.id for r in fired] == ["default"]
    assert {entry["rule"] for entry in trace} == {"default"}


def test_the_trace_stops_at_the_winner_and_shows_short_circuits() -> None:
    # Given three rules where the second wins through an `any` whose first branch holds
    ruleset = _routing(
        ("a", 1, {"all": [{"field": "channel", "eq": "jd"}, {"field": "amounts.paid", "gt": 0}]}),
        ("b", 2, {"any": [{"field": "channel", "eq": "taobao"}, {"field": "amounts.paid", "gt": 0}]}),
        ("c", 3, {"always": True}),
    )

    # When explained
    fired, trace = ruleset.explain(Facts(ORDER))

    # Then only the conditions actually evaluated appear, in evaluation order
    assert [r.id for r in fired] == ["b"]
    assert [(e["rule"], e["at"], e["result"]) for e in trace] == [
        ("a", "when", False), ("a", "when.all[0]", False),
        ("b", "when", True), ("b", "when.any[0]", True),
    ]


def test_matches_rejects_patterns_that_can_backtrack_exponentially() -> None:
    # Given patterns with nested unbounded repetition
    for pattern in ["(a+)+$", "(a*)*b", "(x|y+)+z", "((ab)*c?)*d"]:
        document = {"rules": [{"id": "r", "priority": 1, "when": {"field": "buyer_note", "matches": pattern},
                               "then": {"warehouses": ["W"]}}]}
        # When the document is validated
        with pytest.raises(InvalidRuleDocument) as raised:
            compile_document("routing", document, 1)
        # Then it is refused, naming the pattern's problem
        assert "nested repetition" in raised.value.problems[0].problem, pattern


def test_matches_reads_a_bounded_prefix_of_long_values() -> None:
    # Given a safe pattern that only matches at the end of a very long note
    long_note = "好" * (MAX_SUBJECT * 50) + "发票"
    order = ORDER.model_copy(update={"buyer_note": long_note})

    # When evaluated
    started = time.perf_counter()
    fired = holds({"field": "buyer_note", "matches": "发票$"}, order=order)

    # Then only the first MAX_SUBJECT characters are searched, quickly
    assert fired is False
    assert time.perf_counter() - started < 0.5


# ---- properties: compiled conditions combine like the logic they spell -------------------------------------

Leaf = tuple[dict[str, Any], Callable[[Order], bool]]
LEAVES: list[Leaf] = [
    ({"field": "address.province", "eq": "广东省"}, lambda o: o.address.province == "广东省"),
    ({"field": "amounts.paid", "gte": 30000}, lambda o: o.amounts.paid >= 30000),
    ({"field": "channel", "in": ["jd", "douyin"]}, lambda o: o.channel.value in ("jd", "douyin")),
    ({"field": "lines.sku", "eq": "CUP-1"}, lambda o: any(li.sku == "CUP-1" for li in o.lines)),
    ({"field": "tags", "contains": "vip"}, lambda o: "vip" in o.tags),
    ({"field": "buyer_note", "exists": True}, lambda o: o.buyer_note is not None),
    ({"field": "buyer_note", "contains": "急"}, lambda o: o.buyer_note is not None and "急" in o.buyer_note),
    ({"always": True}, lambda o: True),
]


def _tree(depth: int) -> st.SearchStrategy[tuple[dict[str, Any], Callable[[Order], bool]]]:
    leaf = st.sampled_from(LEAVES)
    if depth == 0:
        return leaf
    sub = _tree(depth - 1)
    return st.one_of(
        leaf,
        st.lists(sub, min_size=1, max_size=3).map(
            lambda kids: ({"all": [k[0] for k in kids]}, lambda o, ks=kids: all(k[1](o) for k in ks))),
        st.lists(sub, min_size=1, max_size=3).map(
            lambda kids: ({"any": [k[0] for k in kids]}, lambda o, ks=kids: any(k[1](o) for k in ks))),
        sub.map(lambda kid: ({"not": kid[0]}, lambda o, k=kid: not k[1](o))),
    )


ORDERS = st.builds(
    lambda province, paid, channel, skus, tags, note: make_order(
        lines=[line(sku, 1, paid) for sku in skus], channel=channel, tags=tags, buyer_note=note,
        address={"province": province},
    ),
    st.sampled_from(["广东省", "北京市", "四川省"]),
    st.integers(min_value=0, max_value=60000),
    st.sampled_from(["taobao", "jd", "douyin", "shopify"]),
    st.lists(st.sampled_from(["TEA-1", "CUP-1", "POT-1"]), min_size=1, max_size=3, unique=True),
    st.lists(st.sampled_from(["vip", "new", "b2b"]), max_size=2, unique=True).map(tuple),
    st.one_of(st.none(), st.sampled_from(["急用", "谢谢", ""])),
)


@settings(max_examples=300, deadline=None)
@given(tree=_tree(3), order=ORDERS)
def test_compiled_conditions_agree_with_the_logic_they_spell(
    tree: tuple[dict[str, Any], Callable[[Order], bool]], order: Order
) -> None:
    # Given any combination of all/any/not over known leaves, and any order
    condition, reference = tree
    parsed = _parse(condition)
    compiled = compile_condition(parsed, known_paths())

    # When evaluated fast and explained
    fast = compiled.test(Facts(order))
    trace: list[dict[str, Any]] = []
    explained = compiled.explain(Facts(order), trace, "when")

    # Then both agree with plain Python over the order, and the trace's root entry carries the result
    assert fast == explained == reference(order)
    assert trace[0]["at"] == "when" and trace[0]["result"] == fast


@settings(max_examples=200, deadline=None)
@given(rules=st.lists(st.tuples(_tree(2), st.integers(min_value=0, max_value=5)), min_size=1, max_size=8),
       order=ORDERS)
def test_the_winner_is_the_first_holding_rule_by_priority_then_position(
    rules: list[tuple[tuple[dict[str, Any], Callable[[Order], bool]], int]], order: Order
) -> None:
    # Given a routing document of arbitrary rules and priorities
    document = {"rules": [{"id": f"r{i}", "priority": priority, "when": tree[0], "then": {"warehouses": ["W"]}}
                          for i, (tree, priority) in enumerate(rules)]}
    ruleset = compile_document("routing", document, version=1)

    # When decided
    winner = ruleset.first(Facts(order))

    # Then it is the holding rule with the lowest (priority, position) — or none holds
    holding = sorted((priority, i) for i, ((_, ref), priority) in enumerate(rules) if ref(order))
    assert (winner.id if winner else None) == (f"r{holding[0][1]}" if holding else None)


def _parse(condition: dict[str, Any]) -> Any:
    from pydantic import TypeAdapter

    return TypeAdapter(Condition).validate_python(condition)


def test_every_kind_has_a_valid_default_document() -> None:
    # Given the kinds and the documents that ship with OCP
    for kind, spec in KINDS.items():
        # When each default is compiled
        ruleset = compile_document(kind.value, spec.default, version=0)
        # Then it is valid; routing's default sends an order to any warehouse
        assert ruleset.version == 0
    routing = compile_document("routing", KINDS[RuleKind.routing].default, 0)
    assert routing.first(Facts(ORDER)).then.warehouses == ["*"]  # type: ignore[union-attr]
