"""A warehouse registered at runtime with its WMS (`PUT /warehouses/{id}`) gets its instructions, with no deploy:
the warehouses API and the dispatcher's handlers on moto, the HTTP WMS a local fake that verifies signatures."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from functions.dispatcher.handler import lambda_handler as dispatcher
from functions.rules_api.handler import lambda_handler as rules_api
from infra import wiring
from infra.local.provision import Resources
from ocp.adapters.dynamodb.orders import DynamoOrderStore
from ocp.domain.clock import utc_now
from ocp.domain.fulfillment.dispatch import DispatchRequest
from ocp.domain.order.model import Order, OrderStatus
from tests.fakes.wms_http import FakeHttpWms
from tests.fulfillment_support import ORDER_ID, order_at
from tests.support import FakeContext, api_event, sqs_event

HEADERS = {"x-api-key": "k", "Content-Type": "application/json"}
SECRET = "sup-tea-signing-secret"


def _put_warehouse(warehouse: str, body: dict[str, Any]) -> tuple[int, Any]:
    event = api_event("PUT", "/warehouses/{warehouse}", f"/warehouses/{warehouse}", body=json.dumps(body),
                      headers=HEADERS, path_params={"warehouse": warehouse})
    response = rules_api(event, FakeContext())
    return response["statusCode"], json.loads(response["body"])


def _listed(warehouse: str) -> dict[str, Any]:
    response = rules_api(api_event("GET", "/warehouses", "/warehouses", headers=HEADERS), FakeContext())
    return next(w for w in json.loads(response["body"])["warehouses"] if w["warehouse_id"] == warehouse)


def _orders(aws: Resources) -> DynamoOrderStore:
    return DynamoOrderStore(boto3.resource("dynamodb").Table(aws.resolve(wiring.Ref(wiring.ORDERS.id))))


def _dispatch(aws: Resources, warehouse: str) -> Order:
    """A reserved order routed to `warehouse`, through the dispatcher; the order as stored afterwards."""
    _orders(aws).create(order_at(OrderStatus.reserved, since=utc_now(), warehouse=warehouse))
    result = dispatcher(sqs_event([DispatchRequest(order_id=ORDER_ID).model_dump_json()]), FakeContext())
    assert result == {"batchItemFailures": []}
    order = _orders(aws).get(ORDER_ID)
    assert order is not None
    return order


def test_a_supplier_registered_with_an_http_wms_receives_its_signed_instruction(
    aws: Resources, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a supplier's WMS that verifies OCP's signature, and the supplier's secret configured for OCP
    monkeypatch.setenv("OCP_WMS_SECRET_SUP_TEA", SECRET)
    with FakeHttpWms.serve(secret=SECRET) as wms:
        # When the supplier is registered at runtime with that WMS, and an order routed to it is dispatched
        status, stored = _put_warehouse("SUP-TEA", {"kind": "supplier", "wms": {"type": "http", "url": wms.url}})
        order = _dispatch(aws, "SUP-TEA")
    # Then the registration is stored and listed with its WMS
    assert (status, stored["wms"]) == (200, {"type": "http", "url": wms.url})
    assert _listed("SUP-TEA")["wms"] == {"type": "http", "url": wms.url}
    # and the WMS got the instruction once, signed and keyed, and the order is dispatched with its receipt
    [received] = wms.received
    assert received.verified and received.idempotency_key == f"{ORDER_ID}:1"
    assert (received.body["warehouse"], received.body["kind"]) == ("SUP-TEA", "fulfil")
    assert (order.status, order.fulfillment.instruction_version) == (OrderStatus.dispatched, 1)
    assert order.timeline[-1].detail == "instruction v1 to SUP-TEA (http 200 ref WMS-1)"


def test_a_warehouse_registered_with_its_own_queue_gets_the_instruction_there(aws: Resources) -> None:
    # Given the WMS owner's queue, named with the prefix OCP may send to
    sqs = boto3.client("sqs")
    queue_url = sqs.create_queue(QueueName="ocp-wms-wh-cd")["QueueUrl"]
    # When WH-CD is registered with it and an order routed there is dispatched
    status, _ = _put_warehouse("WH-CD", {"region": "四川省", "wms": {"type": "sqs", "queue_url": queue_url}})
    order = _dispatch(aws, "WH-CD")
    # Then the instruction is in that queue, keyed, and the order is dispatched
    [message] = sqs.receive_message(QueueUrl=queue_url, MessageAttributeNames=["All"])["Messages"]
    assert status == 200
    assert message["MessageAttributes"]["idempotency_key"]["StringValue"] == f"{ORDER_ID}:1"
    assert json.loads(message["Body"])["warehouse"] == "WH-CD"
    assert order.status == OrderStatus.dispatched


def test_a_registered_wms_wins_over_the_deployed_queue(aws: Resources) -> None:
    # Given WH-GZ, deployed with a queue, registered with an HTTP WMS; its secret in the WMS secret, as in AWS
    boto3.client("secretsmanager").put_secret_value(SecretId=aws.resolve(wiring.Ref(wiring.WMS_SECRETS.id, "arn")),
                                                    SecretString=json.dumps({"WH-GZ": SECRET}))
    with FakeHttpWms.serve(secret=SECRET) as wms:
        _put_warehouse("WH-GZ", {"wms": {"type": "http", "url": wms.url}})
        # When an order routed to WH-GZ is dispatched
        order = _dispatch(aws, "WH-GZ")
    # Then the HTTP WMS got it and the deployed queue did not
    assert [r.verified for r in wms.received] == [True]
    deployed = aws.resolve(wiring.Ref(wiring.wms_queue_id("WH-GZ"), "url"))
    assert boto3.client("sqs").receive_message(QueueUrl=deployed).get("Messages", []) == []
    assert order.status == OrderStatus.dispatched


def test_an_http_wms_without_a_secret_is_never_sent_to_and_the_order_says_why(aws: Resources) -> None:
    # Given a supplier registered with an HTTP WMS, and no secret configured for it
    with FakeHttpWms.serve() as wms:
        _put_warehouse("SUP-INK", {"kind": "supplier", "wms": {"type": "http", "url": wms.url}})
        # When an order routed to it is dispatched
        order = _dispatch(aws, "SUP-INK")
    # Then nothing was sent, and the order stays reserved with the reason on it
    assert wms.received == []
    assert order.status == OrderStatus.reserved
    assert order.fulfillment.issues[-1].reason.startswith(
        "SUP-INK: no signing secret for warehouse SUP-INK's HTTP WMS")


def test_a_queue_ocp_may_not_send_to_is_refused_when_the_warehouse_is_stored(aws: Resources) -> None:
    # Given / When a warehouse is registered with a queue outside the prefix, and one with a plain-http WMS
    outside = {"type": "sqs", "queue_url": "https://sqs.us-east-1.amazonaws.com/123456789012/wms-wh-cd"}
    queue = _put_warehouse("WH-CD", {"wms": outside})
    plain = _put_warehouse("WH-CD", {"wms": {"type": "http", "url": "http://wms.example.com/in"}})
    # Then both are 400 naming the field, and nothing is registered
    for status, body in (queue, plain):
        assert (status, body["error"]["code"]) == (400, "invalid_warehouse")
    assert [d["path"] for d in queue[1]["error"]["details"]] == ["wms.sqs.queue_url"]
    assert [d["path"] for d in plain[1]["error"]["details"]] == ["wms.http.url"]
    response = rules_api(api_event("GET", "/warehouses", "/warehouses", headers=HEADERS), FakeContext())
    assert "WH-CD" not in {w["warehouse_id"] for w in json.loads(response["body"])["warehouses"]}
