"""Intake of channel deliveries and processing of thin messages, over the in-memory ports."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from ocp.adapters.memory.intake import (
    MemoryInbox,
    MemoryQuarantine,
    MemoryRawArchive,
    StaticChannelApis,
    StaticCredentials,
)
from ocp.adapters.memory.orders import MemoryOrderStore
from ocp.channels.base import ApiConfig
from ocp.channels.douyin import DouyinAdapter
from ocp.channels.registry import adapter_for
from ocp.channels.taobao import TaobaoAdapter
from ocp.domain.errors import ChannelApiUnavailable, ChannelNotConfigured, SignatureInvalid
from ocp.domain.order.inbox import InboxMessage
from ocp.domain.order.model import OrderStatus
from ocp.services.order.intake import IntakeDeps, accept_delivery
from ocp.services.order.processing import Outcome, ProcessingDeps, process_message
from tests.channel_support import (
    CREDENTIALS,
    delivery,
    douyin_headers,
    douyin_push,
    shop_order,
    spi_query,
    taobao_trade,
)
from tests.fakes.channel_apis import FakeChannelApis
from tests.support import fixture_bytes

NOW = datetime(2026, 11, 11, 4, 10, tzinfo=UTC)
DOUYIN_ORDER = "6920000000123456789"


def _intake(credentials: dict[str, object] | None = None) -> IntakeDeps:
    return IntakeDeps(credentials=StaticCredentials(credentials or dict(CREDENTIALS)),  # type: ignore[arg-type]
                      archive=MemoryRawArchive(), inbox=MemoryInbox(), quarantine=MemoryQuarantine())


# ---- intake ----------------------------------------------------------------------------------------------


def test_douyin_url_check_is_acknowledged_archived_and_enqueues_nothing() -> None:
    # Given the platform's URL verification push, signed
    body = douyin_push({"tag": "0", "msg_id": "verify", "data": {}})
    deps = _intake()
    # When accepted
    accepted = accept_delivery(delivery("douyin", body, douyin_headers(body)), DouyinAdapter(), deps)
    # Then the ack is doudian's success body, the delivery is kept, nothing goes to the processor
    assert accepted.ack.body == {"code": 0, "msg": "success"}
    assert accepted.messages == 0
    assert deps.inbox.messages == []  # type: ignore[attr-defined]
    assert list(deps.archive.objects) == [f"raw/douyin/{accepted.delivery_id}.json"]  # type: ignore[attr-defined]


def test_douyin_batch_with_one_bad_message_still_takes_the_good_ones() -> None:
    # Given a batch of two good messages around one whose data is broken
    body = douyin_push(
        {"tag": "100", "msg_id": "a", "data": {"p_id": 6920000000123456789}},
        {"tag": "105", "msg_id": "b", "data": "{broken"},
        {"tag": "101", "msg_id": "c", "data": {"p_id": 6920000000123456789, "pay_amount": 39300}},
    )
    deps = _intake()
    # When accepted
    accepted = accept_delivery(delivery("douyin", body, douyin_headers(body)), DouyinAdapter(), deps)
    # Then the ack is still success, the good ones are enqueued, the bad one is quarantined with its reason
    assert accepted.ack.body == {"code": 0, "msg": "success"}
    assert [m.message_id for m in deps.inbox.messages] == ["a", "c"]  # type: ignore[attr-defined]
    [record] = deps.quarantine.records.values()  # type: ignore[attr-defined]
    assert (record.message_id, record.stage, record.reason) == ("b", "intake", "data is not JSON")
    assert record.archive_key == accepted.archive_key


def test_wrong_signature_stores_and_enqueues_nothing() -> None:
    body = fixture_bytes("channels/taobao/tmc.trade_buyer_pay.json")
    query = spi_query("taobao", body) | {"sign": "0" * 32}
    deps = _intake()
    with pytest.raises(SignatureInvalid):
        accept_delivery(delivery("taobao", body, query=query), TaobaoAdapter(), deps)
    assert deps.archive.objects == {} and deps.inbox.messages == []  # type: ignore[attr-defined]


def test_channel_without_app_key_is_kept_unverified_for_a_replay() -> None:
    # Given Taobao configured with a secret only
    body = fixture_bytes("channels/taobao/tmc.trade_buyer_pay.json")
    deps = _intake({"taobao": CREDENTIALS["taobao"].model_copy(update={"app_key": None})})
    # When a relay arrives / Then it is refused as not configured but kept
    with pytest.raises(ChannelNotConfigured):
        accept_delivery(delivery("taobao", body, query=spi_query("taobao", body)), TaobaoAdapter(), deps)
    assert [k.split("/")[0] for k in deps.archive.objects] == ["unverified"]  # type: ignore[attr-defined]


def test_tmc_relay_is_enqueued_thin() -> None:
    body = fixture_bytes("channels/taobao/tmc.trade_buyer_pay.json")
    deps = _intake()
    accepted = accept_delivery(delivery("taobao", body, query=spi_query("taobao", body)), TaobaoAdapter(), deps)
    [message] = deps.inbox.messages  # type: ignore[attr-defined]
    assert accepted.ack.body["response"]["flag"] == "success"
    assert message.topic == "taobao_trade_TradeBuyerPay" and message.document["content"]["tid"] == 4105328891234567890


# ---- processing: pulling thin messages -------------------------------------------------------------------


@pytest.fixture
def fake() -> FakeChannelApis:
    fake = FakeChannelApis(credentials=dict(CREDENTIALS))
    fake.put_order("douyin", shop_order("channels/douyin/order_detail.multi_line.json"))
    fake.put_order("taobao", taobao_trade("channels/taobao/trade_fullinfo.multi_line.json"))
    return fake


def _processing(fake: FakeChannelApis | None) -> ProcessingDeps:
    apis = None
    if fake is not None:
        apis = StaticChannelApis({
            channel: adapter_for(channel).api(ApiConfig(base_url=url, credentials=CREDENTIALS[channel],
                                                       transport=fake.transport(), now=lambda: NOW))
            for channel, url in (("douyin", "http://fake/douyin"), ("taobao", "http://fake/taobao/router/rest"))
        })
    return ProcessingDeps(orders=MemoryOrderStore(), archive=MemoryRawArchive(), quarantine=MemoryQuarantine(),
                          now=lambda: NOW, channel_apis=apis)


def _thin(channel: str, document: dict[str, object], message_id: str = "m-1") -> InboxMessage:
    return InboxMessage(delivery_id="d-1", message_id=message_id, channel=channel, archive_key="raw/x/d-1.json",
                        received_at="2026-11-11T04:05:16Z", document=document)


def test_thin_douyin_message_becomes_the_full_order_pulled_from_the_channel(fake: FakeChannelApis) -> None:
    # Given a thin TradePaid message
    deps = _processing(fake)
    message = _thin("douyin", {"tag": "101", "msg_id": "m-1", "data": {"p_id": 6920000000123456789}})
    # When processed
    result = process_message(message, DouyinAdapter(), deps)
    # Then the full order was pulled (order.orderDetail) and stored complete
    assert result.outcome == Outcome.created
    assert result.order is not None and len(result.order.lines) == 3 and result.order.amounts.paid == 39300
    assert [c.method for c in fake.calls_to("douyin")] == ["order.orderDetail"]


def test_a_second_thin_event_for_an_unchanged_order_is_a_duplicate(fake: FakeChannelApis) -> None:
    deps = _processing(fake)
    first = _thin("douyin", {"tag": "100", "msg_id": "a", "data": {"p_id": 6920000000123456789}}, "a")
    again = _thin("douyin", {"tag": "101", "msg_id": "b", "data": {"p_id": 6920000000123456789}}, "b")
    assert process_message(first, DouyinAdapter(), deps).outcome == Outcome.created
    assert process_message(again, DouyinAdapter(), deps).outcome == Outcome.duplicate


def test_thin_taobao_tmc_message_pulls_fullinfo(fake: FakeChannelApis) -> None:
    deps = _processing(fake)
    tmc = json.loads(fixture_bytes("channels/taobao/tmc.trade_buyer_pay.json"))
    tmc["content"] = json.loads(tmc["content"])
    result = process_message(_thin("taobao", tmc), TaobaoAdapter(), deps)
    assert result.outcome == Outcome.created and result.order is not None
    assert result.order.status == OrderStatus.received and result.order.amounts.paid == 59800


def test_an_order_the_channel_does_not_know_is_quarantined_with_its_answer(fake: FakeChannelApis) -> None:
    deps = _processing(fake)
    result = process_message(_thin("douyin", {"tag": "101", "data": {"p_id": 1}}), DouyinAdapter(), deps)
    assert result.outcome == Outcome.quarantined
    [record] = deps.quarantine.records.values()  # type: ignore[attr-defined]
    assert record.stage == "pull" and "订单不存在" in record.details[0]


def test_an_unreachable_channel_raises_so_the_queue_retries(fake: FakeChannelApis) -> None:
    deps = _processing(fake)
    fake.fail_next("douyin", 503)
    with pytest.raises(ChannelApiUnavailable):
        process_message(_thin("douyin", {"tag": "101", "data": {"p_id": DOUYIN_ORDER}}), DouyinAdapter(), deps)
    assert deps.quarantine.records == {}  # type: ignore[attr-defined]


def test_pulls_not_configured_are_quarantined_not_lost() -> None:
    deps = _processing(None)
    result = process_message(_thin("douyin", {"tag": "101", "data": {"p_id": DOUYIN_ORDER}}), DouyinAdapter(), deps)
    assert result.outcome == Outcome.quarantined
    [record] = deps.quarantine.records.values()  # type: ignore[attr-defined]
    assert record.stage == "pull" and "not configured" in record.details[0]


def test_big_delivery_read_back_from_the_archive_is_pulled_too(fake: FakeChannelApis) -> None:
    # Given a thin push too big to travel inline: the processor re-reads and re-splits the archived delivery
    body = douyin_push({"tag": "101", "msg_id": "big", "data": {"p_id": 6920000000123456789, "pad": "x" * 10}})
    intake = _intake()
    accept_delivery(delivery("douyin", body, douyin_headers(body)), DouyinAdapter(), intake)
    message = intake.inbox.messages[0].model_copy(update={"document": None})  # type: ignore[attr-defined]
    deps = _processing(fake)
    deps.archive.objects.update(intake.archive.objects)  # type: ignore[attr-defined]
    # When processed / Then the message is found in the archive, pulled and stored
    assert process_message(message, DouyinAdapter(), deps).outcome == Outcome.created
