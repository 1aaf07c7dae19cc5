"""Taobao / Tmall: TMC relays and trade documents, split and mapped exactly."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from ocp.channels.taobao import TaobaoAdapter
from ocp.domain.errors import MalformedDelivery, UnmappableDocument
from ocp.domain.order.model import OrderStatus
from tests.channel_support import delivery, spi_query, taobao_trade
from tests.support import fixture_bytes, fixture_json

ADAPTER = TaobaoAdapter()
MULTI = "channels/taobao/trade_fullinfo.multi_line.json"
PRESALE = "channels/taobao/trade_fullinfo.presale.json"
CROSS = "channels/taobao/trade_fullinfo.cross_border.json"
TMC = "channels/taobao/tmc.trade_buyer_pay.json"


def _split(body: bytes) -> list[Any]:
    return ADAPTER.messages(delivery("taobao", body, query=spi_query("taobao", body)))


# ---- relays ----------------------------------------------------------------------------------------------


def test_tmc_message_is_thin_with_content_parsed_and_ids_exact() -> None:
    # Given a relayed TMC message: content is JSON text, ids above 2^53
    [message] = _split(fixture_bytes(TMC))
    # Then it is keyed by the TMC id and names the trade exactly
    assert message.message_id == "2100987654321098765"
    assert message.topic == "taobao_trade_TradeBuyerPay"
    assert ADAPTER.is_thin(message.document)
    assert ADAPTER.order_ref(message.document) == "4105328891234567890"
    assert message.document["content"]["payment"] == "598.00"


def test_sandbox_content_sample_is_understood() -> None:
    # Given the sandbox TradeCreate content quoted in CHANNELS.md §2.2
    [message] = _split(fixture_bytes("channels/taobao/tmc.trade_create.sandbox_content.json"))
    assert ADAPTER.order_ref(message.document) == "192364827791084"


def test_an_array_of_messages_and_full_documents_splits_one_by_one() -> None:
    # Given a relay batch: a TMC message, a full trade, a non-trade topic and a broken content
    tmc = fixture_json(TMC)
    body = json.dumps([
        tmc,
        fixture_json(MULTI),
        {"topic": "taobao_item_ItemUpdate", "id": 7, "content": json.dumps({"num_iid": 1})},
        {"topic": "taobao_trade_TradeChanged", "id": 8, "content": "{oops"},
    ]).encode()
    # When split
    messages = _split(body)
    # Then: thin, full (keyed by tid@modified), skipped, and one problem
    assert [m.message_id for m in messages] == [
        "2100987654321098765", "4105328891234567890@2026-11-11 00:00:10", "8",
    ]
    assert not ADAPTER.is_thin(messages[1].document)
    assert messages[2].problem == "content is not JSON"


@pytest.mark.parametrize("body", [b"<xml/>", b"3"])
def test_unreadable_relay_is_malformed(body: bytes) -> None:
    with pytest.raises(MalformedDelivery):
        _split(body)


def test_ack_is_the_spi_success_response() -> None:
    assert ADAPTER.ack().body == {"response": {"flag": "success", "code": "0", "message": "accepted"}}


# ---- golden mappings -------------------------------------------------------------------------------------


def test_multi_line_trade_uses_taobaos_own_apportionment() -> None:
    # Given a paid trade: 2 lines + a free gift, a line discount and a 满减 apportioned by Taobao
    order = ADAPTER.to_order(fixture_json(MULTI))
    # Then ids are the exact *_str values; yuan text became fen; GMT+8 became UTC
    assert order.order_id == "taobao-4105328891234567890"
    assert order.status == OrderStatus.received
    assert order.created_at == datetime(2026, 11, 10, 16, 0, 3, tzinfo=UTC)
    assert order.paid_at == datetime(2026, 11, 10, 16, 0, 9, tzinfo=UTC)
    assert order.amounts.model_dump() == {"items": 65800, "discount": 7000, "shipping": 1000, "paid": 59800, "tax": 0}
    # And each line's paid is `divide_order_fee` exactly
    assert [(li.line_id, li.sku, li.quantity, li.unit_price, li.discount, li.paid, li.gift) for li in order.lines] == [
        ("4105328891234567891", "TEA-LONGJING-250", 2, 19900, 4962, 34838, False),
        ("4105328891234567892", "CUP-CELADON", 1, 26000, 2038, 23962, False),
        ("4105328891234567893", "GIFT-CHAZE", 1, 0, 0, 0, True),
    ]
    assert order.lines[2].gift_for == ("4105328891234567891",)
    # And masked PII stays masked, with the oaid kept for later decryption
    assert (order.address.recipient, order.address.phone) == ("张**", "*******5552")
    assert order.address.pii_token == "1aB2cD3eF4gH5iJ6kL7mN8oP9qR0sTuVwXyZ"
    assert (order.address.province, order.address.city, order.address.district, order.address.town) == (
        "浙江省", "杭州市", "西湖区", "西溪街道")
    assert (order.buyer_note, order.seller_note, order.seller_flag) == ("请用顺丰，周末送货", "加急，送试饮装", 1)
    assert order.buyer_id == "AAHk3Lw9ABcdEfGhIjKlMnOp_q"
    assert order.channel_status == "WAIT_SELLER_SEND_GOODS"


def test_bare_trade_and_simplified_lists_map_the_same() -> None:
    # Given the same trade without the envelope, with bare lists (simplify=true)
    trade = taobao_trade(MULTI)
    trade["orders"] = trade["orders"]["order"]
    # When / Then
    assert ADAPTER.to_order(trade) == ADAPTER.to_order(fixture_json(MULTI))


def test_step_presale_awaiting_its_balance() -> None:
    # Given a 定金预售 trade: deposit paid, final payment not (int tid above 2^53, bare lists)
    order = ADAPTER.to_order(fixture_json(PRESALE))
    # Then it is unpaid, with the pre-sale stage, deposit and ship-by (the prose est_con_time is ignored)
    assert order.channel_order_id == "4105328899000000001"
    assert order.status == OrderStatus.pending_payment and order.paid_at is None
    assert order.presale is not None
    assert order.presale.model_dump() == {
        "kind": "deposit", "stage": "FRONT_PAID_FINAL_NOPAID", "deposit": 10000,
        "ship_by": datetime(2026, 11, 20, 15, 59, 59, tzinfo=UTC),
    }
    assert (order.address.province, order.address.city) == ("上海市", "上海市")  # "上海" normalised


def test_bonded_cross_border_trade_with_tax_refund_and_a_county_level_city() -> None:
    # Given a Tmall Global bonded trade: tax on top, a single line whose payment includes postage,
    # a refund requested, and an address in a 省直辖县级行政区 (only receiver_district is set)
    order = ADAPTER.to_order(fixture_json(CROSS))
    # Then
    assert order.amounts.model_dump() == {"items": 9900, "discount": 0, "shipping": 1000, "paid": 11810, "tax": 910}
    [line] = order.lines
    assert (line.paid, line.tax, line.discount, line.refund_requested) == (10810, 910, 0, True)
    assert order.cross_border is not None
    assert order.cross_border.model_dump() == {
        "kind": "bonded", "tax": 910, "customs": None, "presentment_currency": "HKD",
        "id_card_name": None, "id_card_no": None,
    }
    assert (order.address.city, order.address.district) == ("济源市", None)


def test_without_divide_order_fee_the_discount_is_spread_by_line_value() -> None:
    # Given the multi-line trade with Taobao's apportioned figures and line payments removed
    trade = taobao_trade(MULTI)
    for line in trade["orders"]["order"]:
        line.pop("divide_order_fee")
        line.pop("payment")
    # When mapped
    order = ADAPTER.to_order(trade)
    # Then 588.00 of goods is split 398:260:0 by largest remainder (the leftover fen to the larger remainder)
    assert [li.paid for li in order.lines] == [35566, 23234, 0]  # 35565.65 + 1 leftover, 23234.04
    assert sum(li.paid for li in order.lines) + order.amounts.shipping == order.amounts.paid


@pytest.mark.parametrize(("status", "expected"), [
    ("TRADE_CLOSED", OrderStatus.cancelled),
    ("TRADE_CLOSED_BY_TAOBAO", OrderStatus.cancelled),
    ("WAIT_BUYER_PAY", OrderStatus.pending_payment),
    ("TRADE_FINISHED", OrderStatus.received),
    ("PAID_FORBID_CONSIGN", OrderStatus.received),
])
def test_statuses(status: str, expected: OrderStatus) -> None:
    order = ADAPTER.to_order(taobao_trade(MULTI) | {"status": status, "end_time": "2026-11-12 10:00:00"})
    assert order.status == expected
    if expected == OrderStatus.cancelled:
        assert order.cancelled_at == datetime(2026, 11, 12, 2, 0, tzinfo=UTC)


def test_unknown_status_is_not_guessed() -> None:
    with pytest.raises(UnmappableDocument, match="unknown trade status 'SOMETHING_NEW'"):
        ADAPTER.to_order(taobao_trade(MULTI) | {"status": "SOMETHING_NEW"})


def test_amounts_must_be_decimal_text() -> None:
    with pytest.raises(UnmappableDocument, match="payment must be yuan as decimal text"):
        ADAPTER.to_order(taobao_trade(MULTI) | {"payment": 598.0})
    with pytest.raises(UnmappableDocument, match="more decimals than CNY allows"):
        ADAPTER.to_order(taobao_trade(MULTI) | {"payment": "598.001"})


def test_thin_message_and_error_response_explain_themselves() -> None:
    with pytest.raises(UnmappableDocument, match="taobao.trade.fullinfo.get"):
        ADAPTER.to_order(fixture_json(TMC) | {"content": {"tid": 1}})
    with pytest.raises(UnmappableDocument, match="交易不存在"):
        ADAPTER.to_order({"error_response": {"code": 15, "sub_code": "isv.trade-not-exist", "sub_msg": "交易不存在"}})
