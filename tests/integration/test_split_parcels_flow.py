"""A split order through the handlers on moto: a routing rule that may split, a real Shopify order reserved over
WH-GZ and WH-SH, one instruction on each warehouse's WMS queue (its lines, its key), callbacks per parcel (the
warehouse required) deducting each warehouse's stock alone with the ledger explaining every board, each parcel written
back to the (fake, HTTP) Shopify API with its own lines, and a re-dispatch per parcel."""

from __future__ import annotations

import json
from typing import Any

import boto3

from functions.channel_webhook.handler import lambda_handler as webhook
from functions.channel_writeback.handler import lambda_handler as channel_writeback
from functions.dispatcher.handler import lambda_handler as dispatcher
from functions.fulfillment_callback.handler import lambda_handler as callbacks
from functions.fulfillment_ops.handler import lambda_handler as fulfillment_ops
from functions.inventory_api.handler import lambda_handler as inventory_api
from functions.order_processor.handler import lambda_handler as processor
from functions.rules_api.handler import lambda_handler as rules_api
from infra import wiring
from infra.local.provision import Resources
from ocp.adapters.dynamodb.orders import DynamoOrderStore
from ocp.domain.clock import iso, utc_now
from ocp.domain.order.model import Order, OrderStatus
from tests.fakes.channel_apis import FakeChannelApis
from tests.integration.conftest import SHOPIFY_SECRET, drain, shopify_document
from tests.support import FakeContext, api_event, shopify_headers, sqs_event

ORDER_ID = "shopify-5840912375611902001"
TEA, CUP = "TEA-LONGJING-250", "CUP-CELADON"
TEA_LINE, CUP_LINE = "13370001", "13370002"
KEY = {"x-api-key": "k", "Content-Type": "application/json"}
SPLIT = {"rules": [{"id": "split", "priority": 1, "when": {"always": True},
                    "then": {"warehouses": ["WH-GZ", "WH-SH"], "split": True}}]}


def _stored(aws: Resources) -> Order:
    order = DynamoOrderStore(boto3.resource("dynamodb").Table(aws.resolve(wiring.Ref(wiring.ORDERS.id)))).get(ORDER_ID)
    assert order is not None
    return order


def _push(warehouse: str, sku: str, on_hand: int) -> None:
    response = inventory_api(api_event("PUT", "/inventory/{id}/{sku}", f"/inventory/{warehouse}/{sku}", headers=KEY,
                                       path_params={"id": warehouse, "sku": sku},
                                       body=json.dumps({"on_hand": on_hand, "version": 1})), FakeContext())
    assert response["statusCode"] == 200, response["body"]


def _board(sku: str) -> dict[str, tuple[int, int]]:
    response = inventory_api(api_event("GET", "/inventory/{id}", f"/inventory/{sku}", headers=KEY,
                                       path_params={"id": sku}), FakeContext())
    return {w["warehouse"]: (w["on_hand"], w["reserved"]) for w in json.loads(response["body"])["warehouses"]}


def _explained(sku: str) -> bool:
    response = inventory_api(api_event("GET", "/inventory-ledger/{sku}", f"/inventory-ledger/{sku}", headers=KEY,
                                       path_params={"sku": sku}), FakeContext())
    return all(w["explains_board"] for w in json.loads(response["body"])["warehouses"])


def _callback(principal: str = "local", scopes: str = "admin operator finance read wms:*",
              **body: Any) -> tuple[int, dict[str, Any]]:
    document = {"order_id": ORDER_ID, "at": iso(utc_now()), **body}
    response = callbacks(api_event("POST", "/fulfillment/events", "/fulfillment/events", body=json.dumps(document),
                                   headers=KEY, principal=principal, scopes=scopes), FakeContext())
    return response["statusCode"], json.loads(response["body"])


def _instructions(aws: Resources, warehouse: str) -> list[tuple[str, list[tuple[str, int]]]]:
    """(idempotency key, [(line id, quantity)]) of each instruction on the warehouse's WMS queue."""
    return [(m["MessageAttributes"]["idempotency_key"]["StringValue"],
             [(line["line_id"], line["quantity"]) for line in json.loads(m["Body"])["lines"]])
            for m in drain(aws, wiring.wms_queue_id(warehouse))]


def _split_order(aws: Resources) -> Order:
    """A split routing rule, one tea at WH-GZ, one tea and the cups at WH-SH; the signed webhook through the
    processor (reserved over both), then the dispatcher taking what the processor queued."""
    response = rules_api(api_event("PUT", "/rules/{kind}", "/rules/routing", body=json.dumps(SPLIT), headers=KEY,
                                   path_params={"kind": "routing"}), FakeContext())
    assert response["statusCode"] == 200, response["body"]
    _push("WH-GZ", TEA, 1)
    _push("WH-SH", TEA, 1)
    _push("WH-SH", CUP, 5)
    body = json.dumps(shopify_document(), ensure_ascii=False).encode()
    webhook(api_event("POST", "/webhooks/{channel}", "/webhooks/shopify", body=body.decode(),
                      headers=shopify_headers(body, SHOPIFY_SECRET), path_params={"channel": "shopify"}),
            FakeContext())
    inbox = drain(aws, wiring.ORDERS_INBOX.id)
    assert processor(sqs_event([m["Body"] for m in inbox]), FakeContext()) == {"batchItemFailures": []}
    assert _stored(aws).status == OrderStatus.reserved, _stored(aws).holds
    requests = [m["Body"] for m in drain(aws, wiring.DISPATCH_QUEUE.id)]
    assert dispatcher(sqs_event(requests), FakeContext()) == {"batchItemFailures": []}
    return _stored(aws)


