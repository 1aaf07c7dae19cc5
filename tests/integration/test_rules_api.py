"""The rules and catalog API on moto: versioned documents, 400 with every problem, dry runs, the catalog."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from functions.rules_api.handler import lambda_handler as rules_api
from infra import wiring
from infra.local.provision import Resources, function_env, provision
from ocp import composition
from tests.rules_support import order_doc
from tests.support import FakeContext, api_event

HEADERS = {"x-api-key": "k", "Content-Type": "application/json"}
ROUTING = {
    "rules": [
        {"id": "south-china", "priority": 10,
         "when": {"all": [{"field": "address.province", "in": ["广东省", "广西壮族自治区", "海南省"]}]},
         "then": {"warehouses": ["WH-GZ", "WH-SH"]}},
        {"id": "big-ticket", "priority": 5, "when": {"field": "amounts.paid", "gte": 500000},
         "then": {"warehouses": ["WH-SH"]}},
        {"id": "default", "priority": 100, "when": {"always": True}, "then": {"warehouses": ["WH-SH", "WH-BJ"]}},
    ]
}


@pytest.fixture(scope="module")
def _provisioned() -> Iterator[Resources]:
    """Provisioning every declared resource takes about a second; this module does it once."""
    with pytest.MonkeyPatch.context() as env, mock_aws():
        resources = provision(None, {wiring.CHANNEL_SECRETS.id: {}})
        for name, value in function_env(wiring.FUNCTIONS, resources).items():
            env.setenv(name, value)
        composition.reset()
        yield resources
        composition.reset()


@pytest.fixture
def aws(_provisioned: Resources) -> Iterator[Resources]:
    """The module's resources, with the rules and catalog tables emptied before each test."""
    dynamodb = boto3.resource("dynamodb")
    for table_id, keys in ((wiring.RULES.id, ("kind", "version")), (wiring.CATALOG.id, ("sku",))):
        table = dynamodb.Table(_provisioned.resolve(wiring.Ref(table_id)))
        for item in table.scan(ProjectionExpression=", ".join(f"#k{i}" for i in range(len(keys))),
                               ExpressionAttributeNames={f"#k{i}": k for i, k in enumerate(keys)})["Items"]:
            table.delete_item(Key=item)
    yield _provisioned


def call(method: str, resource: str, path: str, body: Any = None, params: dict[str, str] | None = None,
         headers: dict[str, str] | None = None) -> tuple[int, Any]:
    event = api_event(method, resource, path, body=None if body is None else json.dumps(body, ensure_ascii=False),
                      headers={**HEADERS, **(headers or {})}, path_params=params)
    response = rules_api(event, FakeContext())
    return response["statusCode"], json.loads(response["body"])


