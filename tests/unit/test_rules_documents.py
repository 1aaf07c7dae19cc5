"""Rule documents are validated on write, and an invalid one is refused with every problem and where it is."""

from __future__ import annotations

from typing import Any

import pytest

from ocp.domain.decisions.rules import (
    InvalidRuleDocument,
    UnknownRuleKind,
    compile_document,
    json_schema,
    validate_document,
)
from ocp.domain.decisions.rules.engine import MAX_DOCUMENT_BYTES
from ocp.domain.decisions.rules.kinds import RuleKind


def problems(kind: str, document: Any) -> list[tuple[str, str]]:
    with pytest.raises(InvalidRuleDocument) as raised:
        validate_document(kind, document)
    return [(p.path, p.problem) for p in raised.value.problems]


def test_every_problem_of_a_routing_document_is_listed_with_its_place() -> None:
    # Given a document with eight different mistakes spread over its rules
    document = {
        "rules": [
            {"id": "south", "priority": -1, "when": {"field": "address.provice", "eq": "广东省"},
             "then": {"warehouses": ["*", "WH-GZ"]}},
            {"id": "south", "priority": 5, "when": {"field": "amounts.paid", "gte": "5000"},
             "then": {"supplier": "SUP-1", "hold": "unroutable"}},
            {"id": "bad", "priority": 6, "when": {"all": [{"field": "channel", "eq": "tmall"}, {"foo": 1}]},
             "then": {"warehouses": ["WH-SH"], "split": "perhaps"}},
        ],
        "colour": "blue",
    }

    # When it is validated
    found = problems("routing", document)

    # Then each mistake is reported, at its own path
    assert found == [
        ("rules[1].id", "id 'south' is already used by rules[0]"),
        ("rules[0].priority", "Input should be greater than or equal to 0"),
        ("rules[0].when", found[2][1]),
        ("rules[0].then.warehouses", '"*" (any other warehouse) may only come last'),
        ("rules[1].when", "gte: amounts.paid holds integer values, got string"),
        ("rules[1].then", "give exactly one of warehouses, supplier, hold; found supplier, hold"),
        ("rules[2].when.all[0]", "eq: channel is one of taobao, jd, douyin, shopify; not tmall"),
        ("rules[2].when.all[1]", found[7][1]),
        ("rules[2].then.split", "Input should be a valid boolean, unable to interpret input"),
        ("colour", "unknown key (not in the schema)"),
    ]
    # and the unknown path suggests the known ones under its root
    assert found[2][1].startswith("unknown field 'address.provice' (known under 'address': ")
    assert "address.province" in found[2][1]
    assert found[7][1].startswith("a condition is {\"field\": PATH, OP: VALUE}")


@pytest.mark.parametrize(("condition", "problem"), [
    ({"field": "channel"}, "give exactly one operator"),
    ({"field": "channel", "eq": "jd", "ne": "jd"}, "give exactly one operator"),
    ({"field": "channel", "eq": None}, "eq: null is not a value here"),
    ({"field": "tags", "in": ["a", 1]}, "in: mix of number and string values"),
    ({"field": "amounts.paid", "contains": "1"}, "contains does not apply to amounts.paid (integer)"),
    ({"field": "cash_on_delivery", "gt": 1}, "gt does not apply to cash_on_delivery (boolean)"),
    ({"field": "address", "eq": "x"}, "eq does not apply to address (object)"),
    ({"field": "created_at", "gte": "yesterday"}, "gte: 'yesterday' is not an ISO-8601 time"),
    ({"field": "created_at", "in": ["2026-11-11T00:00:00Z"]}, "in does not apply to created_at (datetime)"),
    ({"field": "buyer_note", "matches": "("}, "matches: not a valid regular expression"),
    ({"field": "buyer_note", "matches": "x" * 201}, "String should have at most 200 characters"),
    ({"field": "status", "in": ["held", "lost"]}, "in: status is one of"),
    ({"field": "return.reason", "eq": "x"}, "unknown field 'return.reason'"),
], ids=lambda v: str(v))
def test_a_field_test_must_suit_its_path(condition: dict[str, Any], problem: str) -> None:
    # Given a routing rule with one questionable field test
    document = {"rules": [{"id": "r", "priority": 1, "when": condition, "then": {"warehouses": ["W"]}}]}

    # When validated
    found = problems("routing", document)

    # Then the problem names what is wrong
    assert len(found) == 1
    assert problem in found[0][1], found


