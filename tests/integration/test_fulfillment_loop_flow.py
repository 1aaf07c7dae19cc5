"""The fulfilment loop through the handlers on moto: a real order (webhook → processor → reserved) dispatched, shipped
through the callback with its stock deducted, written back to the (fake, HTTP) Shopify API by `channel_writeback`
(queue and sweep), reconciled after the channel cancels it (stop instruction, alert, checkpoint), and stopped at once
when an operator cancels it (202, one cancel instruction through the dispatcher, cancelled once the WMS confirms)."""

from __future__ import annotations

import json
from typing import Any

import boto3

from functions.channel_webhook.handler import lambda_handler as webhook
from functions.channel_writeback.handler import lambda_handler as channel_writeback
from functions.dispatcher.handler import lambda_handler as dispatcher
from functions.fulfillment_callback.handler import lambda_handler as callbacks
from functions.inventory_api.handler import lambda_handler as inventory_api
from functions.order_processor.handler import lambda_handler as processor
from functions.orders_ops.handler import lambda_handler as orders_ops
from functions.reconciliation.handler import lambda_handler as reconciliation
from infra import wiring
from infra.local.provision import Resources
from infra.local.scheduler import scheduled_event
from ocp.adapters.dynamodb.orders import DynamoOrderStore
from ocp.domain.clock import iso, utc_now
from ocp.domain.fulfillment.state import WritebackState
from ocp.domain.order.model import Order, OrderStatus
from tests.fakes.channel_apis import FakeChannelApis
from tests.integration.conftest import SHOPIFY_SECRET, drain, shopify_document
from tests.support import FakeContext, api_event, shopify_headers, sqs_event

ORDER_ID = "shopify-5840912375611902001"
CHANNEL_ORDER_ID = "5840912375611902001"
KEY = {"x-api-key": "k", "Content-Type": "application/json"}
DOCUMENT = "channels/shopify/orders_create.cn_discounted.json"


def _stored(aws: Resources) -> Order:
    order = DynamoOrderStore(boto3.resource("dynamodb").Table(aws.resolve(wiring.Ref(wiring.ORDERS.id)))).get(ORDER_ID)
    assert order is not None
    return order


def _on_hand(sku: str) -> tuple[int, int]:
    response = inventory_api(api_event("GET", "/inventory/{id}", f"/inventory/{sku}", headers=KEY,
                                       path_params={"id": sku}), FakeContext())
    totals = json.loads(response["body"])["totals"]
    return totals["on_hand"], totals["reserved"]


def _dispatched_order(aws: Resources) -> Order:
    """Stock pushed, the signed webhook through the processor (reserved), then the dispatcher's hand-over."""
    for sku in ("TEA-LONGJING-250", "CUP-CELADON"):
        inventory_api(api_event("PUT", "/inventory/{id}/{sku}", f"/inventory/WH-GZ/{sku}", headers=KEY,
                                path_params={"id": "WH-GZ", "sku": sku},
                                body=json.dumps({"on_hand": 10, "version": 1})), FakeContext())
    body = json.dumps(shopify_document(), ensure_ascii=False).encode()
    webhook(api_event("POST", "/webhooks/{channel}", "/webhooks/shopify", body=body.decode(),
                      headers=shopify_headers(body, SHOPIFY_SECRET), path_params={"channel": "shopify"}),
            FakeContext())
    inbox = drain(aws, wiring.ORDERS_INBOX.id)
    assert processor(sqs_event([m["Body"] for m in inbox]), FakeContext()) == {"batchItemFailures": []}
    assert _stored(aws).status == OrderStatus.reserved, _stored(aws).holds
    dispatcher({"order_ids": [ORDER_ID]}, FakeContext())
    drain(aws, wiring.DISPATCH_QUEUE.id)  # whatever the processor queued for the dispatcher: handed over already
    order = _stored(aws)
    assert order.status == OrderStatus.dispatched
    return order