def put_rules(kind: str, document: Any, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    return call("PUT", "/rules/{kind}", f"/rules/{kind}", document, {"kind": kind}, headers)


def get_rules(kind: str) -> tuple[int, Any]:
    return call("GET", "/rules/{kind}", f"/rules/{kind}", params={"kind": kind})


def simulate(kind: str, body: Any) -> tuple[int, Any]:
    return call("POST", f"/rules/{kind}:simulate", f"/rules/{kind}:simulate", body)


def test_the_api_md_example_becomes_version_1_and_reads_back(aws: Resources) -> None:
    # Given no routing document stored: the built-in default is served as version 0
    assert get_rules("routing")[1]["version"] == 0

    # When API.md's example is PUT
    status, body = put_rules("routing", ROUTING)

    # Then it is version 1, and GET returns it as written
    assert (status, body["version"], body["default"]) == (200, 1, False)
    assert get_rules("routing") == (200, body)
    assert body["document"] == ROUTING


def test_an_invalid_document_is_refused_with_every_problem_and_the_stored_version_keeps_working(
    aws: Resources,
) -> None:
    # Given version 1 stored
    put_rules("routing", ROUTING)

    # When a document with three problems is PUT
    bad = {"rules": [{"id": "x", "priority": 1, "when": {"field": "amounts.pad", "gte": 1}, "then": {}},
                     {"id": "x", "priority": 2, "when": {"always": True}, "then": {"warehouses": ["WH-SH"]}}]}
    status, body = put_rules("routing", bad)

    # Then 400 lists each problem with its place, and version 1 is still the one in force
    assert status == 400
    assert body["error"]["code"] == "invalid_rule_document"
    assert [d["path"] for d in body["error"]["details"]] == ["rules[1].id", "rules[0].when", "rules[0].then"]
    assert get_rules("routing")[1]["version"] == 1
    assert simulate("routing", {"order": order_doc()})[1]["rule"] == "south-china"


def test_if_match_refuses_an_edit_based_on_an_old_version(aws: Resources) -> None:
    # Given versions 1 and 2 stored
    put_rules("routing", ROUTING)
    put_rules("routing", ROUTING)

    # When an editor who read version 1 saves, and one who read version 2 saves
    stale = put_rules("routing", ROUTING, headers={"if-match": "1"})
    fresh = put_rules("routing", ROUTING, headers={"If-Match": '"2"'})

    # Then the stale edit is a 409 and the fresh one becomes version 3
    assert (stale[0], stale[1]["error"]["code"]) == (409, "rules_version_conflict")
    assert (fresh[0], fresh[1]["version"]) == (200, 3)


def test_simulate_names_the_rule_that_fired_and_traces_every_condition(aws: Resources) -> None:
    # Given the API.md routing document
    put_rules("routing", ROUTING)

    # When a 456.00 CNY order to 广东省 is simulated (the colon may also come percent-encoded)
    status, body = simulate("routing", {"order": order_doc()})
    encoded = call("POST", "/rules/routing:simulate", "/rules/routing%3Asimulate", {"order": order_doc()})

    # Then south-china fired after big-ticket was tried, with the candidates, and nothing was reserved
    assert status == 200
    assert (body["kind"], body["version"], body["rule"]) == ("routing", 1, "south-china")
    # (the dry run knows the warehouses, so the decision is the route the processor would take)
    assert body["decision"] == {"action": "warehouses", "rule": "south-china", "version": 1,
                                "candidates": ["WH-GZ", "WH-SH"], "split": False, "supplier": None, "hold": None,
                                "dropped": []}
    assert [(t["rule"], t["at"], t["result"]) for t in body["trace"]] == [
        ("big-ticket", "when", False), ("south-china", "when", True), ("south-china", "when.all[0]", True)]
    assert body["trace"][0]["actual"] == 45800
    assert encoded == (status, body)


def test_simulate_tries_a_draft_document_without_storing_it(aws: Resources) -> None:
    draft = {"rules": [{"id": "jd-north", "priority": 1, "when": {"field": "channel", "eq": "jd"},
                        "then": {"warehouses": ["WH-BJ"]}}]}
    status, body = simulate("routing", {"order": order_doc(channel="jd"), "document": draft})
    assert (status, body["version"], body["rule"]) == (200, None, "jd-north")
    assert get_rules("routing")[1]["version"] == 0


def test_simulate_anomaly_lists_the_holds_and_every_check(aws: Resources) -> None:
    # When an order with a bad district and an invoice note is simulated against the default anomaly rules
    status, body = simulate("anomaly", {"order": order_doc(address={"district": "南山区"}, buyer_note="要发票")})

    # Then both holds are named, and the trace shows each check's outcome
    assert status == 200
    assert [h["reason"] for h in body["decision"]["holds"]] == ["address_unresolved", "buyer_note"]
    assert {t["check"]: t["result"] for t in body["trace"]} == {
        "address": "hold", "phone": "pass", "price": "pass", "buyer_note": "hold", "customs": "pass",
        "presale": "pass"}


def test_simulate_refuses_an_order_that_is_not_a_unified_order(aws: Resources) -> None:
    status, body = simulate("routing", {"order": {"order_id": "x"}})
    assert (status, body["error"]["code"]) == (400, "invalid_simulation")
    assert {"order.channel", "order.lines"} <= {d["path"] for d in body["error"]["details"]}
    assert simulate("routing", {})[0] == 400


def test_unknown_kinds_are_404_and_each_kind_has_a_schema(aws: Resources) -> None:
    assert get_rules("pricing")[0] == 404
    status, schema = call("GET", "/rules/{kind}/schema", "/rules/anomaly/schema", params={"kind": "anomaly"})
    assert status == 200
    assert "checks" in schema["properties"]


@pytest.mark.parametrize("kind", ["anomaly", "gift", "return_policy", "sla"])
def test_every_kind_round_trips_its_default_document(aws: Resources, kind: str) -> None:
    # Given the kind's built-in default, as GET serves it
    default = get_rules(kind)[1]["document"]

    # When it is PUT back
    status, body = put_rules(kind, default)

    # Then it is accepted as version 1
    assert (status, body["version"]) == (200, 1)


# ---- catalog ------------------------------------------------------------------------------------------------


def test_catalog_items_are_validated_stored_and_read_back(aws: Resources) -> None:
    # When a valid item is PUT
    item = {"name": "西湖龙井 250g", "category": "tea", "list_price": 19900, "min_price": 15000,
            "returnable": True, "return_window_days": 7, "gift": False}
    status, stored = call("PUT", "/catalog/{sku}", "/catalog/TEA-LONGJING-250", item, {"sku": "TEA-LONGJING-250"})

    # Then it reads back with its SKU, currency and write time
    assert status == 200
    assert stored == {**item, "sku": "TEA-LONGJING-250", "currency": "CNY", "updated_at": stored["updated_at"]}
    assert call("GET", "/catalog/{sku}", "/catalog/TEA-LONGJING-250", params={"sku": "TEA-LONGJING-250"}) == (
        200, stored)
    assert call("GET", "/catalog/{sku}", "/catalog/NOPE", params={"sku": "NOPE"})[0] == 404


def test_an_invalid_catalog_item_lists_every_problem(aws: Resources) -> None:
    status, body = call("PUT", "/catalog/{sku}", "/catalog/X-1",
                        {"name": "", "list_price": -5, "min_price": 19.9, "colour": "red"}, {"sku": "X-1"})
    assert status == 400
    assert [d["path"] for d in body["error"]["details"]] == ["name", "list_price", "min_price", "colour"]


def test_bulk_stores_the_valid_items_and_reports_each_one(aws: Resources) -> None:
    # Given four items: valid, floor above list, no SKU, and a repeat
    items = [{"sku": "A-1", "name": "a", "list_price": 100},
             {"sku": "B-1", "name": "b", "list_price": 100, "min_price": 200},
             {"name": "nameless"},
             {"sku": "A-1", "name": "a again"}]

    # When posted in bulk
    status, body = call("POST", "/catalog:bulk", "/catalog:bulk", {"items": items})

    # Then one is stored, three are rejected with their reasons, by position
    assert (status, body["stored"], body["rejected"]) == (200, 1, 3)
    assert [(r["index"], r["status"]) for r in body["results"]] == [
        (0, "stored"), (1, "rejected"), (2, "rejected"), (3, "rejected")]
    assert body["results"][1]["problems"] == [{"path": "", "problem": "min_price (200) is above list_price (100)"}]
    assert call("GET", "/catalog/{sku}", "/catalog/A-1", params={"sku": "A-1"})[1]["name"] == "a"
    assert call("POST", "/catalog:bulk", "/catalog:bulk", {"items": []})[0] == 400


def test_simulate_joins_the_catalog_for_category_rules(aws: Resources) -> None:
    # Given a tea category in the catalog and a routing rule on it
    call("PUT", "/catalog/{sku}", "/catalog/TEA-1", {"name": "tea", "category": "tea"}, {"sku": "TEA-1"})
    put_rules("routing", {"rules": [
        {"id": "tea", "priority": 1, "when": {"field": "lines.category", "eq": "tea"},
         "then": {"warehouses": ["WH-HZ"]}},
        {"id": "default", "priority": 9, "when": {"always": True}, "then": {"warehouses": ["*"]}}]})

    # Then an order with TEA-1 is routed by the tea rule
    assert simulate("routing", {"order": order_doc()})[1]["rule"] == "tea"
