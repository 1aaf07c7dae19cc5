"""Fulfilment on moto: callbacks through the handler, dispatch to the warehouse queues and an HTTP WMS, the stuck
report, bulk re-dispatch and the watchdog — every resource as wiring declares it."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import boto3
import pytest

from functions.dispatcher.handler import lambda_handler as dispatcher
from functions.fulfillment_callback.handler import lambda_handler as callbacks
from functions.fulfillment_ops.handler import lambda_handler as fulfillment_ops
from functions.watchdog.handler import lambda_handler as watchdog
from infra import wiring
from infra.local.provision import Resources
from ocp import composition
from ocp.adapters.dynamodb.orders import DynamoOrderStore
from ocp.adapters.wms import HttpWms
from ocp.domain.clock import iso, utc_now
from ocp.domain.fulfillment.dispatch import DispatchRequest, WmsRejected, WmsUnavailable, instruction_for
from ocp.domain.order.model import Order, OrderStatus
from tests.fakes.wms_http import FakeHttpWms
from tests.fulfillment_support import ORDER_ID, order_at
from tests.integration.conftest import drain
from tests.support import FakeContext, api_event, sqs_event

HEADERS = {"x-api-key": "k", "Content-Type": "application/json"}


def _store(aws: Resources) -> DynamoOrderStore:
    return DynamoOrderStore(boto3.resource("dynamodb").Table(aws.resolve(wiring.Ref(wiring.ORDERS.id))))


def _seed(aws: Resources, order: Order) -> Order:
    _store(aws).create(order)
    return order


def _stored(aws: Resources, order_id: str = ORDER_ID) -> Order:
    order = _store(aws).get(order_id)
    assert order is not None
    return order


def _post_event(**body: Any) -> tuple[int, dict[str, Any]]:
    document = {"order_id": ORDER_ID, "at": iso(utc_now()), **body}
    response = callbacks(api_event("POST", "/fulfillment/events", "/fulfillment/events", body=json.dumps(document),
                                   headers=HEADERS), FakeContext())
    return response["statusCode"], json.loads(response["body"])


# ---- callbacks ----------------------------------------------------------------------------------------


def test_callbacks_move_the_order_forward_and_answer_with_the_outcome(aws: Resources) -> None:
    # Given an order dispatched to WH-GZ
    _seed(aws, order_at(OrderStatus.dispatched, since=utc_now()))
    # When the WMS reports accepted, then picked
    answers = [_post_event(event="accepted", event_id="wms-1"), _post_event(event="picked", event_id="wms-2")]
    # Then each answer is 200 with where the order stands and what the callback did
    assert answers == [
        (200, {"order_id": ORDER_ID, "status": "accepted", "applied": True, "outcome": "applied"}),
        (200, {"order_id": ORDER_ID, "status": "picked", "applied": True, "outcome": "applied"}),
    ]
    order = _stored(aws)
    assert [(e.event, e.source) for e in order.timeline[-2:]] == [("accepted", "wms:WH-GZ"), ("picked", "wms:WH-GZ")]


def test_a_duplicate_callback_is_a_no_op_with_one_timeline_entry(aws: Resources) -> None:
    # Given an order dispatched to WH-GZ
    _seed(aws, order_at(OrderStatus.dispatched, since=utc_now()))
    # When the same shipped callback arrives three times
    answers = [_post_event(event="shipped", event_id="wms-9", carrier="SF", tracking_no="SF1001") for _ in range(3)]
    # Then the first applies and the others are duplicates; one timeline entry, one shipment, one write
    assert [(a[1]["outcome"], a[1]["applied"], a[1]["status"]) for a in answers] == [
        ("applied", True, "shipped"), ("duplicate", False, "shipped"), ("duplicate", False, "shipped")]
    order = _stored(aws)
    assert [e.event for e in order.timeline].count("shipped") == 1
    assert len(order.fulfillment.shipments) == 1 and order.revision == 2
    # and the stored item carries the sparse write-back key as text, for the index
    item = boto3.resource("dynamodb").Table(aws.resolve(wiring.Ref(wiring.ORDERS.id))).get_item(
        Key={"order_id": ORDER_ID})["Item"]
    assert item["writeback_pending_since"] == iso(order.fulfillment.shipments[0].writeback.requested_at)


def test_a_late_callback_is_recorded_without_moving_the_order_back(aws: Resources) -> None:
    # Given an order the WMS reported packed
    _seed(aws, order_at(OrderStatus.dispatched, since=utc_now()))
    _post_event(event="packed", event_id="wms-3")
    # When the earlier `picked` arrives late
    status, answer = _post_event(event="picked", event_id="wms-2")
    # Then it is recorded, the status stays packed
    assert (status, answer["outcome"], answer["status"], answer["applied"]) == (200, "late", "packed", False)
    assert _stored(aws).timeline[-1].detail == "late: order already packed"


def test_an_impossible_callback_is_recorded_and_raised_on_the_order(aws: Resources) -> None:
    # Given a cancelled order / When the carrier reports it delivered
    _seed(aws, order_at(OrderStatus.cancelled, since=utc_now()))
    status, answer = _post_event(event="delivered", event_id="tms-1")
    # Then 200 (received, do not resend) with outcome impossible, and an issue on the order
    assert (status, answer["outcome"], answer["status"]) == (200, "impossible", "cancelled")
    assert _stored(aws).fulfillment.issues[0].kind == "impossible_event"


@pytest.mark.parametrize(("body", "field"), [
    ({"event": "teleported", "event_id": "x"}, "event"),
    ({"event": "shipped", "event_id": "x", "carrier": "SF"}, "tracking_no"),
    ({"event": "accepted"}, "event_id"),
])
def test_a_bad_callback_is_400_naming_the_field(aws: Resources, body: dict[str, Any], field: str) -> None:
    # Given / When
    status, answer = _post_event(**body)
    # Then
    assert status == 400 and answer["error"]["code"] == "invalid_request"
    assert field in [d["field"] for d in answer["error"]["details"]]


def test_a_callback_for_an_unknown_order_is_404(aws: Resources) -> None:
    # Given no orders / When / Then
    status, answer = _post_event(event="accepted", event_id="x", order_id="shopify-404")
    assert (status, answer["error"]["code"]) == (404, "order_not_found")


# ---- dispatch -----------------------------------------------------------------------------------------


def _dispatch_event(*requests: DispatchRequest) -> dict[str, Any]:
    return sqs_event([r.model_dump_json() for r in requests])


def test_dispatcher_hands_a_reserved_order_to_its_warehouse_queue_then_marks_it(aws: Resources) -> None:
    # Given a reserved order routed to WH-GZ
    _seed(aws, order_at(OrderStatus.reserved, since=utc_now()))
    # When the dispatch request is processed, and then redelivered
    first = dispatcher(_dispatch_event(DispatchRequest(order_id=ORDER_ID)), FakeContext())
    again = dispatcher(_dispatch_event(DispatchRequest(order_id=ORDER_ID)), FakeContext())
    # Then WH-GZ's queue holds exactly one instruction, keyed for idempotency, and no other warehouse got one
    assert first == again == {"batchItemFailures": []}
    [message] = drain(aws, wiring.wms_queue_id("WH-GZ"))
    assert message["MessageAttributes"]["idempotency_key"]["StringValue"] == f"{ORDER_ID}:1"
    instruction = json.loads(message["Body"])
    assert (instruction["warehouse"], instruction["version"], instruction["lines"][0]["sku"]) == (
        "WH-GZ", 1, "TEA-LONGJING-250")
    assert drain(aws, wiring.wms_queue_id("WH-SH")) == []
    # and the order is dispatched with the SQS message id on its timeline
    order = _stored(aws)
    assert (order.status, order.fulfillment.instruction_version) == (OrderStatus.dispatched, 1)
    assert order.timeline[-1].detail == f"instruction v1 to WH-GZ (sqs message {message['MessageId']})"


def test_a_warehouse_without_a_wms_is_recorded_not_retried(aws: Resources) -> None:
    # Given a reserved order for a warehouse no WMS is configured for
    _seed(aws, order_at(OrderStatus.reserved, since=utc_now(), warehouse="WH-XX"))
    # When dispatched
    result = dispatcher(_dispatch_event(DispatchRequest(order_id=ORDER_ID)), FakeContext())
    # Then the record is done (no redelivery), and the order says why it stays reserved
    assert result == {"batchItemFailures": []}
    order = _stored(aws)
    assert order.status == OrderStatus.reserved
    assert order.fulfillment.issues[-1].reason == (
        "WH-XX: no WMS configured for warehouse WH-XX: PUT /warehouses/WH-XX with a wms, then re-dispatch "
        "(POST /orders:redispatch)")
    assert order.timeline[-1].event == "dispatch_rejected"


def test_dispatcher_invoked_with_order_ids_answers_per_order(aws: Resources) -> None:
    # Given a reserved order and an unknown id
    _seed(aws, order_at(OrderStatus.reserved, since=utc_now()))
    # When invoked directly
    result = dispatcher({"order_ids": [ORDER_ID, "shopify-404"], "actor": "ops"}, FakeContext())
    # Then
    assert [(r["order_id"], r["outcome"], r["version"]) for r in result["results"]] == [
        (ORDER_ID, "dispatched", 1), ("shopify-404", "not_found", None)]
    assert _stored(aws).timeline[-1].actor == "ops"


WMS_SECRET = "integration-wms-secret"
SECRETS = {"WH-GZ": WMS_SECRET}


def _instruction() -> Any:
    return instruction_for(order_at(OrderStatus.reserved), version=3, now=utc_now())


def test_http_wms_retries_with_the_same_idempotency_key_until_handed_over() -> None:
    # Given a WMS that answers 503 (with Retry-After: 1), then 429, then 200
    delays: list[float] = []
    with FakeHttpWms.serve(script=[503, 429, 200], retry_after="1", secret=WMS_SECRET) as wms:
        # When the instruction is pushed
        receipt = HttpWms(wms.url, secrets=SECRETS, sleep=delays.append, jitter=lambda: 0.5).send(_instruction())
    # Then three posts carried one key; the waits honoured Retry-After, then backed off with jitter
    assert wms.keys() == [f"{ORDER_ID}:3"] * 3
    assert wms.received[0].body["idempotency_key"] == f"{ORDER_ID}:3"
    assert receipt == "http 200 ref WMS-3"
    assert delays == [1.0, 0.5]


def test_http_wms_refusal_is_not_retried() -> None:
    # Given a WMS that answers 422 / When / Then: one post, refused for good
    with FakeHttpWms.serve(script=[422]) as wms, pytest.raises(WmsRejected):
        HttpWms(wms.url, secrets=SECRETS, sleep=lambda _: None).send(_instruction())
    assert len(wms.received) == 1


def test_http_wms_that_stays_down_is_unavailable_after_its_attempts() -> None:
    # Given a WMS that keeps failing / When / Then
    with FakeHttpWms.serve(script=[500, 502, 503, 200]) as wms, pytest.raises(WmsUnavailable) as failed:
        HttpWms(wms.url, secrets=SECRETS, attempts=3, sleep=lambda _: None).send(_instruction())
    assert len(wms.received) == 3 and "HTTP 503" in failed.value.message
    # and one that is not listening at all is unavailable too
    with pytest.raises(WmsUnavailable):
        HttpWms("http://127.0.0.1:9/instructions", secrets=SECRETS, attempts=2, timeout_s=1,
                sleep=lambda _: None).send(_instruction())


def test_dispatcher_pushes_to_an_http_wms_configured_for_the_warehouse(
    aws: Resources, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given WH-GZ configured as an HTTP WMS that fails once, and its signing secret
    _seed(aws, order_at(OrderStatus.reserved, since=utc_now()))
    monkeypatch.setenv("OCP_WMS_SECRET_WH_GZ", WMS_SECRET)
    with FakeHttpWms.serve(script=[503], secret=WMS_SECRET) as wms:
        monkeypatch.setenv("WMS_HTTP_ENDPOINTS", json.dumps({"WH-GZ": wms.url}))
        composition.reset()
        # When the order is dispatched
        result = dispatcher(_dispatch_event(DispatchRequest(order_id=ORDER_ID)), FakeContext())
    # Then the push was retried under one key, nothing went to the queue, and the order is dispatched
    assert result == {"batchItemFailures": []}
    assert wms.keys() == [f"{ORDER_ID}:1", f"{ORDER_ID}:1"]
    assert all(r.verified for r in wms.received)
    assert drain(aws, wiring.wms_queue_id("WH-GZ")) == []
    assert _stored(aws).status == OrderStatus.dispatched


# ---- stuck orders, re-dispatch, watchdog ------------------------------------------------------------------


def _ops(method: str, path: str, body: Any = None, query: dict[str, str] | None = None) -> tuple[int, Any]:
    event = api_event(method, path, path, headers=HEADERS, query=query,
                      body=json.dumps(body) if body is not None else None)
    response = fulfillment_ops(event, FakeContext())
    return response["statusCode"], json.loads(response["body"])


def _stuck_pair(aws: Resources) -> None:
    """One order dispatched an hour ago (past the 15-minute acceptance SLA), one a minute ago."""
    now = utc_now().replace(microsecond=0)
    _seed(aws, order_at(OrderStatus.dispatched, since=now - timedelta(hours=1)))
    _seed(aws, order_at(OrderStatus.dispatched, since=now - timedelta(minutes=1), order_id="shopify-fresh",
                        channel_order_id="fresh"))


def test_get_orders_stuck_answers_per_hop_with_count_and_oldest(aws: Resources) -> None:
    # Given one order stuck waiting for WMS acceptance and one within its SLA
    _stuck_pair(aws)
    # When an operator asks where orders are stuck
    status, report = _ops("GET", "/orders/stuck", query={"sample": "5"})
    # Then the `wms_acceptance` hop lists the stuck one, and every SLA hop is present
    assert status == 200
    hops = {hop["hop"]: hop for hop in report["hops"]}
    acceptance = hops["wms_acceptance"]
    assert (acceptance["status"], acceptance["count"], acceptance["oldest"]["order_id"]) == (
        "dispatched", 1, ORDER_ID)
    assert [o["order_id"] for o in acceptance["orders"]] == [ORDER_ID]
    assert set(hops) >= {"dispatch", "carrier_pickup", "channel_writeback"} and report["sla_version"] == 0
    # and a bad sample size is a 400
    assert _ops("GET", "/orders/stuck", query={"sample": "-1"})[0] == 400


def test_redispatch_of_a_stuck_hop_queues_the_next_instruction_version(aws: Resources) -> None:
    # Given one order stuck at wms_acceptance
    _stuck_pair(aws)
    # When an operator re-dispatches the hop
    status, answer = _ops("POST", "/orders:redispatch", {"hop": "wms_acceptance", "actor": "ops@example.com"})
    # Then it is accepted for asynchronous dispatch
    assert (status, answer) == (202, {"queued": [ORDER_ID], "skipped": [], "not_found": []})
    # When the dispatcher takes the queued request
    requests = drain(aws, wiring.DISPATCH_QUEUE.id)
    assert dispatcher(sqs_event([m["Body"] for m in requests]), FakeContext()) == {"batchItemFailures": []}
    # Then the warehouse got version 2, and the order is dispatched again since now, by the operator
    [message] = drain(aws, wiring.wms_queue_id("WH-GZ"))
    assert message["MessageAttributes"]["idempotency_key"]["StringValue"] == f"{ORDER_ID}:2"
    order = _stored(aws)
    assert (order.timeline[-1].event, order.timeline[-1].actor) == ("redispatched", "ops@example.com")
    assert utc_now() - order.status_since < timedelta(minutes=1)


def test_redispatch_needs_orders_or_a_hop_the_warehouse_has_not_accepted(aws: Resources) -> None:
    # Given / When / Then
    assert _ops("POST", "/orders:redispatch", {})[0] == 400
    status, answer = _ops("POST", "/orders:redispatch", {"hop": "carrier_pickup"})
    assert (status, answer["error"]["code"]) == (400, "invalid_query")


def test_watchdog_publishes_counts_per_hop_and_warns_when_a_backlog_grows(
    aws: Resources, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    # Given one stuck order at the first run, two at the second
    now = utc_now().replace(microsecond=0)
    _seed(aws, order_at(OrderStatus.dispatched, since=now - timedelta(hours=1)))
    first = watchdog({}, FakeContext())
    _seed(aws, order_at(OrderStatus.dispatched, since=now - timedelta(hours=2), order_id="shopify-2",
                        channel_order_id="2"))
    capsys.readouterr()
    caplog.clear()
    # When the watchdog runs again
    second = watchdog({}, FakeContext())
    # Then it reports the growth against the counts it saved
    assert first["grown"] == {"wms_acceptance": [0, 1]}
    assert (second["grown"], second["counts"]["wms_acceptance"]) == ({"wms_acceptance": [1, 2]}, 2)
    # and publishes EMF metrics per hop (dimensions service + hop) and the number of hops that grew
    emf = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith('{"_aws"')]
    per_hop = {(name, m["hop"]): (m[name], m["_aws"]["CloudWatchMetrics"][0]["Dimensions"])
               for m in emf for name in ("StuckOrders", "StuckOldestMinutes") if name in m}
    assert per_hop["StuckOrders", "wms_acceptance"] == ([2.0], [["service", "hop"]])
    [oldest_minutes] = per_hop["StuckOldestMinutes", "wms_acceptance"][0]
    assert 120 <= oldest_minutes < 121  # the older order was seeded two hours back
    assert per_hop["StuckOrders", "dispatch"] == ([0.0], [["service", "hop"]])
    # (exactly the metric and dimensions the monitoring alarm watches)
    assert [(m["StuckBacklogGrew"], m["service"], m["_aws"]["CloudWatchMetrics"][0]["Dimensions"])
            for m in emf if "StuckBacklogGrew" in m] == [([1.0], "watchdog", [["service"]])]
    # and a warning event naming the hop, the counts and the oldest order
    [warning] = [r for r in caplog.records if r.getMessage() == "stuck backlog grew"]
    assert (warning.levelname, warning.hop, warning.previous, warning.current, warning.oldest_order_id) == (
        "WARNING", "wms_acceptance", 1, 2, "shopify-2")