def test_a_split_order_reaches_each_warehouse_ships_per_parcel_and_is_written_back_per_parcel(
    aws: Resources, shopify: FakeChannelApis
) -> None:
    # Given the split order dispatched
    order = _split_order(aws)
    # Then each warehouse's WMS queue holds one instruction: its lines only, under its own key
    assert _instructions(aws, "WH-GZ") == [(f"{ORDER_ID}@WH-GZ:1", [(TEA_LINE, 1)])]
    assert _instructions(aws, "WH-SH") == [(f"{ORDER_ID}@WH-SH:1", [(TEA_LINE, 1), (CUP_LINE, 1)])]
    assert order.status == OrderStatus.dispatched
    assert [(p.warehouse, p.status.value, p.instruction_version) for p in order.fulfillment.parcels] == [
        ("WH-GZ", "dispatched", 1), ("WH-SH", "dispatched", 1)]
    # When a WMS reports a shipment without naming its warehouse / Then 400 naming the field, nothing recorded
    status, refused = _callback(event="shipped", event_id="wms-0", carrier="SF", tracking_no="SF0")
    assert (status, refused["error"]["code"], refused["error"]["details"][0]["field"]) == (
        400, "invalid_request", "warehouse")
    # When WH-GZ ships its parcel
    status, answer = _callback(event="shipped", event_id="gz-1", carrier="SF", tracking_no="SF1", warehouse="WH-GZ")
    # Then only WH-GZ's tea left; the order waits for WH-SH
    assert (status, answer["status"], answer["outcome"]) == (200, "dispatched", "applied")
    assert _board(TEA) == {"WH-GZ": (0, 0), "WH-SH": (1, 1)} and _board(CUP) == {"WH-SH": (5, 1)}
    # When WH-SH ships its parcel
    status, answer = _callback(event="shipped", event_id="sh-1", carrier="SF", tracking_no="SF2", warehouse="WH-SH")
    # Then the order is shipped, each warehouse's units left once, and the ledger explains every board
    assert (status, answer["status"]) == (200, "shipped")
    assert _board(TEA) == {"WH-GZ": (0, 0), "WH-SH": (0, 0)} and _board(CUP) == {"WH-SH": (4, 0)}
    assert _explained(TEA) and _explained(CUP)
    # When channel_writeback takes the two queued write-backs
    queued = [m["Body"] for m in drain(aws, wiring.WRITEBACK_QUEUE.id)]
    assert channel_writeback(sqs_event(queued), FakeContext()) == {"batchItemFailures": []}
    # Then Shopify has one fulfillment per parcel, each with its tracking number and its own lines
    shipped = sorted(shopify.shipped_to("shopify"), key=lambda s: s.tracking_no)
    assert [(s.tracking_no, s.lines) for s in shipped] == [
        ("SF1", [(TEA_LINE, 1)]), ("SF2", [(TEA_LINE, 1), (CUP_LINE, 1)])]
    assert _stored(aws).writeback_pending_since is None


def test_redispatch_sends_each_parcel_not_accepted_its_next_version(aws: Resources, shopify: FakeChannelApis) -> None:
    # Given the split order dispatched, and WH-GZ's WMS accepted its parcel
    _split_order(aws)
    _instructions(aws, "WH-GZ")
    _instructions(aws, "WH-SH")
    assert _callback(event="accepted", event_id="gz-a", warehouse="WH-GZ")[0] == 200
    # When an operator re-dispatches the order and the dispatcher takes the request
    response = fulfillment_ops(api_event("POST", "/orders:redispatch", "/orders:redispatch", headers=KEY,
                                         body=json.dumps({"order_ids": [ORDER_ID], "actor": "ops"})), FakeContext())
    assert (response["statusCode"], json.loads(response["body"])["queued"]) == (202, [ORDER_ID])
    requests = [m["Body"] for m in drain(aws, wiring.DISPATCH_QUEUE.id)]
    assert dispatcher(sqs_event(requests), FakeContext()) == {"batchItemFailures": []}
    # Then only WH-SH's parcel got version 2, under its own key
    assert [json.loads(body)["warehouse"] for body in requests] == ["WH-SH"]
    assert _instructions(aws, "WH-GZ") == []
    assert [key for key, _ in _instructions(aws, "WH-SH")] == [f"{ORDER_ID}@WH-SH:2"]


def test_a_warehouse_principal_reports_its_parcels_delivery_by_tracking_number_alone(
    aws: Resources, shopify: FakeChannelApis
) -> None:
    # Given the split order with both parcels shipped
    _split_order(aws)
    assert _callback(event="shipped", event_id="gz-1", carrier="SF", tracking_no="SF1", warehouse="WH-GZ")[0] == 200
    assert _callback(event="shipped", event_id="sh-1", carrier="SF", tracking_no="SF2", warehouse="WH-SH")[0] == 200
    gz = {"principal": "wms-gz", "scopes": "wms:WH-GZ"}
    # When WH-GZ's principal reports WH-GZ's parcel delivered by its tracking number alone / Then it is recorded
    status, answer = _callback(**gz, event="delivered", event_id="gz-d", tracking_no="SF1")
    assert (status, answer["outcome"]) == (200, "applied"), answer
    # When it reports WH-SH's parcel the same way / Then 403 naming WH-SH, and nothing is recorded
    revision = _stored(aws).revision
    status, refused = _callback(**gz, event="delivered", event_id="sh-d", tracking_no="SF2")
    assert (status, refused["error"]["code"]) == (403, "forbidden")
    assert {k: refused["error"]["details"][k] for k in ("warehouse", "may_act_for", "order_id")} == {
        "warehouse": "WH-SH", "may_act_for": ["WH-GZ"], "order_id": ORDER_ID}
    assert _stored(aws).revision == revision
