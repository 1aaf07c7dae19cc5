"""JD: orderInfo documents (polled or relayed), mapped exactly."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from ocp.channels.jd import JdAdapter
from ocp.domain.errors import MalformedDelivery, UnmappableDocument
from ocp.domain.order.model import OrderStatus
from tests.channel_support import delivery, jd_order_info, spi_query
from tests.support import fixture_json

ADAPTER = JdAdapter()
REAL = "channels/jd/order_info.real_shape.json"
MULTI = "channels/jd/order_info.multi_line.json"


def _split(body: bytes) -> list[Any]:
    return ADAPTER.messages(delivery("jd", body, query=spi_query("jd", body)))


def test_real_shaped_order_maps_with_sentinels_code_labels_and_encrypted_pii() -> None:
    # Given an orderInfo shaped like JD's real test order: "4-在线支付", "0001-01-01 00:00:00" sentinels,
    # a province without 省, an encrypted name and address, a masked mobile
    order = ADAPTER.to_order(fixture_json(REAL))
    # Then
    assert order.order_id == "jd-39117091780"
    assert order.status == OrderStatus.received
    assert order.created_at == datetime(2022, 7, 16, 8, 38, 20, tzinfo=UTC)
    assert order.paid_at == datetime(2022, 7, 16, 8, 38, 32, tzinfo=UTC)
    assert order.cancelled_at is None  # orderEndTime is the unset sentinel
    assert order.amounts.model_dump() == {"items": 100, "discount": 0, "shipping": 0, "paid": 100, "tax": 0}
    [line] = order.lines
    assert (line.line_id, line.sku, line.channel_sku_id, line.quantity, line.paid) == (
        "10054887745652-1", "testjd4206151136003", "10054887745652", 1, 100)
    address = order.address
    levels = (address.province, address.city, address.district, address.town)
    assert levels == ("广东省", "广州市", "海珠区", "赤岗街道")
    assert address.recipient is not None and address.recipient.startswith("AAS/")
    assert address.detail is not None and address.detail.startswith("AAS/")
    assert address.phone == "136*******5"


def test_multi_line_order_apportions_order_level_coupons_by_line_value() -> None:
    # Given an order in JD's get envelope (misspelled `_responce`): a 单品促销 on one SKU, a 京东券 and a
    # shop coupon at order level, postage, part paid with JD balance, and a ¥0.00 gift line
    order = ADAPTER.to_order(fixture_json(MULTI))
    # Then paid counts the balance too; the line coupon stays on its SKU, the rest is spread by value
    assert order.amounts.model_dump() == {"items": 45500, "discount": 5600, "shipping": 800, "paid": 40700, "tax": 0}
    assert [(li.line_id, li.sku, li.quantity, li.unit_price, li.discount, li.paid, li.gift) for li in order.lines] == [
        ("100012345678-1", "TEA-PUER-357", 2, 12800, 3787, 21813, False),
        ("100087654321-2", "KETTLE-1L", 1, 19900, 1813, 18087, False),
        ("100099990000-3", "GIFT-TEABAG", 1, 0, 0, 0, True),
    ]
    assert (order.buyer_note, order.seller_note) == ("工作日送货", "VIP客户，优先发货")
    assert order.buyer_id == "o_jd_8f3a2b1c9d7e6f5a4b3c2d1e"
    assert (order.address.province, order.address.district) == ("上海市", "浦东新区")


@pytest.mark.parametrize(("changes", "status"), [
    ({"orderState": "TRADE_CANCELED", "orderEndTime": "2026-11-11 01:00:00"}, OrderStatus.cancelled),
    ({"paymentConfirmTime": "0001-01-01 00:00:00"}, OrderStatus.pending_payment),
    ({"paymentConfirmTime": "1970-01-01 00:00:00", "payType": "1-货到付款"}, OrderStatus.received),
    ({"orderState": "FINISHED_L"}, OrderStatus.received),
])
def test_statuses(changes: dict[str, Any], status: OrderStatus) -> None:
    order = ADAPTER.to_order(jd_order_info(MULTI) | changes)
    assert order.status == status
    assert order.cash_on_delivery == (changes.get("payType") == "1-货到付款")


def test_locked_order_marks_a_refund_request_on_every_line() -> None:
    order = ADAPTER.to_order(jd_order_info(MULTI) | {"orderState": "LOCKED"})
    assert all(li.refund_requested for li in order.lines)
    assert order.channel_status == "LOCKED"


def test_customs_fields_make_it_cross_border() -> None:
    info = jd_order_info(REAL) | {"customsModel": "保税区发货", "taxFee": "0.91", "orderPayment": "1.91"}
    order = ADAPTER.to_order(info)
    assert order.cross_border is not None
    assert order.cross_border.model_dump(include={"kind", "customs", "tax"}) == {
        "kind": "customs", "customs": "保税区发货", "tax": 91}
    assert order.amounts.tax == 91 and sum(li.paid for li in order.lines) == 191


def test_missing_modified_falls_back_to_the_latest_known_time() -> None:
    info = jd_order_info(REAL)
    info.pop("modified")
    assert ADAPTER.to_order(info).channel_updated_at == datetime(2022, 7, 16, 8, 38, 32, tzinfo=UTC)


def test_relayed_order_infos_split_one_message_each() -> None:
    # Given a relay with two orderInfos and something else
    body = json.dumps([jd_order_info(REAL), fixture_json(MULTI), {"hello": 1}], ensure_ascii=False).encode()
    # When split
    messages = _split(body)
    # Then each order is a full (never thin) message keyed by id@modified; the stranger is a problem
    assert [m.message_id for m in messages[:2]] == [
        "39117091780@2022-07-16 16:38:33", "300123456789@2026-11-11 00:05:41"]
    assert not any(ADAPTER.is_thin(m.document) for m in messages)
    assert messages[2].problem == "not an orderInfo document (no orderId)"
    with pytest.raises(MalformedDelivery):
        _split(b"nope")


def test_unmappable_order_lists_every_reason() -> None:
    with pytest.raises(UnmappableDocument) as caught:
        ADAPTER.to_order({"orderId": "1", "itemInfoList": [{"skuId": "9"}]})
    reasons = " | ".join(caught.value.reasons)
    assert "orderStartTime" in reasons and "orderPayment" in reasons and "orderState" in reasons


def test_bad_line_is_named() -> None:
    info = jd_order_info(REAL)
    info["itemInfoList"][0]["itemTotal"] = "one"
    with pytest.raises(UnmappableDocument, match="itemTotal must be an integer"):
        ADAPTER.to_order(info)