def _callback(**body: Any) -> dict[str, Any]:
    document = {"order_id": ORDER_ID, "at": iso(utc_now()), **body}
    response = callbacks(api_event("POST", "/fulfillment/events", "/fulfillment/events", body=json.dumps(document),
                                   headers=KEY), FakeContext())
    assert response["statusCode"] == 200, response["body"]
    answer: dict[str, Any] = json.loads(response["body"])
    return answer


def test_a_shipped_callback_deducts_stock_queues_the_write_back_and_the_channel_gets_it(
    aws: Resources, shopify: FakeChannelApis
) -> None:
    # Given a real order dispatched to WH-GZ, holding 2 teas and 1 cup of 10 each
    _dispatched_order(aws)
    assert _on_hand("TEA-LONGJING-250") == (10, 2)
    # When the WMS reports it shipped in one parcel
    answer = _callback(event="shipped", event_id="wms-9", carrier="SF", tracking_no="SF1234567890")
    # Then it is shipped, its stock left on_hand and reserved together, and a write-back is queued for it
    assert (answer["status"], answer["outcome"]) == ("shipped", "applied")
    assert (_on_hand("TEA-LONGJING-250"), _on_hand("CUP-CELADON")) == ((8, 0), (9, 0))
    [queued] = drain(aws, wiring.WRITEBACK_QUEUE.id)
    assert json.loads(queued["Body"]) == {"order_id": ORDER_ID}
    # When channel_writeback takes the message
    assert channel_writeback(sqs_event([queued["Body"]]), FakeContext()) == {"batchItemFailures": []}
    # Then the fake Shopify holds the fulfillment with the tracking number, and the order says it is confirmed
    [shipped] = shopify.shipped_to("shopify")
    assert (shipped.order_id, shipped.tracking_no, shipped.carrier) == (CHANNEL_ORDER_ID, "SF1234567890", "SF Express")
    assert shipped.lines == [("13370001", 2), ("13370002", 1)]
    order = _stored(aws)
    assert order.fulfillment.shipments[0].writeback.state == WritebackState.confirmed
    assert order.writeback_pending_since is None
    assert [(e.hop, e.event) for e in order.timeline][-1] == ("channel_writeback", "written_back")


def test_the_scheduled_sweep_retries_what_the_queue_missed_and_backs_off_from_a_channel_that_is_down(
    aws: Resources, shopify: FakeChannelApis
) -> None:
    # Given a shipped order whose write-back message was lost, and a Shopify that answers 503 once
    _dispatched_order(aws)
    _callback(event="shipped", event_id="wms-9", carrier="SF", tracking_no="SF1")
    drain(aws, wiring.WRITEBACK_QUEUE.id)
    shopify.fail_next("shopify", 503)
    # When the retry schedule ticks
    tick = scheduled_event(next(s for s in wiring.SCHEDULES if s.function == "channel_writeback"))
    first = channel_writeback(tick, FakeContext())
    # Then the attempt failed and is pending with a backoff, visible on the order
    assert (first["scanned"], first["retrying"], first["confirmed"]) == (1, 1, 0)
    writeback = _stored(aws).fulfillment.shipments[0].writeback
    assert (writeback.state, writeback.attempts) == (WritebackState.pending, 1)
    assert "503" in (writeback.last_error or "")
    # When the next tick comes before the backoff ends / Then nothing is attempted
    assert channel_writeback(tick, FakeContext())["retrying"] == 0
    assert shopify.shipped_to("shopify") == []


