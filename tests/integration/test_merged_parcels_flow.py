"""Merged parcels through the handlers on moto: the routing document's merge window, two orders of one Shopify
customer to one address processed minutes apart and a third to another address, the scheduled `parcel_merge` run,
the dispatcher handing one merged instruction to the warehouse's queue (and the third alone), a repeated run
sending nothing more, and a shipped callback naming the group that ships both orders with each one's stock."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import boto3
import pytest

from functions.dispatcher.handler import lambda_handler as dispatcher
from functions.fulfillment_callback.handler import lambda_handler as callbacks
from functions.inventory_api.handler import lambda_handler as inventory_api
from functions.operator_api.handler import lambda_handler as operator_api
from functions.order_processor.handler import lambda_handler as processor
from functions.parcel_merge.handler import lambda_handler as parcel_merge
from functions.rules_api.handler import lambda_handler as rules_api
from infra import wiring
from infra.local.provision import Resources
from infra.local.scheduler import scheduled_event
from ocp import composition
from ocp.domain.clock import iso, utc_now
from ocp.domain.order.inbox import InboxMessage
from tests.held_support import shopify_document
from tests.support import FakeContext, api_event, sqs_event

KEY = {"x-api-key": "k", "Content-Type": "application/json"}
CUSTOMER = 8_200_000_000_000_000_777
ROUTING = {"merge_window_minutes": 5,
           "rules": [{"id": "default", "priority": 1, "when": {"always": True}, "then": {"warehouses": ["*"]}}]}


class Clock:
    def __init__(self) -> None:
        self.at = utc_now()

    def __call__(self) -> datetime:
        return self.at

    def later(self, minutes: float) -> None:
        self.at += timedelta(minutes=minutes)


@pytest.fixture
def clock(aws: Resources, monkeypatch: pytest.MonkeyPatch) -> Clock:
    """Every function's clock, moved by the test (the merge window is minutes long)."""
    clock = Clock()
    monkeypatch.setattr(composition, "utc_now", clock)
    composition.reset()
    return clock


def _call(handler: Any, method: str, resource: str, path: str, body: Any = None, **kwargs: Any) -> tuple[int, Any]:
    raw = None if body is None else json.dumps(body, ensure_ascii=False)
    response = handler(api_event(method, resource, path, body=raw, headers=KEY, **kwargs), FakeContext())
    return response["statusCode"], json.loads(response["body"]) if response["body"] else None


def _id(n: int) -> str:
    return f"shopify-{6_200_000_000_000_000_000 + n}"


def _process(*documents: dict[str, Any]) -> None:
    messages = [InboxMessage(delivery_id=f"d-{doc['id']}", message_id=f"m-{doc['id']}", channel="shopify",
                             archive_key=f"raw/shopify/{doc['id']}.json", received_at="2026-11-11T12:00:00Z",
                             document=doc).model_dump_json() for doc in documents]
    assert processor(sqs_event(messages), FakeContext()) == {"batchItemFailures": []}


def _drain(aws: Resources, queue_id: str) -> list[dict[str, Any]]:
    sqs, url = boto3.client("sqs"), aws.resolve(wiring.Ref(queue_id, "url"))
    found: list[dict[str, Any]] = []
    while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]).get(
            "Messages", []):
        found += batch
        for message in batch:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return found


def _merge_run(clock: Clock) -> dict[str, Any]:
    schedule = next(s for s in wiring.SCHEDULES if s.function == "parcel_merge")
    result: dict[str, Any] = parcel_merge(scheduled_event(schedule, clock()), FakeContext())
    return result


def _dispatch_queued(aws: Resources) -> list[dict[str, Any]]:
    requests = [m["Body"] for m in _drain(aws, wiring.DISPATCH_QUEUE.id)]
    if requests:
        assert dispatcher(sqs_event(requests), FakeContext()) == {"batchItemFailures": []}
    return [json.loads(body) for body in requests]


def _order(order_id: str) -> dict[str, Any]:
    status, order = _call(operator_api, "GET", "/orders/{order_id}", f"/orders/{order_id}",
                          path_params={"order_id": order_id})
    assert status == 200
    return dict(order)