def test_kind_specific_paths_exist_only_in_their_kind_and_are_typed() -> None:
    # Given a return-policy rule reading the return request
    ok = {"rules": [{"id": "r", "priority": 1, "when": {"field": "return.days_since_delivery", "lte": 7},
                     "then": {"auto_approve": True}}]}
    wrong = {"rules": [{"id": "r", "priority": 1, "when": {"field": "return.days_since_delivery", "lte": "7"},
                        "then": {"auto_approve": True}}]}

    # Then it validates there, is typed there, and routing does not know the path
    validate_document("return_policy", ok)
    assert problems("return_policy", wrong) == [
        ("rules[0].when", "lte: return.days_since_delivery holds integer values, got string")]


@pytest.mark.parametrize(("kind", "rule_then", "problem_path"), [
    ("anomaly", {"hold": "too_cheap"}, "rules[0].then.hold"),
    ("anomaly", {"warehouses": ["W"]}, "rules[0].then.hold"),
    ("gift", {"gift_sku": "GIFT 1"}, "rules[0].then.gift_sku"),
    ("gift", {"gift_sku": "G-1", "quantity": 0}, "rules[0].then.quantity"),
    ("return_policy", {"window_days": 400}, "rules[0].then.window_days"),
    ("routing", {"warehouses": []}, "rules[0].then.warehouses"),
    ("routing", {"hold": "insufficient_stock", "split": True}, "rules[0].then"),
], ids=lambda v: str(v))
def test_each_kind_checks_its_own_then(kind: str, rule_then: dict[str, Any], problem_path: str) -> None:
    # Given a rule whose `then` does not fit its kind
    document = {"rules": [{"id": "r", "priority": 1, "when": {"always": True}, "then": rule_then}]}

    # When validated
    found = problems(kind, document)

    # Then the problem points into the `then`
    assert problem_path in {path for path, _ in found}, found


def test_anomaly_thresholds_are_validated_with_the_rules() -> None:
    # Given an anomaly document with bad thresholds and a dangerous note pattern
    document = {"checks": {"price": {"max_discount_pct": 0}, "duplicate": {"window_minutes": 0},
                           "buyer_note": {"patterns": ["(a+)+"]}, "phones": {}},
                "rules": [{"id": "r", "priority": 1, "when": {"field": "buyer_note", "contains": "急"},
                           "then": {"hold": "buyer_note", "detail": "rush"}}]}

    # When validated
    found = {path for path, _ in problems("anomaly", document)}

    # Then every threshold problem is listed
    assert found == {"checks.price.max_discount_pct", "checks.duplicate.window_minutes",
                     "checks.buyer_note.patterns", "checks.phones"}


def test_the_sla_document_is_the_stuck_reports_table_and_its_version_is_the_stores() -> None:
    # Given an SLA document that a writer sent with a version number of its own
    document = {"version": 99, "statuses": {"reserved": {"hop": "dispatch", "max_minutes": 10}}}

    # When it is compiled as version 3
    ruleset = compile_document("sla", document, version=3)

    # Then it is accepted (the writer's version is ignored), and a final status cannot have an SLA
    assert ruleset.version == 3
    assert problems("sla", {"statuses": {"delivered": {"hop": "x", "max_minutes": 1}}})[0][1] == (
        "no SLA on final statuses: delivered")


def test_a_document_that_is_not_an_object_too_big_or_too_deep_is_refused() -> None:
    # Given documents that are wrong as a whole
    deep: dict[str, Any] = {"always": True}
    for _ in range(13):
        deep = {"not": deep}
    huge = {"rules": [{"id": f"r{i}", "priority": i, "when": {"field": "buyer_note", "in": ["x" * 900] * 50},
                       "then": {"warehouses": ["W"]}} for i in range(10)]}

    # Then each is refused with its reason
    assert problems("routing", ["rules"]) == [("", 'a rule document is a JSON object {"rules": [...]}')]
    assert problems("routing", {"rules": [{"id": "r", "priority": 1, "when": deep, "then": {"warehouses": ["W"]}}]}) \
        == [("rules[0].when", "nested deeper than 12 levels")]
    assert problems("routing", huge)[0][1].endswith(f"at most {MAX_DOCUMENT_BYTES}")
    with pytest.raises(UnknownRuleKind):
        validate_document("pricing", {"rules": []})


@pytest.mark.parametrize("kind", [k.value for k in RuleKind])
def test_each_kind_publishes_a_json_schema(kind: str) -> None:
    # When the schema of a kind is generated from its models
    schema = json_schema(kind)

    # Then it is a JSON Schema object naming the kind; rule kinds describe the condition language
    assert schema["type"] == "object"
    assert kind in schema["title"]
    if kind != "sla":
        assert {"AllOf", "AnyOf", "NotOf", "Always", "FieldTest"} <= set(schema["$defs"])
        operators = set(schema["$defs"]["FieldTest"]["properties"])
        assert {"eq", "ne", "in", "not_in", "gt", "gte", "lt", "lte", "contains", "matches", "exists"} <= operators
