"""The held queue and warehouses through the real handlers on moto: warehouses API, the processor routing by the
stored rules and handing reserved orders to the dispatch queue, the held queue (list, PATCH, release, cancel, bulk)
with its audit trail and error bodies, and the scheduled pre-sale release."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import boto3

from functions.fulfillment_ops.handler import lambda_handler as fulfillment_ops
from functions.inventory_api.handler import lambda_handler as inventory_api
from functions.operator_api.handler import lambda_handler as operator_api
from functions.order_processor.handler import lambda_handler as processor
from functions.orders_ops.handler import lambda_handler as orders_ops
from functions.presale_release.handler import lambda_handler as presale_release
from functions.rules_api.handler import lambda_handler as rules_api
from infra import wiring
from infra.local.provision import Resources
from infra.local.scheduler import scheduled_event
from ocp.adapters.dynamodb.orders import DynamoOrderStore
from ocp.channels.shopify import ShopifyAdapter
from ocp.domain.clock import utc_now
from ocp.domain.order.inbox import InboxMessage
from ocp.domain.order.model import Hold, HoldReason, OrderStatus
from tests.held_support import shopify_document
from tests.support import FakeContext, api_event, sqs_event

KEY = {"x-api-key": "k", "Content-Type": "application/json"}
OPS = {**KEY, "x-ocp-actor": "li.na@shop.cn"}
ROUTING = {"rules": [
    {"id": "south-china", "priority": 10, "when": {"field": "address.province", "in": ["广东省", "海南省"]},
     "then": {"warehouses": ["WH-GZ", "WH-SH"]}},
    {"id": "default", "priority": 100, "when": {"always": True}, "then": {"warehouses": ["WH-BJ"]}},
]}


def _call(handler: Any, method: str, resource: str, path: str, body: Any = None, headers: dict[str, str] = KEY,
          **kwargs: Any) -> tuple[int, Any]:
    raw = None if body is None else json.dumps(body, ensure_ascii=False)
    response = handler(api_event(method, resource, path, body=raw, headers=headers, **kwargs), FakeContext())
    return response["statusCode"], json.loads(response["body"]) if response["body"] else None


def _order_action(method: str, resource: str, order_id: str, body: Any = None,
                  headers: dict[str, str] = OPS) -> tuple[int, Any]:
    path = resource.replace("{order_id}", order_id)
    return _call(orders_ops, method, resource, path, body, headers, path_params={"order_id": order_id})


def _push(warehouse: str, sku: str, on_hand: int) -> None:
    status, _ = _call(inventory_api, "PUT", "/inventory/{id}/{sku}", f"/inventory/{warehouse}/{sku}",
                      {"on_hand": on_hand, "version": 1}, path_params={"id": warehouse, "sku": sku})
    assert status == 200


def _process(*documents: dict[str, Any]) -> None:
    messages = [InboxMessage(delivery_id=f"d-{doc['id']}", message_id=f"m-{doc['id']}", channel="shopify",
                             archive_key=f"raw/shopify/{doc['id']}.json", received_at="2026-11-11T12:00:00Z",
                             document=doc).model_dump_json() for doc in documents]
    assert processor(sqs_event(messages), FakeContext()) == {"batchItemFailures": []}


def _order(aws: Resources, n: int) -> Any:
    return _call(operator_api, "GET", "/orders/{order_id}", f"/orders/{_id(n)}", path_params={"order_id": _id(n)})[1]


def _id(n: int) -> str:
    return f"shopify-{6_200_000_000_000_000_000 + n}"


def _dispatch_requests(aws: Resources) -> list[dict[str, Any]]:
    sqs, url = boto3.client("sqs"), aws.resolve(wiring.Ref(wiring.DISPATCH_QUEUE.id, "url"))
    found: list[dict[str, Any]] = []
    while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        found += [json.loads(m["Body"]) for m in batch]
        for m in batch:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    return found


def test_warehouses_are_registered_listed_with_the_configured_ones_and_validated(aws: Resources) -> None:
    # Given / When a supplier and a bonded warehouse are registered
    supplier = _call(rules_api, "PUT", "/warehouses/{warehouse}", "/warehouses/SUP-TEA",
                     {"kind": "supplier", "name": "茶具供应商", "region": "福建省", "cutoff": "15:30"},
                     path_params={"warehouse": "SUP-TEA"})
    bonded = _call(rules_api, "PUT", "/warehouses/{warehouse}", "/warehouses/BW-HZ", {"kind": "bonded"},
                   path_params={"warehouse": "BW-HZ"})
    listed = _call(rules_api, "GET", "/warehouses", "/warehouses")
    # Then both are stored and listed with the configured ones (own, active)
    assert (supplier[0], supplier[1]["kind"], bonded[0]) == (200, "supplier", 200)
    assert [(w["warehouse_id"], w["kind"], w["source"]) for w in listed[1]["warehouses"]] == [
        ("BW-HZ", "bonded", "registry"), ("SUP-TEA", "supplier", "registry"), ("WH-BJ", "own", "configuration"),
        ("WH-GZ", "own", "configuration"), ("WH-SH", "own", "configuration")]
    # and a bad body is a 400 listing every problem
    bad = _call(rules_api, "PUT", "/warehouses/{warehouse}", "/warehouses/WH-X",
                {"kind": "moon", "cutoff": "25:00", "colour": "red"}, path_params={"warehouse": "WH-X"})
    assert bad[0] == 400 and bad[1]["error"]["code"] == "invalid_warehouse"
    assert {d["path"] for d in bad[1]["error"]["details"]} == {"kind", "cutoff", "colour"}


def test_the_processor_routes_by_the_stored_rules_and_hands_reserved_orders_to_dispatch(aws: Resources) -> None:
    # Given routing by province, and one unit at WH-GZ, more at WH-SH and WH-BJ
    assert _call(rules_api, "PUT", "/rules/{kind}", "/rules/routing", ROUTING,
                 path_params={"kind": "routing"})[0] == 200
    _push("WH-GZ", "TEA-1", 1)
    _push("WH-SH", "TEA-1", 5)
    _push("WH-BJ", "TEA-1", 5)
    # When two 广东 buyers and one from 北京 order
    _process(shopify_document(1, "TEA-1"), shopify_document(2, "TEA-1"),
             shopify_document(3, "TEA-1", province="北京市", city="北京市", address1="朝阳区建国路1号"))
    # Then they are routed as written, with fallback, record the version, and each went to the dispatch queue
    orders = [_order(aws, n) for n in (1, 2, 3)]
    assert [(o["status"], o["warehouse"]) for o in orders] == [
        ("reserved", "WH-GZ"), ("reserved", "WH-SH"), ("reserved", "WH-BJ")]
    assert [o["rules_applied"]["routing_rule"] for o in orders] == ["south-china", "south-china", "default"]
    assert orders[0]["rules_applied"]["versions"]["routing"] == 1
    assert sorted(r["order_id"] for r in _dispatch_requests(aws)) == sorted(_id(n) for n in (1, 2, 3))


def test_an_operator_finds_fixes_and_releases_a_held_order_every_step_audited(aws: Resources) -> None:
    # Given stock, and two orders held: one for a nonsense address, one for a note
    _push("WH-GZ", "TEA-1", 5)
    _process(shopify_document(1, "TEA-1", province="火星省", city="奥林匹斯市", address1="山区1号"),
             shopify_document(2, "TEA-1", note="请开发票"))
    # When an operator lists the address queue
    status, page = _call(operator_api, "GET", "/orders", "/orders",
                         query={"status": "held", "reason": "address_unresolved", "limit": "10"})
    # Then only the first is there
    assert (status, [o["order_id"] for o in page["orders"]], page["next_token"]) == (200, [_id(1)], None)
    # When the operator fixes the address and releases it
    patched = _order_action("PATCH", "/orders/{order_id}", _id(1),
                            {"address": {"province": "广东省", "city": "广州市", "district": "天河区"}})
    released = _order_action("POST", "/orders/{order_id}/release", _id(1), {"note": "地址已与买家确认"})
    # Then it is reserved, its timeline names the operator, and it is queued for dispatch
    assert (patched[0], patched[1]["status"]) == (200, "held")
    assert (released[0], released[1]["status"], released[1]["warehouse"]) == (200, "reserved", "WH-GZ")
    audit = [(e["event"], e["actor"]) for e in released[1]["timeline"] if e["hop"] == "operator"]
    assert audit == [("edited", "li.na@shop.cn"), ("released", "li.na@shop.cn")]
    assert [r["order_id"] for r in _dispatch_requests(aws)] == [_id(1)]
    # and every timeline entry the release wrote carries the principal, as answered and as stored
    for answered in (released[1], _order(aws, 1)):
        start = next(i for i, e in enumerate(answered["timeline"]) if e["event"] == "released")
        added = answered["timeline"][start:]
        assert len(added) > 1 and {e["principal"] for e in added} == {"local"}, added
    # and the queue, the actions' errors and a key-only caller behave as the contract says
    assert _order_action("POST", "/orders/{order_id}/release", _id(1))[1]["error"]["code"] == "order_action_refused"
    assert _order_action("POST", "/orders/{order_id}/release", "shopify-404")[0] == 404
    assert _order_action("PATCH", "/orders/{order_id}", _id(2), {"lines": []})[0] == 400
    assert _order_action("POST", "/orders/{order_id}/cancel", _id(2), headers={**KEY, "If-Match": "99"})[0] == 409
    cancelled = _order_action("POST", "/orders/{order_id}/cancel", _id(2), {"note": "买家要求取消"}, headers=KEY)
    assert (cancelled[0], cancelled[1]["status"]) == (200, "cancelled")
    # no x-ocp-actor: the principal is the actor; the note's order kept its unit while held, and the cancel frees it
    assert [(e["actor"], e["principal"]) for e in cancelled[1]["timeline"] if e["event"] == "cancelled"] == [
        ("local", "local")]
    assert cancelled[1]["timeline"][-1]["event"] == "released"
    bad_token = _call(operator_api, "GET", "/orders", "/orders", query={"status": "held", "next_token": "x"})
    assert bad_token[0] == 400


def test_bulk_release_answers_per_order(aws: Resources) -> None:
    # Given stock for one, and two orders held for their price (a floor of 150.00 CNY)
    assert _call(rules_api, "PUT", "/catalog/{sku}", "/catalog/TEA-1", {"name": "龙井", "min_price": 15000},
                 path_params={"sku": "TEA-1"})[0] == 200
    _push("WH-GZ", "TEA-1", 1)
    _process(shopify_document(1, "TEA-1", price="0.01"), shopify_document(2, "TEA-1", price="0.01"))
    # When both are released at once, with a third id that does not exist (the colon may come encoded)
    status, answer = _call(orders_ops, "POST", "/orders:bulk", "/orders%3Abulk",
                           {"action": "release", "order_ids": [_id(1), _id(2), "shopify-404"]}, OPS)
    # Then one is reserved, one held again for stock, one not found
    assert status == 200
    assert [(r["order_id"], r["outcome"], r["status"]) for r in answer["results"]] == [
        (_id(1), "done", "reserved"), (_id(2), "held", "held"), ("shopify-404", "not_found", None)]
    assert answer["results"][1]["holds"][0]["reason"] == "insufficient_stock"


def test_the_scheduled_presale_release_reserves_orders_whose_ship_date_came(aws: Resources) -> None:
    # Given stock, and a paid order held as a pre-sale until a ship date that has just passed
    _push("WH-GZ", "TEA-1", 5)
    captured = ShopifyAdapter().to_order(shopify_document(1, "TEA-1"))
    due = utc_now() - timedelta(minutes=1)
    held = captured.model_copy(update={"status": OrderStatus.held, "status_since": due, "revision": 1, "holds": (
        Hold(reason=HoldReason.presale_not_due, detail="pre-sale", until=due),)})
    DynamoOrderStore(boto3.resource("dynamodb").Table(aws.resolve(wiring.Ref(wiring.ORDERS.id)))).create(held)
    # When the schedule fires
    schedule = next(s for s in wiring.SCHEDULES if s.function == "presale_release")
    result = presale_release(scheduled_event(schedule), FakeContext())
    # Then the order went through the checks and reservation again, and is queued for dispatch
    assert result == {"due": 1, "statuses": {"reserved": 1}}
    order = _order(aws, 1)
    assert (order["status"], order["holds"], order["warehouse"]) == ("reserved", [], "WH-GZ")
    assert [r["order_id"] for r in _dispatch_requests(aws)] == [_id(1)]


def test_the_stuck_report_reads_the_sla_document_in_force_through_the_rules_cache(aws: Resources) -> None:
    # Given the built-in sla document stored as version 1 (processing allowed 20 minutes instead of 10)
    current = _call(rules_api, "GET", "/rules/{kind}", "/rules/sla", path_params={"kind": "sla"})[1]["document"]
    current["statuses"]["received"]["max_minutes"] = 20
    assert _call(rules_api, "PUT", "/rules/{kind}", "/rules/sla", current, path_params={"kind": "sla"})[0] == 200
    # When an operator asks where orders are stuck
    status, report = _call(fulfillment_ops, "GET", "/orders/stuck", "/orders/stuck")
    # Then the report answered from that version
    assert (status, report["sla_version"]) == (200, 1)