def test_reconciliation_stops_the_warehouse_for_an_order_cancelled_on_its_channel(
    aws: Resources, shopify: FakeChannelApis
) -> None:
    # Given a dispatched order (its instruction on WH-GZ's queue), then cancelled by the buyer on Shopify
    _dispatched_order(aws)
    drain(aws, wiring.wms_queue_id("WH-GZ"))
    shopify.cancel("shopify", CHANNEL_ORDER_ID, utc_now())
    # When reconciliation runs twice
    schedule = next(s for s in wiring.SCHEDULES if s.function == "reconciliation")
    first = reconciliation(scheduled_event(schedule), FakeContext())
    second = reconciliation(scheduled_event(schedule), FakeContext())
    # Then the first run found it, sent WH-GZ a cancel instruction (version 2) and alerted; the second did nothing
    assert (first["cancelled_on_channel"], first["stopped"], first["alerted"]) == ([ORDER_ID], [ORDER_ID], [ORDER_ID])
    assert (second["cancelled_on_channel"], second["stopped"], second["alerted"]) == ([], [], [])
    [stop] = drain(aws, wiring.wms_queue_id("WH-GZ"))
    attributes = {k: v["StringValue"] for k, v in stop["MessageAttributes"].items()}
    assert (attributes["kind"], attributes["idempotency_key"]) == ("cancel", f"{ORDER_ID}:2")
    assert json.loads(stop["Body"])["kind"] == "cancel"
    # and the order stays with the warehouse until it confirms, with the cancellation recorded once
    order = _stored(aws)
    assert order.status == OrderStatus.dispatched and order.fulfillment.channel_cancel is not None
    assert order.fulfillment.channel_cancel.alerted_at is not None
    assert [e.event for e in order.timeline].count("cancelled_on_channel") == 1
    # When the WMS confirms the stop / Then the order is cancelled and its stock is back on sale
    assert _callback(event="cancelled", event_id="wms-stop")["status"] == "cancelled"
    assert _on_hand("TEA-LONGJING-250") == (10, 0)


def _cancel(headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
    response = orders_ops(api_event("POST", "/orders/{order_id}/cancel", f"/orders/{ORDER_ID}/cancel",
                                    body=json.dumps({"note": "buyer called"}), headers=headers,
                                    path_params={"order_id": ORDER_ID}), FakeContext())
    return response["statusCode"], json.loads(response["body"])


def test_an_operator_cancel_of_a_dispatched_order_stops_the_warehouse_and_its_confirmation_cancels_it(
    aws: Resources, shopify: FakeChannelApis
) -> None:
    # Given a dispatched order (its v1 instruction on WH-GZ's queue) holding 2 teas and 1 cup of 10 each
    _dispatched_order(aws)
    drain(aws, wiring.wms_queue_id("WH-GZ"))
    # When an operator cancels it, twice
    headers = {**KEY, "x-ocp-actor": "ops@shop.cn"}
    (first, order), (again, _) = _cancel(headers), _cancel(headers)
    # Then 202: the order is still dispatched, with the stop recorded, and the dispatcher is asked for it
    assert (first, again, order["status"]) == (202, 202, "dispatched")
    assert (order["fulfillment"]["stop"]["requested_by"], order["fulfillment"]["stop"]["version"]) == ("operator", 2)
    requests = [m["Body"] for m in drain(aws, wiring.DISPATCH_QUEUE.id)]
    assert {json.loads(body)["purpose"] for body in requests} == {"stop"}
    # When the dispatcher takes the requests (the second is a repeat)
    assert dispatcher(sqs_event(requests), FakeContext()) == {"batchItemFailures": []}
    # Then WH-GZ got one cancel instruction, version 2
    [stop] = drain(aws, wiring.wms_queue_id("WH-GZ"))
    attributes = {k: v["StringValue"] for k, v in stop["MessageAttributes"].items()}
    assert (attributes["kind"], attributes["idempotency_key"]) == ("cancel", f"{ORDER_ID}:2")
    assert _stored(aws).status == OrderStatus.dispatched and _on_hand("TEA-LONGJING-250") == (10, 2)
    # When the WMS confirms the stop / Then the order is cancelled and its stock is back on sale
    assert _callback(event="cancelled", event_id="wms-stop")["status"] == "cancelled"
    assert (_on_hand("TEA-LONGJING-250"), _on_hand("CUP-CELADON")) == ((10, 0), (10, 0))
    # and cancelling it again is refused
    status, refused = _cancel(headers)
    assert (status, refused["error"]["code"]) == (409, "order_action_refused")
