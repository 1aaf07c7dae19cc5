"""Douyin 抖店: splitting pushes, telling thin messages, and golden mappings of order details."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from ocp.channels.douyin import DouyinAdapter
from ocp.domain.errors import MalformedDelivery, UnmappableDocument
from ocp.domain.order.model import OrderStatus
from tests.channel_support import delivery, douyin_headers, douyin_push, shop_order
from tests.support import fixture_bytes, fixture_json

ADAPTER = DouyinAdapter()
MULTI = "channels/douyin/order_detail.multi_line.json"
PRESALE = "channels/douyin/order_detail.presale_cross_border.json"
SKIT = "channels/douyin/order_detail.response.skit_sample.json"


def _split(body: bytes) -> list[Any]:
    return ADAPTER.messages(delivery("douyin", body, douyin_headers(body)))


# ---- pushes ----------------------------------------------------------------------------------------------


def test_push_messages_are_thin_and_name_their_order_as_a_string() -> None:
    # Given the CHANNELS.md push body: an array whose data is JSON text with a 19-digit p_id
    body = fixture_json("channels/douyin/push.trade_create.computed_vector.json")["body"].encode()
    # When split
    [message] = _split(body)
    # Then it is one thin TradeCreate message keyed by msg_id, naming the order exactly
    assert message.message_id == "10293847560918273645"
    assert message.topic == "doudian_trade_TradeCreate"
    assert message.problem is None
    assert ADAPTER.is_thin(message.document)
    assert ADAPTER.order_ref(message.document) == "4781320682406083640"
    assert message.document["data"]["create_time"] == 1618990587


def test_url_check_yields_no_message_and_the_ack_is_doudians() -> None:
    # Given the platform's URL check (tag "0")
    body = douyin_push({"tag": "0", "msg_id": "0", "data": {}})
    # When split / Then nothing is to be processed, and the ack is the documented body
    assert _split(body) == []
    assert ADAPTER.ack().body == {"code": 0, "msg": "success"}
    assert ADAPTER.ack().status_code == 200


def test_skit_event_samples_with_msgid_numeric_tag_and_object_data_are_accepted() -> None:
    # Given the SDK's decoded event shape: one object, `msgId`, a numeric tag, data as an object
    body = fixture_bytes("channels/douyin/trade_canceled.event.skit_sample.json")
    # When split
    [message] = _split(body)
    # Then it is understood like the wire form
    assert message.topic == "doudian_trade_TradeCanceled"
    assert message.message_id.startswith("04288")
    assert ADAPTER.order_ref(message.document) == "12345"


def test_one_bad_message_in_a_batch_is_flagged_alone() -> None:
    # Given a batch: a good paid event, data that is not JSON, a placeholder p_id, a product message
    good = {"tag": "101", "msg_id": "m-good", "data": {"p_id": 6920000000123456789, "pay_amount": 39300}}
    body = douyin_push(
        good,
        {"tag": "105", "msg_id": "m-broken", "data": "{not json"},
        {"tag": "101", "msg_id": "m-placeholder", "data": {"p_id": "xxxxxxx"}},
        {"tag": "400", "msg_id": "m-product", "data": {"product_id": 1}},
        "not an object",
    )
    # When split
    messages = _split(body)
    # Then the good one is usable, each broken one carries its own problem, the product message is skipped
    by_id = {m.message_id: m for m in messages}
    assert by_id["m-good"].problem is None
    assert by_id["m-broken"].problem == "data is not JSON"
    assert by_id["m-placeholder"].problem == "p_id is not an order id"
    assert "m-product" not in by_id
    assert [m.problem for m in messages if m.message_id.endswith("#4")] == ["message is JSON str, not an object"]


@pytest.mark.parametrize("body", [b"not json", b"42", b'"text"'])
def test_a_body_that_is_no_push_at_all_is_malformed(body: bytes) -> None:
    with pytest.raises(MalformedDelivery):
        _split(body)


def test_mapping_a_thin_message_explains_that_it_must_be_pulled() -> None:
    # Given a thin message / When mapped / Then the reason says where the full order comes from
    with pytest.raises(UnmappableDocument, match="order.orderDetail"):
        ADAPTER.to_order({"tag": "101", "msg_id": "1", "data": {"p_id": 1}})


# ---- golden mappings -------------------------------------------------------------------------------------


def test_multi_line_order_with_discounts_gift_and_encrypted_pii() -> None:
    # Given an order.orderDetail response: 3 SKU orders (one a free gift), shop + platform discounts, postage
    document = fixture_json(MULTI)
    # When mapped (the API envelope included)
    order = ADAPTER.to_order(document)
    # Then ids are exact strings, fen stay fen, seconds become UTC
    assert order.order_id == "douyin-6920000000123456789"
    assert order.status == OrderStatus.received
    assert order.created_at == datetime(2026, 11, 10, 16, 0, 3, tzinfo=UTC)
    assert order.paid_at == datetime(2026, 11, 10, 16, 0, 9, tzinfo=UTC)
    assert order.channel_updated_at == datetime(2026, 11, 10, 16, 0, 14, tzinfo=UTC)
    assert order.amounts.model_dump() == {"items": 41700, "discount": 3000, "shipping": 600, "paid": 39300, "tax": 0}
    # And Douyin's own per-line pay_amount is used as each line's share
    assert [(li.line_id, li.sku, li.quantity, li.unit_price, li.discount, li.paid, li.gift) for li in order.lines] == [
        ("6920000000123456790", "TEA-OOLONG-GIFTBOX", 2, 15900, 2288, 29512, False),
        ("6920000000123456791", "CUP-GLASS", 1, 9900, 712, 9188, False),  # no out_sku_id: `code` is the SKU
        ("6920000000123456792", "GIFT-OOLONG-8G", 1, 0, 0, 0, True),
    ]
    assert order.lines[2].gift_for == ("6920000000123456790",)
    assert order.lines[0].channel_sku_id == "1740000000000001"
    # And the address levels are renamed (town = district, street = town), ciphertext kept as received
    address = order.address
    levels = (address.province, address.city, address.district, address.town)
    assert levels == ("福建省", "厦门市", "思明区", "莲前街道")
    assert address.recipient is not None and address.recipient.startswith("##") and address.recipient.endswith("#1##")
    assert address.phone is not None and address.phone.startswith("$$")
    masked = (address.masked_recipient, address.masked_phone, address.masked_detail)
    assert masked == ("李**", "138****0088", "莲前***号")
    # And notes and flags are kept
    assert (order.buyer_note, order.seller_note, order.seller_flag) == ("不要放快递柜", "送试饮装", 3)
    assert order.presale is None and order.cross_border is None


def test_deposit_presale_cross_border_order() -> None:
    # Given a 定金预售 order on 跨境BBC (biz 21): deposit paid, balance due, tax on top, ID card encrypted
    order = ADAPTER.to_order(fixture_json(PRESALE))
    # Then it waits for the balance and carries the pre-sale and cross-border facts
    assert order.status == OrderStatus.pending_payment and order.paid_at is None
    assert order.presale is not None
    assert order.presale.model_dump() == {
        "kind": "deposit", "stage": "1/2 phases paid", "deposit": 10000,
        "ship_by": datetime(2026, 11, 20, 15, 59, 59, tzinfo=UTC),
    }
    assert order.cross_border is not None
    assert (order.cross_border.kind, order.cross_border.tax) == ("bbc", 910)
    assert order.cross_border.id_card_no is not None and order.cross_border.id_card_no.startswith("#")
    assert order.amounts.model_dump() == {"items": 59900, "discount": 0, "shipping": 0, "paid": 60810, "tax": 910}
    assert [(li.paid, li.tax, li.discount) for li in order.lines] == [(60810, 910, 0)]


def test_skit_sample_with_string_numbers_maps_and_still_reconciles() -> None:
    # Given the SDK sample: every number is a string and the totals do not agree with each other
    order = ADAPTER.to_order(fixture_json(SKIT))
    # Then it maps (digit strings read as fen), and lines + shipping == paid exactly regardless
    assert order.channel_order_id == "4781320682406083640"
    assert sum(li.paid for li in order.lines) + order.amounts.shipping == order.amounts.paid == 500
    assert order.address.city == "北京市"  # "市辖区" of a municipality
    assert (order.address.district, order.address.town) == ("海淀区", "中关村街道")
    assert order.lines[0].gift and order.lines[0].refund_requested  # FREE; after_sale_status 6
    assert order.status == OrderStatus.pending_payment  # main_status 103: partly paid
    assert order.presale is not None and order.presale.kind == "deposit"


def test_sku_pay_amount_that_includes_postage_is_read_without_it() -> None:
    # Given SKU orders whose pay_amount includes each line's postage share
    document = shop_order(MULTI)
    for line in document["sku_order_list"]:
        line["pay_amount"] += line["post_amount"]
    # When mapped / Then the shares are the same as without postage
    order = ADAPTER.to_order(document)
    assert [li.paid for li in order.lines] == [29512, 9188, 0]


@pytest.mark.parametrize(("changes", "status"), [
    ({"order_status": 4, "main_status": 4}, OrderStatus.cancelled),
    ({"order_status": 1, "main_status": 1, "pay_time": 0}, OrderStatus.pending_payment),
    ({"order_status": 2, "main_status": 21}, OrderStatus.cancelled),
    ({"order_status": 3, "main_status": 3}, OrderStatus.received),
])
def test_statuses(changes: dict[str, Any], status: OrderStatus) -> None:
    order = ADAPTER.to_order(shop_order(MULTI) | changes)
    assert order.status == status
    assert (order.cancelled_at is not None) == (status == OrderStatus.cancelled)


def test_unmappable_detail_lists_every_reason() -> None:
    # Given a detail with no times, no amount and no lines
    with pytest.raises(UnmappableDocument) as caught:
        ADAPTER.to_order({"order_id": "1", "sku_order_list": []})
    # Then every problem is named
    reasons = " | ".join(caught.value.reasons)
    for expected in ("create_time", "update_time", "pay_amount", "sku_order_list is empty"):
        assert expected in reasons


def test_api_error_envelope_is_unmappable_with_the_channels_message() -> None:
    error = {"code": 40004, "msg": "业务处理失败", "sub_msg": "订单不存在", "data": {}}
    with pytest.raises(UnmappableDocument, match="订单不存在"):
        ADAPTER.to_order(error)


def test_float_amounts_or_ids_are_refused() -> None:
    # Given a document re-serialised by something that turned fen into floats
    document = shop_order(MULTI) | {"pay_amount": 393.0}
    with pytest.raises(UnmappableDocument, match="pay_amount must be an integer"):
        ADAPTER.to_order(document)
    document = json.loads(json.dumps(shop_order(MULTI)))
    document["order_id"] = 6.92e18
    with pytest.raises(UnmappableDocument, match="floating-point"):
        ADAPTER.to_order(document)