def test_two_orders_of_one_customer_leave_as_one_parcel_and_ship_together(aws: Resources, clock: Clock) -> None:
    # Given a 5-minute merge window and stock at WH-GZ
    stored = _call(rules_api, "PUT", "/rules/{kind}", "/rules/routing", ROUTING, path_params={"kind": "routing"})
    assert (stored[0], stored[1]["document"]["merge_window_minutes"]) == (200, 5)
    for sku in ("TEA-1", "CUP-1"):
        assert _call(inventory_api, "PUT", "/inventory/{id}/{sku}", f"/inventory/WH-GZ/{sku}",
                     {"on_hand": 10, "version": 1}, path_params={"id": "WH-GZ", "sku": sku})[0] == 200
    # When one customer orders tea, then a minute later cups to the same address and tea to another address
    _process(shopify_document(1, "TEA-1", customer=CUSTOMER))
    clock.later(1)
    _process(shopify_document(2, "CUP-1", quantity=2, customer=CUSTOMER),
             shopify_document(3, "TEA-1", customer=CUSTOMER, address1="天河区体育西路1号"))
    # Then all three are reserved and waiting: nothing went to the dispatcher
    assert [_order(_id(n))["status"] for n in (1, 2, 3)] == ["reserved"] * 3
    assert _drain(aws, wiring.DISPATCH_QUEUE.id) == []
    # When the first window ends, the merge run asks for the group and the dispatcher sends it
    clock.later(4.5)
    run = _merge_run(clock)
    requests = _dispatch_queued(aws)
    # Then one instruction reached WH-GZ's queue naming both orders, under the group's key
    assert (run["groups"], run["merged_orders"], run["alone"]) == (1, 2, 0)
    assert [r["order_id"] for r in requests] == [_id(1)]
    [message] = _drain(aws, wiring.wms_queue_id("WH-GZ"))
    body = json.loads(message["Body"])
    group = f"merge:{_id(1)}"
    assert message["MessageAttributes"]["idempotency_key"]["StringValue"] == f"{group}:1"
    assert (body["order_id"], body["merged_order_ids"]) == (group, [_id(1), _id(2)])
    assert [(ln["order_id"], ln["sku"], ln["quantity"]) for ln in body["lines"]] == [
        (_id(1), "TEA-1", 1), (_id(2), "CUP-1", 2)]
    for n in (1, 2):
        order = _order(_id(n))
        assert order["status"] == "dispatched"
        assert order["fulfillment"]["merge"]["group_id"] == group
        assert order["fulfillment"]["merge"]["order_ids"] == [_id(1), _id(2)]
        assert [e["event"] for e in order["timeline"]][-3:] == ["merge_waiting", "merged", "dispatched"]
    # When the run repeats at once / Then nothing more is asked for or sent
    again = _merge_run(clock)
    assert (again["groups"], again["alone"], again["asked_again"]) == (0, 0, 0)
    assert _dispatch_queued(aws) == []
    # When the third order's window ends / Then it leaves alone, as a plain instruction
    clock.later(1)
    assert _merge_run(clock)["alone"] == 1
    _dispatch_queued(aws)
    [single] = _drain(aws, wiring.wms_queue_id("WH-GZ"))
    plain = json.loads(single["Body"])
    assert (plain["order_id"], plain["idempotency_key"]) == (_id(3), f"{_id(3)}:1")
    assert "merged_order_ids" not in plain and all("order_id" not in ln for ln in plain["lines"])
    # When the WMS reports the parcel shipped, naming the group as the instruction did
    event = {"order_id": group, "event": "shipped", "event_id": "wms-77", "at": iso(clock()), "carrier": "SF",
             "tracking_no": "SF7700"}
    status, answer = _call(callbacks, "POST", "/fulfillment/events", "/fulfillment/events", event)
    # Then both orders shipped, each written back on its own, and each order's stock left the board
    assert status == 200
    assert [(o["order_id"], o["status"], o["outcome"]) for o in answer["orders"]] == [
        (_id(1), "shipped", "applied"), (_id(2), "shipped", "applied")]
    assert sorted(json.loads(m["Body"])["order_id"] for m in _drain(aws, wiring.WRITEBACK_QUEUE.id)) == [
        _id(1), _id(2)]
    # (TEA-1: one unit shipped, one still reserved by the third order)
    for sku, on_hand, reserved in (("TEA-1", 9, 1), ("CUP-1", 8, 0)):
        board = _call(inventory_api, "GET", "/inventory/{id}", f"/inventory/{sku}", path_params={"id": sku})[1]
        assert (board["totals"]["on_hand"], board["totals"]["reserved"]) == (on_hand, reserved)
        ledger = _call(inventory_api, "GET", "/inventory-ledger/{sku}", f"/inventory-ledger/{sku}",
                       path_params={"sku": sku})[1]
        assert all(w["explains_board"] for w in ledger["warehouses"])
    # And a single order's callback still answers as before
    single_event = {**event, "order_id": _id(3), "event": "accepted", "event_id": "wms-78"}
    status, answer = _call(callbacks, "POST", "/fulfillment/events", "/fulfillment/events", single_event)
    assert (status, answer) == (200, {"order_id": _id(3), "status": "accepted", "applied": True,
                                      "outcome": "applied"})
