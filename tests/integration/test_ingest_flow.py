"""Webhook → archive + queue → processor → orders table → operator API, on moto."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from functions.channel_webhook.handler import lambda_handler as webhook
from functions.inventory_api.handler import lambda_handler as inventory_api
from functions.operator_api.handler import lambda_handler as operator_api
from functions.order_processor.handler import lambda_handler as processor
from infra import wiring
from infra.local.provision import Resources
from tests.integration.conftest import SHOPIFY_SECRET
from tests.support import FakeContext, api_event, fixture_bytes, fixture_json, shopify_headers, sqs_event

CN_ORDER = "channels/shopify/orders_create.cn_discounted.json"
API_KEY_HEADERS = {"x-api-key": "k"}


def _post_webhook(body: bytes, headers: dict[str, str], channel: str = "shopify") -> dict[str, Any]:
    event = api_event("POST", "/webhooks/{channel}", f"/webhooks/{channel}", body=body.decode(),
                      headers=headers, path_params={"channel": channel})
    return webhook(event, FakeContext())


def _drain_inbox(resources: Resources) -> list[str]:
    sqs = boto3.client("sqs")
    url = resources.resolve(wiring.Ref(wiring.ORDERS_INBOX.id, "url"))
    bodies: list[str] = []
    while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        for message in batch:
            bodies.append(message["Body"])
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return bodies


def _get(path: str, resource: str, **kwargs: Any) -> dict[str, Any]:
    return operator_api(api_event("GET", resource, path, headers=API_KEY_HEADERS, **kwargs), FakeContext())


def _push_stock(warehouse: str, sku: str, on_hand: int, version: int = 1) -> None:
    event = api_event("PUT", "/inventory/{id}/{sku}", f"/inventory/{warehouse}/{sku}", headers=API_KEY_HEADERS,
                      path_params={"id": warehouse, "sku": sku},
                      body=json.dumps({"on_hand": on_hand, "version": version}))
    assert inventory_api(event, FakeContext())["statusCode"] == 200


def _orders_table_items(resources: Resources) -> list[dict[str, Any]]:
    table = boto3.resource("dynamodb").Table(resources.resolve(wiring.Ref(wiring.ORDERS.id)))
    return table.scan()["Items"]


def test_signed_webhook_is_archived_and_enqueued(aws: Resources) -> None:
    # Given a correctly signed Shopify order
    body = fixture_bytes(CN_ORDER)
    # When it is posted
    response = _post_webhook(body, shopify_headers(body, SHOPIFY_SECRET, webhook_id="wh-1"))
    # Then it is acknowledged, archived byte-for-byte and enqueued with the document inline
    assert response["statusCode"] == 200
    archived = boto3.client("s3").get_object(Bucket=aws.resolve(wiring.Ref(wiring.RAW_ARCHIVE.id)),
                                             Key="raw/shopify/wh-1.json")["Body"].read()
    assert json.loads(archived)["body"].encode() == body
    [message] = _drain_inbox(aws)
    assert json.loads(message)["document"]["id"] == 5840912375611902001


def test_bad_signature_is_401_and_nothing_is_enqueued(aws: Resources) -> None:
    body = fixture_bytes(CN_ORDER)
    response = _post_webhook(body, shopify_headers(body, "wrong-secret"))
    assert response["statusCode"] == 401
    assert json.loads(response["body"])["error"]["code"] == "signature_invalid"
    assert _drain_inbox(aws) == []


def test_unparseable_body_is_400_kept_and_quarantined(aws: Resources) -> None:
    # Given a signed body that is not JSON
    body = b"<xml>not an order</xml>"
    response = _post_webhook(body, shopify_headers(body, SHOPIFY_SECRET, webhook_id="wh-bad"))
    # Then 400 with a reason, the raw bytes archived and a quarantine record for an operator
    assert response["statusCode"] == 400
    assert json.loads(response["body"])["error"]["code"] == "malformed_delivery"
    s3 = boto3.client("s3")
    assert s3.head_object(Bucket=aws.resolve(wiring.Ref(wiring.RAW_ARCHIVE.id)), Key="raw/shopify/wh-bad.json")
    quarantine = boto3.resource("dynamodb").Table(aws.resolve(wiring.Ref(wiring.QUARANTINE.id))).scan()["Items"]
    assert [(q["delivery_id"], q["stage"]) for q in quarantine] == [("wh-bad", "intake")]
    assert _drain_inbox(aws) == []


def test_unknown_channel_is_404(aws: Resources) -> None:
    response = _post_webhook(b"{}", {}, channel="ebay")
    assert response["statusCode"] == 404
    assert json.loads(response["body"])["error"]["code"] == "unknown_channel"


def test_secret_comes_from_secrets_manager_when_no_env_override(aws: Resources,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    # Given no env override but the secret stored in Secrets Manager, as in AWS
    monkeypatch.delenv("OCP_CHANNEL_SECRET_SHOPIFY")
    boto3.client("secretsmanager").put_secret_value(
        SecretId=aws.resolve(wiring.Ref(wiring.CHANNEL_SECRETS.id, "arn")),
        SecretString=json.dumps({"shopify": {"secret": "from-secrets-manager"}}),
    )
    body = fixture_bytes(CN_ORDER)
    # Then a delivery signed with that secret is accepted
    assert _post_webhook(body, shopify_headers(body, "from-secrets-manager"))["statusCode"] == 200


def test_unconfigured_channel_is_kept_and_answered_503_for_a_retry(aws: Resources,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OCP_CHANNEL_SECRET_SHOPIFY")
    body = fixture_bytes(CN_ORDER)
    response = _post_webhook(body, shopify_headers(body, "anything", webhook_id="wh-early"))
    assert response["statusCode"] == 503
    s3 = boto3.client("s3")
    assert s3.head_object(Bucket=aws.resolve(wiring.Ref(wiring.RAW_ARCHIVE.id)), Key="unverified/shopify/wh-early.json")


def test_same_webhook_three_times_yields_one_order(aws: Resources) -> None:
    # Given one delivery retried three times by Shopify, each copy processed
    body = fixture_bytes(CN_ORDER)
    headers = shopify_headers(body, SHOPIFY_SECRET, webhook_id="wh-retry")
    for _ in range(3):
        assert _post_webhook(body, headers)["statusCode"] == 200
    result = processor(sqs_event(_drain_inbox(aws)), FakeContext())
    # Then there is exactly one order, written once, and no record failed
    assert result == {"batchItemFailures": []}
    [item] = _orders_table_items(aws)
    assert item["order_id"] == "shopify-5840912375611902001"
    assert item["revision"] == 1
    # (no stock was ever pushed for its SKUs, so the one write also held it: insufficient_stock; the
    # default routing document sent it to any warehouse)
    assert [e["event"] for e in item["timeline"]] == ["received", "normalised", "routed", "held"]


def test_processor_reports_only_the_poison_record_as_failed(aws: Resources) -> None:
    # Given a batch with one good message and one body the processor cannot even parse
    body = fixture_bytes(CN_ORDER)
    _post_webhook(body, shopify_headers(body, SHOPIFY_SECRET))
    event = sqs_event([*_drain_inbox(aws), "{not json"])
    poison_id = event["Records"][1]["messageId"]
    # When processed
    result = processor(event, FakeContext())
    # Then only the poison record is retried; the good order is stored
    assert result == {"batchItemFailures": [{"itemIdentifier": poison_id}]}
    assert len(_orders_table_items(aws)) == 1


def test_unmappable_document_is_quarantined_not_retried(aws: Resources) -> None:
    document = fixture_json(CN_ORDER) | {"line_items": []}
    body = json.dumps(document).encode()
    _post_webhook(body, shopify_headers(body, SHOPIFY_SECRET, webhook_id="wh-empty"))
    result = processor(sqs_event(_drain_inbox(aws)), FakeContext())
    assert result == {"batchItemFailures": []}
    assert _orders_table_items(aws) == []
    quarantine = boto3.resource("dynamodb").Table(aws.resolve(wiring.Ref(wiring.QUARANTINE.id))).scan()["Items"]
    assert quarantine[0]["stage"] == "mapping" and "line_items is empty" in quarantine[0]["details"]


def test_newer_channel_event_applies_and_older_one_never_moves_back(aws: Resources) -> None:
    # Given stock for its SKUs, and an order first seen unpaid
    for sku in ("TEA-LONGJING-250", "CUP-CELADON"):
        _push_stock("WH-GZ", sku, on_hand=10)
    pending = fixture_json(CN_ORDER) | {"financial_status": "pending", "updated_at": "2026-11-11T20:05:13+08:00"}
    paid = fixture_json(CN_ORDER)  # updated 20:05:16
    stale = pending | {"updated_at": "2026-11-11T20:05:14+08:00"}
    for document in (pending, paid, stale):
        body = json.dumps(document).encode()
        _post_webhook(body, shopify_headers(body, SHOPIFY_SECRET))
        processor(sqs_event(_drain_inbox(aws)), FakeContext())
    # Then the paid event moved it forward and the late unpaid one changed nothing
    # (stock was reserved on capture, and payment confirmed that reservation in the same write)
    [item] = _orders_table_items(aws)
    assert item["status"] == "reserved"
    assert item["revision"] == 2
    # (routed on capture, so the pre-reservation landed where the rules say; checked once paid)
    assert [e["event"] for e in item["timeline"]] == ["received", "normalised", "routed", "reserved", "paid",
                                                      "reservation_confirmed"]
    assert item["rules_applied"]["versions"] == {"routing": 0, "anomaly": 0, "gift": 0}


def test_operator_api_reads_orders_by_id_and_channel_id(aws: Resources) -> None:
    body = fixture_bytes(CN_ORDER)
    _post_webhook(body, shopify_headers(body, SHOPIFY_SECRET))
    processor(sqs_event(_drain_inbox(aws)), FakeContext())

    by_id = _get("/orders/shopify-5840912375611902001", "/orders/{order_id}",
                 path_params={"order_id": "shopify-5840912375611902001"})
    assert by_id["statusCode"] == 200
    order = json.loads(by_id["body"])
    assert order["amounts"] == {"items": 65800, "discount": 6000, "shipping": 1000, "paid": 60800, "tax": 0}
    assert order["timeline"][0] == {"at": order["timeline"][0]["at"], "hop": "ingest", "event": "received",
                                    "source": "shopify", "detail": None, "actor": None, "principal": None}

    found = _get("/orders", "/orders", query={"channel": "shopify", "channel_order_id": "5840912375611902001"})
    assert [o["order_id"] for o in json.loads(found["body"])["orders"]] == ["shopify-5840912375611902001"]


def test_operator_api_errors_have_the_contract_shape(aws: Resources) -> None:
    missing = _get("/orders/nope", "/orders/{order_id}", path_params={"order_id": "nope"})
    assert missing["statusCode"] == 404
    assert json.loads(missing["body"])["error"]["code"] == "order_not_found"
    unqualified = _get("/orders", "/orders", query={"channel": "shopify"})
    assert unqualified["statusCode"] == 400
    assert json.loads(unqualified["body"])["error"]["code"] == "invalid_query"
    none_found = _get("/orders", "/orders", query={"channel": "shopify", "channel_order_id": "1"})
    assert json.loads(none_found["body"]) == {"orders": [], "next_token": None}
