"""Inventory through the real handlers on moto: WMS pushes and their 4xx bodies, the board, the policy, orders
reserving through the processor, the stock stream turning into events, and the sweeper releasing expired stock."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import boto3
import pytest

from functions.channel_webhook.handler import lambda_handler as webhook
from functions.fulfillment_callback.handler import lambda_handler as callbacks
from functions.inventory_api.handler import lambda_handler as inventory_api
from functions.order_processor.handler import lambda_handler as processor
from functions.reservation_sweeper.handler import lambda_handler as sweeper
from functions.stock_events.handler import lambda_handler as stock_events
from infra import wiring
from infra.local.provision import Resources, stream_id
from infra.local.scheduler import scheduled_event
from infra.local.stock_lab import synthetic_order
from infra.local.stream_poller import stream_event
from ocp import composition
from ocp.domain.clock import iso, utc_now
from ocp.domain.inventory.commit import OrderCommit
from ocp.domain.inventory.reservation import LockStrategy, Reservation, ReservationState, StockAllocation
from ocp.domain.inventory.stock import StockMovement, ledger_entry
from tests.integration.conftest import SHOPIFY_SECRET
from tests.support import FakeContext, api_event, fixture_bytes, shopify_headers, sqs_event

KEY = {"x-api-key": "k"}
CN_ORDER = "channels/shopify/orders_create.cn_discounted.json"


def _put(warehouse: str, sku: str, body: Any) -> tuple[int, Any]:
    raw = body if isinstance(body, str) else json.dumps(body)
    response = inventory_api(api_event("PUT", "/inventory/{id}/{sku}", f"/inventory/{warehouse}/{sku}", headers=KEY,
                                       path_params={"id": warehouse, "sku": sku}, body=raw), FakeContext())
    return response["statusCode"], json.loads(response["body"])


def _get(path: str, resource: str, params: dict[str, str] | None = None) -> tuple[int, Any]:
    response = inventory_api(api_event("GET", resource, path, headers=KEY, path_params=params), FakeContext())
    return response["statusCode"], json.loads(response["body"])


def _order_through_the_pipeline(resources: Resources, body: bytes) -> None:
    webhook(api_event("POST", "/webhooks/{channel}", "/webhooks/shopify", body=body.decode(),
                      headers=shopify_headers(body, SHOPIFY_SECRET), path_params={"channel": "shopify"}),
            FakeContext())
    sqs = boto3.client("sqs")
    url = resources.resolve(wiring.Ref(wiring.ORDERS_INBOX.id, "url"))
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert processor(sqs_event([m["Body"] for m in messages]), FakeContext()) == {"batchItemFailures": []}


def test_a_push_creates_an_unknown_sku_and_ignores_repeated_or_stale_versions(aws: Resources) -> None:
    # Given / When the WMS pushes a SKU OCP has never seen, then repeats and back-dates it
    created = _put("WH-GZ", "TEA-LONGJING-250", {"on_hand": 12, "version": 5, "safety_stock": 2})
    repeated = _put("WH-GZ", "TEA-LONGJING-250", {"on_hand": 99, "version": 5})
    stale = _put("WH-GZ", "TEA-LONGJING-250", {"on_hand": 99, "version": 4})
    # Then it is created and says so, and the other two are 200 with applied false and the reason
    assert created[0] == 200 and created[1]["applied"] and created[1]["created"]
    assert created[1]["level"]["available"] == 12 and created[1]["level"]["safety_stock"] == 2
    assert [(r[0], r[1]["applied"], r[1]["reason"], r[1]["stored_version"]) for r in (repeated, stale)] == [
        (200, False, "repeated_version", 5), (200, False, "stale_version", 5)]


@pytest.mark.parametrize(("warehouse", "body", "field"), [
    ("WH-GZ", {"on_hand": -1, "version": 1}, "on_hand"),
    ("WH-GZ", {"on_hand": 1.5, "version": 1}, "on_hand"),
    ("WH-GZ", {"on_hand": "3", "version": 1}, "on_hand"),
    ("WH-GZ", {"on_hand": 3, "version": "v2"}, "version"),
    ("WH-GZ", {"on_hand": 3}, "version"),
    ("WH-GZ", {"on_hand": 3, "version": 1, "safety_stock": -2}, "safety_stock"),
    ("WH-NOWHERE", {"on_hand": 3, "version": 1}, "warehouse"),
])
def test_bad_pushes_are_400_naming_the_field(aws: Resources, warehouse: str, body: dict[str, Any], field: str) -> None:
    # Given / When a push with one bad field / Then 400 naming it
    status, error = _put(warehouse, "SKU-1", body)
    assert status == 400, error
    assert field in {d["field"] for d in error["error"]["details"]}, error


def test_a_body_that_is_not_json_is_400(aws: Resources) -> None:
    # Given / When / Then
    status, error = _put("WH-GZ", "SKU-1", "on_hand=3")
    assert status == 400 and error["error"]["code"] == "invalid_request"


def test_the_board_shows_every_warehouse_the_channels_and_the_ledger_explains_it(aws: Resources) -> None:
    # Given stock in two warehouses and a paid order through the real pipeline
    for sku in ("TEA-LONGJING-250", "CUP-CELADON"):
        _put("WH-SH", sku, {"on_hand": 1, "version": 1})
        _put("WH-GZ", sku, {"on_hand": 10, "version": 1, "safety_stock": 3})
    _order_through_the_pipeline(aws, fixture_bytes(CN_ORDER))
    # When the board and the ledger are read
    status, board = _get("/inventory/TEA-LONGJING-250", "/inventory/{id}", {"id": "TEA-LONGJING-250"})
    _, ledger = _get("/inventory-ledger/TEA-LONGJING-250", "/inventory-ledger/{sku}", {"sku": "TEA-LONGJING-250"})
    # Then WH-GZ (WH-SH has only 1, the order needs 2) holds the reservation, channels see what can be sold
    assert status == 200
    assert [(w["warehouse"], w["on_hand"], w["reserved"], w["available"]) for w in board["warehouses"]] == [
        ("WH-GZ", 10, 2, 8), ("WH-SH", 1, 0, 1)]
    assert board["totals"] == {"on_hand": 11, "reserved": 2, "available": 9, "safety_stock": 3}
    assert board["channels"]["douyin"]["listed"] == 9
    assert all(w["explains_board"] for w in ledger["warehouses"])
    order = composition.order_store().get("shopify-5840912375611902001")
    assert order is not None and order.status == "reserved" and order.warehouse == "WH-GZ"
    assert _get("/inventory/NOPE", "/inventory/{id}", {"id": "NOPE"})[0] == 404


def test_the_policy_round_trips_with_a_version(aws: Resources) -> None:
    # Given a policy document / When it is stored and read back, and a bad one sent / Then versioned; 400
    document = {"default_strategy": "reserve_on_payment", "channels": {"douyin": {"strategy": "pre_reserve",
                                                                                  "expiry_minutes": 10}},
                "skus": {"HOT": {"shards": 4, "purchase_limit": 2}}}
    response = inventory_api(api_event("PUT", "/inventory-policy", "/inventory-policy", headers=KEY,
                                       body=json.dumps(document)), FakeContext())
    assert response["statusCode"] == 200 and json.loads(response["body"])["version"] == 1
    status, stored = _get("/inventory-policy", "/inventory-policy")
    assert status == 200 and stored["skus"]["HOT"] == {"strategy": None, "expiry_minutes": None, "purchase_limit": 2,
                                                        "shards": 4, "unpaid_expiry_minutes": None}
    assert stored["unpaid_expiry_minutes"] == 60
    bad = inventory_api(api_event("PUT", "/inventory-policy", "/inventory-policy", headers=KEY,
                                  body=json.dumps({"default_strategy": "reserve_whenever"})), FakeContext())
    assert bad["statusCode"] == 400


def _events_tap(resources: Resources) -> tuple[Any, str]:
    """An SQS queue receiving every event on the OCP bus and every message on the alert topic."""
    sqs, events, sns = boto3.client("sqs"), boto3.client("events"), boto3.client("sns")
    url = sqs.create_queue(QueueName="tap")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    bus = resources.resolve(wiring.Ref(wiring.EVENTS_BUS.id))
    events.put_rule(Name="tap", EventBusName=bus, EventPattern=json.dumps({"source": ["ocp.inventory"]}))
    events.put_targets(Rule="tap", EventBusName=bus, Targets=[{"Id": "q", "Arn": arn}])
    sns.subscribe(TopicArn=resources.resolve(wiring.Ref(wiring.STOCK_ALERTS.id, "arn")), Protocol="sqs",
                  Endpoint=arn)
    return sqs, url


def _stream_records(resources: Resources, changes_per_item: int) -> list[dict[str, Any]]:
    """Stream records (as `GetRecords` returns them) for every stock item. In-process moto does not serve
    DynamoDB Streams (its server mode does: the e2e suite reads the real stream through the local runtime)."""
    client = boto3.client("dynamodb")
    items = client.scan(TableName=resources.resolve(wiring.Ref(wiring.STOCK.id)))["Items"]
    return [
        {"eventID": f"{n}-{i}", "eventName": "MODIFY", "eventVersion": "1.1", "dynamodb": {
            "Keys": {"stock_id": item["stock_id"]}, "NewImage": item, "SequenceNumber": f"{n:05}{i:03}",
            "SizeBytes": 100, "StreamViewType": "NEW_AND_OLD_IMAGES"}}
        for n in range(changes_per_item) for i, item in enumerate(items)
    ]


def test_the_stock_stream_becomes_one_alert_per_crossing_and_coalesced_listings(aws: Resources) -> None:
    # Given a SKU pushed with safety stock 2 and then sold below it by two orders (eight stream records)
    sqs, tap = _events_tap(aws)
    for sku in ("TEA-LONGJING-250", "CUP-CELADON"):
        _put("WH-GZ", sku, {"on_hand": 3, "version": 1, "safety_stock": 2})
    _order_through_the_pipeline(aws, fixture_bytes(CN_ORDER))
    records = _stream_records(aws, changes_per_item=4)
    # When the whole batch reaches the stock_events function, twice (a stream retry)
    arn = aws.resolve(wiring.Ref(stream_id(wiring.STOCK.id), "arn"))
    assert stock_events(stream_event(records, arn), FakeContext()) == {"batchItemFailures": []}
    assert stock_events(stream_event(records, arn), FakeContext()) == {"batchItemFailures": []}
    # Then one low alert (with an SNS message) and one coupon suspension for TEA (3 → 1, below 2), none for CUP
    # (3 → 2, not below 2), and each SKU's listing once per channel
    received = []
    while batch := sqs.receive_message(QueueUrl=tap, MaxNumberOfMessages=10).get("Messages", []):
        received += [json.loads(m["Body"]) for m in batch]
    events = [(m["detail-type"], m["detail"].get("sku"), m["detail"].get("channel")) for m in received
              if "detail-type" in m]
    low = [e for e in events if e[0] in ("stock.low", "coupon.suspend")]
    assert sorted(low) == [("coupon.suspend", "TEA-LONGJING-250", None), ("stock.low", "TEA-LONGJING-250", None)]
    listings = [e for e in events if e[0] == "listing.update"]
    assert len(listings) == 8 and len(set(listings)) == 8
    alerts = [m for m in received if m.get("Type") == "Notification"]
    assert [a["Subject"] for a in alerts] == ["OCP stock low: TEA-LONGJING-250 at WH-GZ"]


def test_the_sweeper_releases_expired_unpaid_pre_reservations(aws: Resources) -> None:
    # Given an unpaid order whose pre-reservation expired a minute ago
    _put("WH-GZ", "HOT", {"on_hand": 5, "version": 1})
    orders = composition.processing_deps().orders
    now = utc_now()
    order = synthetic_order(1, "HOT", 2, status="pending_payment").model_copy(update={"reservation": Reservation(
        seq=1, state=ReservationState.active, strategy=LockStrategy.pre_reserve, warehouse="WH-GZ",
        allocations=(StockAllocation(sku="HOT", quantity=2),), reserved_at=now - timedelta(minutes=16),
        expires_at=now - timedelta(minutes=1))})
    move = StockMovement.reserve("WH-GZ", "HOT", 0, 2)
    assert orders.commit(OrderCommit(order=order, expected_revision=None, movements=(move,), ledger=(
        ledger_entry(move, "order#shopify-1#1#reserve#WH-GZ#0#HOT", actor="t", reason="r", at=now),))) is None
    # When the scheduled sweep runs
    schedule = next(s for s in wiring.SCHEDULES if s.function == "reservation_sweeper")
    summary = sweeper(scheduled_event(schedule), FakeContext())
    # Then its stock is back on sale
    assert summary["released"] == ["shopify-1"]
    status, board = _get("/inventory/HOT", "/inventory/{id}", {"id": "HOT"})
    assert board["totals"]["available"] == 5 and board["totals"]["reserved"] == 0


# ---- held for stock → retried on restock; pushes and shipments agree -------------------------------------

CN_ORDER_ID = "shopify-5840912375611902001"
CN_SKUS = ("TEA-LONGJING-250", "CUP-CELADON")


def _restock_records(resources: Resources) -> list[dict[str, Any]]:
    """One stream record per stock item, as a push that raised it from nothing writes it (old image: 0)."""
    client = boto3.client("dynamodb")
    items = client.scan(TableName=resources.resolve(wiring.Ref(wiring.STOCK.id)))["Items"]
    return [
        {"eventID": f"r-{i}", "eventName": "MODIFY", "eventVersion": "1.1", "dynamodb": {
            "Keys": {"stock_id": item["stock_id"]}, "NewImage": item,
            "OldImage": {**item, "on_hand": {"N": "0"}, "available": {"N": "0"}}, "SequenceNumber": f"9{i:05}",
            "SizeBytes": 100, "StreamViewType": "NEW_AND_OLD_IMAGES"}}
        for i, item in enumerate(items)
    ]


def test_a_restock_on_the_stream_reserves_an_order_held_for_stock_and_dispatches_it(aws: Resources) -> None:
    # Given both SKUs sold out, and a paid order held for stock through the real pipeline
    for sku in CN_SKUS:
        _put("WH-GZ", sku, {"on_hand": 0, "version": 1})
    _order_through_the_pipeline(aws, fixture_bytes(CN_ORDER))
    held = composition.order_store().get(CN_ORDER_ID)
    assert held is not None and held.status == "held" and [h.reason for h in held.holds] == ["insufficient_stock"]
    # When the WMS pushes stock and the stream brings the change to stock_events, twice (a redelivery)
    for sku in CN_SKUS:
        _put("WH-GZ", sku, {"on_hand": 5, "version": 2})
    event = stream_event(_restock_records(aws), aws.resolve(wiring.Ref(stream_id(wiring.STOCK.id), "arn")))
    assert stock_events(event, FakeContext()) == {"batchItemFailures": []}
    assert stock_events(event, FakeContext()) == {"batchItemFailures": []}
    # Then the order is reserved once, by OCP, and handed to the dispatcher
    order = composition.order_store().get(CN_ORDER_ID)
    assert order is not None and order.status == "reserved" and order.holds == ()
    [released] = [(e.actor, e.detail) for e in order.timeline if e.event == "released"]
    assert released in {("ocp", f"released automatically: stock arrived for {sku}") for sku in CN_SKUS}
    status, board = _get(f"/inventory/{CN_SKUS[0]}", "/inventory/{id}", {"id": CN_SKUS[0]})
    assert board["totals"]["reserved"] == 2
    url = aws.resolve(wiring.Ref(wiring.DISPATCH_QUEUE.id, "url"))
    messages = boto3.client("sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    assert [json.loads(m["Body"])["order_id"] for m in messages] == [CN_ORDER_ID]


def _ship(at: str) -> dict[str, Any]:
    body = {"order_id": CN_ORDER_ID, "event": "shipped", "event_id": "wms-ship-1", "at": at, "carrier": "SF",
            "tracking_no": "SF1001"}
    response = callbacks(api_event("POST", "/fulfillment/events", "/fulfillment/events", body=json.dumps(body),
                                   headers=KEY), FakeContext())
    assert response["statusCode"] == 200, response["body"]
    answer: dict[str, Any] = json.loads(response["body"])
    return answer


def test_a_push_that_counted_a_parcel_and_its_shipped_callback_take_it_off_once(aws: Resources) -> None:
    # Given 10 of each SKU counted an hour ago and the order (2 TEA, 1 CUP) reserved through the pipeline
    now = utc_now()
    for sku in CN_SKUS:
        _put("WH-GZ", sku, {"on_hand": 10, "version": 1, "as_of": iso(now - timedelta(hours=1))})
    _order_through_the_pipeline(aws, fixture_bytes(CN_ORDER))
    # When the parcel leaves 5 minutes ago, the WMS pushes a count from a minute ago (it no longer has the parcel),
    # and only then does the shipped callback arrive
    _put("WH-GZ", CN_SKUS[0], {"on_hand": 8, "version": 2, "as_of": iso(now - timedelta(minutes=1))})
    _put("WH-GZ", CN_SKUS[1], {"on_hand": 9, "version": 2, "as_of": iso(now - timedelta(minutes=1))})
    assert _ship(iso(now - timedelta(minutes=5)))["status"] == "shipped"
    # Then each SKU lost the parcel once, nothing stays reserved, and the ledger explains the board
    for sku, left in zip(CN_SKUS, (8, 9), strict=True):
        _, board = _get(f"/inventory/{sku}", "/inventory/{id}", {"id": sku})
        assert (board["totals"]["on_hand"], board["totals"]["reserved"], board["totals"]["available"]) == (
            left, 0, left)
        assert board["warehouses"][0]["counted_at"] == iso(now - timedelta(minutes=1))
        _, ledger = _get(f"/inventory-ledger/{sku}", "/inventory-ledger/{sku}", {"sku": sku})
        assert all(w["explains_board"] for w in ledger["warehouses"])
        assert [e["kind"] for e in ledger["entries"] if e.get("order_id")] == ["reserve", "ship_counted"]


def test_a_push_with_a_count_time_without_an_offset_is_400(aws: Resources) -> None:
    # Given / When / Then: as_of must say its offset (UTC ISO-8601)
    status, error = _put("WH-GZ", "SKU-1", {"on_hand": 1, "version": 1, "as_of": "2026-11-11T12:00:00"})
    assert status == 400 and "as_of" in {d["field"] for d in error["error"]["details"]}
