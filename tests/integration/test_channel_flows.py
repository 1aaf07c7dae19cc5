"""Douyin, Taobao and JD end to end through the handlers on moto, pulling over HTTP from the fake channel APIs.

Webhook handler → raw archive + inbox → order_processor (pulls thin messages with the urllib transport) →
orders table; and the channel_poller handler → inbox → order_processor.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from functions.channel_poller.handler import lambda_handler as poller
from functions.channel_webhook.handler import lambda_handler as webhook
from functions.order_processor.handler import lambda_handler as processor
from infra import wiring
from infra.local.provision import Resources, function_env, provision
from ocp import composition
from tests.channel_support import (
    CREDENTIALS,
    douyin_headers,
    douyin_push,
    jd_order_info,
    shop_order,
    spi_query,
    taobao_trade,
)
from tests.fakes.channel_apis import FakeChannelApis
from tests.support import FakeContext, api_event, fixture_bytes, sqs_event

DOUYIN_ORDER = "6920000000123456789"
TAOBAO_ORDER = "4105328891234567890"


@pytest.fixture(scope="module")
def channel_api() -> Iterator[tuple[FakeChannelApis, str]]:
    fake = FakeChannelApis(credentials=dict(CREDENTIALS))
    with fake.serve() as root:
        yield fake, root


@pytest.fixture(scope="module")
def module_aws() -> Iterator[Resources]:
    """Provisioned once for the module (the wiring holds many tables); `aws` below empties it per test."""
    with mock_aws():
        yield provision(None, {wiring.CHANNEL_SECRETS.id: {}})


@pytest.fixture
def aws(module_aws: Resources, monkeypatch: pytest.MonkeyPatch) -> Iterator[Resources]:
    for name, value in function_env(wiring.FUNCTIONS, module_aws).items():
        monkeypatch.setenv(name, value)
    composition.reset()
    yield module_aws
    _drain(module_aws)
    for table_id in (wiring.ORDERS.id, wiring.QUARANTINE.id, "channel-cursors"):
        table = boto3.resource("dynamodb").Table(module_aws.resolve(wiring.Ref(table_id)))
        key = table.key_schema[0]["AttributeName"]
        for item in table.scan()["Items"]:
            table.delete_item(Key={key: item[key]})
    composition.reset()


@pytest.fixture
def channels(aws: Resources, channel_api: tuple[FakeChannelApis, str],
             monkeypatch: pytest.MonkeyPatch) -> FakeChannelApis:
    fake, root = channel_api
    fake.orders.clear()
    fake.calls.clear()
    fake.failures.clear()
    fake.put_order("douyin", shop_order("channels/douyin/order_detail.multi_line.json"))
    fake.put_order("taobao", taobao_trade("channels/taobao/trade_fullinfo.multi_line.json"))
    urls = {"douyin": f"{root}/douyin", "taobao": f"{root}/taobao/router/rest", "jd": f"{root}/jd/routerjson"}
    for channel, url in urls.items():
        credentials = CREDENTIALS[channel]
        upper = channel.upper()
        monkeypatch.setenv(f"OCP_CHANNEL_SECRET_{upper}", credentials.secret)
        monkeypatch.setenv(f"OCP_CHANNEL_APP_KEY_{upper}", credentials.app_key or "")
        monkeypatch.setenv(f"OCP_CHANNEL_ACCESS_TOKEN_{upper}", credentials.access_token or "")
        monkeypatch.setenv(f"OCP_CHANNEL_API_URL_{upper}", url)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    return fake


def _post(channel: str, body: bytes, headers: dict[str, str] | None = None,
          query: dict[str, str] | None = None) -> dict[str, Any]:
    event = api_event("POST", "/webhooks/{channel}", f"/webhooks/{channel}", body=body.decode(),
                      headers=headers or {"content-type": "application/json"}, path_params={"channel": channel},
                      query=query)
    return webhook(event, FakeContext())


def _now_query(channel: str, body: bytes, **extra: Any) -> dict[str, str]:
    return spi_query(channel, body, at=datetime.now(UTC), **extra)


def _drain(resources: Resources) -> list[str]:
    sqs = boto3.client("sqs")
    url = resources.resolve(wiring.Ref(wiring.ORDERS_INBOX.id, "url"))
    bodies: list[str] = []
    while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        for message in batch:
            bodies.append(message["Body"])
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return bodies


def _process(resources: Resources) -> dict[str, Any]:
    return processor(sqs_event(_drain(resources)), FakeContext())


def _orders(resources: Resources) -> dict[str, dict[str, Any]]:
    table = boto3.resource("dynamodb").Table(resources.resolve(wiring.Ref(wiring.ORDERS.id)))
    return {item["order_id"]: item for item in table.scan()["Items"]}


def _quarantine(resources: Resources) -> list[dict[str, Any]]:
    table = boto3.resource("dynamodb").Table(resources.resolve(wiring.Ref(wiring.QUARANTINE.id)))
    return table.scan()["Items"]


# ---- Douyin ----------------------------------------------------------------------------------------------


def test_thin_douyin_push_ends_as_the_complete_order_pulled_from_the_channel(
    aws: Resources, channels: FakeChannelApis
) -> None:
    # Given a signed TradePaid push naming an order that only the channel API has in full
    body = douyin_push({"tag": "101", "msg_id": "7000000000000000101",
                        "data": {"p_id": int(DOUYIN_ORDER), "s_ids": [int(DOUYIN_ORDER)], "pay_amount": 39300}})
    # When doudian posts it and the processor takes the inbox
    response = _post("douyin", body, douyin_headers(body))
    result = _process(aws)
    # Then doudian got its ack, the order was pulled over HTTP with a valid signature, and is stored whole
    assert response["statusCode"] == 200 and json.loads(response["body"]) == {"code": 0, "msg": "success"}
    assert result == {"batchItemFailures": []}
    assert [(c.method, c.signature_ok) for c in channels.calls_to("douyin")] == [("order.orderDetail", True)]
    order = _orders(aws)[f"douyin-{DOUYIN_ORDER}"]
    assert order["amounts"]["paid"] == 39300 and len(order["lines"]) == 3
    assert order["address"]["district"] == "思明区"


def test_douyin_url_check_is_acknowledged_and_nothing_is_enqueued(aws: Resources, channels: FakeChannelApis) -> None:
    body = douyin_push({"tag": "0", "msg_id": "0", "data": {}})
    response = _post("douyin", body, douyin_headers(body))
    assert response["statusCode"] == 200 and json.loads(response["body"]) == {"code": 0, "msg": "success"}
    assert _drain(aws) == []


def test_douyin_wrong_signature_is_401_and_nothing_is_enqueued(aws: Resources, channels: FakeChannelApis) -> None:
    body = douyin_push({"tag": "101", "msg_id": "1", "data": {"p_id": int(DOUYIN_ORDER)}})
    headers = douyin_headers(body) | {"event-sign": "f" * 32}
    response = _post("douyin", body, headers)
    assert response["statusCode"] == 401
    assert json.loads(response["body"])["error"]["code"] == "signature_invalid"
    assert _drain(aws) == []


def test_douyin_batch_with_a_bad_message_acks_quarantines_it_and_processes_the_rest(
    aws: Resources, channels: FakeChannelApis
) -> None:
    # Given a batch: a good create event, a broken one
    body = douyin_push({"tag": "100", "msg_id": "good", "data": {"p_id": int(DOUYIN_ORDER)}},
                       {"tag": "105", "msg_id": "bad", "data": "{truncated"})
    # When posted and processed
    response = _post("douyin", body, douyin_headers(body))
    result = _process(aws)
    # Then success for the batch, the bad message kept for operators, the good order stored
    assert json.loads(response["body"]) == {"code": 0, "msg": "success"}
    assert result == {"batchItemFailures": []}
    [record] = _quarantine(aws)
    assert (record["message_id"], record["stage"], record["reason"]) == ("bad", "intake", "data is not JSON")
    assert f"douyin-{DOUYIN_ORDER}" in _orders(aws)


def test_an_unreachable_channel_api_fails_only_that_record_for_a_retry(
    aws: Resources, channels: FakeChannelApis
) -> None:
    # Given a thin Douyin push and a Taobao relay in one processor batch, and Douyin's API answering 503 once
    body = douyin_push({"tag": "101", "msg_id": "1", "data": {"p_id": int(DOUYIN_ORDER)}})
    _post("douyin", body, douyin_headers(body))
    relay = fixture_bytes("channels/taobao/tmc.trade_buyer_pay.json")
    _post("taobao", relay, query=_now_query("taobao", relay))
    channels.fail_next("douyin", 503)
    event = sqs_event(_drain(aws))
    douyin_record = next(r["messageId"] for r in event["Records"] if '"douyin"' in r["body"])
    # When processed
    result = processor(event, FakeContext())
    # Then only the Douyin record goes back for a retry (nothing quarantined); the Taobao order is stored
    assert result == {"batchItemFailures": [{"itemIdentifier": douyin_record}]}
    assert list(_orders(aws)) == [f"taobao-{TAOBAO_ORDER}"] and _quarantine(aws) == []


# ---- Taobao ----------------------------------------------------------------------------------------------


def test_taobao_tmc_relay_ends_as_the_full_trade(aws: Resources, channels: FakeChannelApis) -> None:
    # Given a relayed, SPI-signed TMC TradeBuyerPay message
    body = fixture_bytes("channels/taobao/tmc.trade_buyer_pay.json")
    # When relayed and processed
    response = _post("taobao", body, query=_now_query("taobao", body))
    result = _process(aws)
    # Then the SPI ack, one signed fullinfo pull, and the complete trade stored
    assert response["statusCode"] == 200, response["body"]
    assert json.loads(response["body"])["response"]["flag"] == "success"
    assert result == {"batchItemFailures": []}
    assert [(c.method, c.signature_ok) for c in channels.calls_to("taobao")] == [("taobao.trade.fullinfo.get", True)]
    order = _orders(aws)[f"taobao-{TAOBAO_ORDER}"]
    assert [line["paid"] for line in order["lines"]] == [34838, 23962, 0]


def test_taobao_relay_with_an_old_timestamp_is_401_with_the_reason(aws: Resources, channels: FakeChannelApis) -> None:
    body = fixture_bytes("channels/taobao/tmc.trade_buyer_pay.json")
    query = spi_query("taobao", body, at=datetime.now(UTC) - timedelta(minutes=15))
    response = _post("taobao", body, query=query)
    assert response["statusCode"] == 401
    assert "away from now" in json.loads(response["body"])["error"]["message"]
    assert _drain(aws) == []


# ---- JD --------------------------------------------------------------------------------------------------


def test_jd_relayed_order_info_needs_no_pull(aws: Resources, channels: FakeChannelApis) -> None:
    body = json.dumps(jd_order_info("channels/jd/order_info.multi_line.json"), ensure_ascii=False).encode()
    response = _post("jd", body, query=_now_query("jd", body))
    assert response["statusCode"] == 200
    assert _process(aws) == {"batchItemFailures": []}
    assert _orders(aws)["jd-300123456789"]["amounts"]["paid"] == 40700
    assert channels.calls_to("jd") == []


def test_signed_but_unmappable_jd_document_is_kept_in_quarantine_never_a_5xx(
    aws: Resources, channels: FakeChannelApis
) -> None:
    # Given a correctly signed orderInfo with no lines and no times
    body = json.dumps({"orderId": "300999", "orderState": "WAIT_SELLER_STOCK_OUT"}).encode()
    # When relayed and processed
    response = _post("jd", body, query=_now_query("jd", body))
    result = _process(aws)
    # Then accepted (the relay must not retry it forever), not retried, and visible with every reason
    assert response["statusCode"] == 200
    assert result == {"batchItemFailures": []}
    [record] = _quarantine(aws)
    assert record["stage"] == "mapping"
    assert "itemInfoList is empty" in record["details"] and "missing field 'orderPayment'" in record["details"]


# ---- the poller ------------------------------------------------------------------------------------------


def test_jd_poller_enqueues_modified_orders_and_keeps_a_high_water_mark(
    aws: Resources, channels: FakeChannelApis
) -> None:
    # Given JD holds an order modified a minute ago
    info = jd_order_info("channels/jd/order_info.multi_line.json")
    info["modified"] = (datetime.now(UTC) + timedelta(hours=8) - timedelta(minutes=1)).strftime("%Y-%m-%d %H:%M:%S")
    channels.put_order("jd", info)
    # When a scheduled tick runs (no channel named: every configured channel is polled)
    tick = poller({"detail-type": "Scheduled Event", "source": "aws.events", "detail": {}}, FakeContext())
    result = _process(aws)
    # Then JD, Douyin and Taobao were polled with valid signatures; Shopify has no API configured
    by_channel = {r["channel"]: r for r in tick["results"]}
    assert by_channel["shopify"] == {"channel": "shopify", "skipped": "not configured"}
    assert by_channel["jd"]["enqueued"] == 1 and by_channel["jd"]["windows"] == 1
    assert all(c.signature_ok for c in channels.calls)
    assert result == {"batchItemFailures": []}
    assert "jd-300123456789" in _orders(aws)
    cursors = boto3.resource("dynamodb").Table(aws.resolve(wiring.Ref("channel-cursors"))).scan()["Items"]
    # each channel's order mark, and its after-sale mark beside it (the poller reads both)
    assert {c["channel"] for c in cursors} == {"jd", "douyin", "taobao", "jd#aftersales", "douyin#aftersales",
                                               "taobao#aftersales"}
    assert by_channel["jd"]["aftersales"]["windows"] == 1


def test_poller_for_one_channel_reports_a_failing_channel_without_raising(
    aws: Resources, channels: FakeChannelApis
) -> None:
    channels.fail_next("jd", 502)
    result = poller({"channel": "jd"}, FakeContext())
    assert result == {"results": [{"channel": "jd", "error": "channel_api_unavailable"}]}
    assert _drain(aws) == []
