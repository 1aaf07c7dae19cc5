"""The channels' after-sale mappings (pure): records read back from each channel's API shape, money to fen
exactly, enums to ReturnKind / ChannelState, and which pushed messages are after-sale signals."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from ocp.channels.aftersales import douyin, jd, shopify, taobao
from ocp.channels.aftersales.registry import aftersale_adapter_for
from ocp.channels.common import Unmappable
from ocp.channels.registry import adapter_for
from ocp.domain.errors import UnknownChannel
from ocp.domain.returns.channel import AfterSaleSignal, ChannelState
from ocp.domain.returns.model import ReturnKind
from tests.channel_support import (
    delivery,
    douyin_headers,
    douyin_push,
    jd_order_info,
    spi_query,
)
from tests.support import fixture_json, shopify_headers


def _douyin(name: str) -> dict[str, Any]:
    data: dict[str, Any] = fixture_json(f"channels/douyin/{name}")["data"]
    return data


def _taobao(name: str) -> dict[str, Any]:
    refund: dict[str, Any] = fixture_json(f"channels/taobao/{name}")["refund_get_response"]["refund"]
    return refund


# ---- douyin ------------------------------------------------------------------------------------------------


def test_douyin_return_read_back_with_its_version_deadline_waybill_and_sku_order_line() -> None:
    record = douyin.to_aftersale(_douyin("aftersale_detail.return_refund.json"))
    assert (record.aftersale_id, record.channel_order_id) == ("7300000000123456701", "6920000000123456789")
    assert (record.kind, record.state, record.channel_status) == (ReturnKind.return_refund,
                                                                  ChannelState.buyer_returned, "11")
    assert record.version == "1794286800"
    assert record.requested_amount == 29512
    assert record.deadline == datetime.fromtimestamp(1794891600, UTC)
    assert record.buyer_shipment is not None and record.buyer_shipment.waybill_no == "SF1400000000001"
    # The line is the SKU order id, as the order adapter names OrderLine.line_id
    assert [(li.channel_line_id, li.quantity, li.sku) for li in record.lines] == [
        ("6920000000123456790", 2, "TEA-OOLONG-GIFTBOX")]


def test_douyin_refund_before_shipment_takes_the_whole_sku_order_when_the_count_is_zero() -> None:
    record = douyin.to_aftersale(_douyin("aftersale_detail.refund_only.json"))
    assert (record.kind, record.state) == (ReturnKind.refund_only, ChannelState.awaiting_seller)
    assert [(li.channel_line_id, li.quantity) for li in record.lines] == [("6920000000123456791", 1)]


@pytest.mark.parametrize(("aftersale_type", "kind"), [
    (0, ReturnKind.return_refund), (1, ReturnKind.refund_only_after_ship), (2, ReturnKind.refund_only),
    (3, ReturnKind.exchange), (7, ReturnKind.reship),
])
def test_douyin_aftersale_types(aftersale_type: int, kind: ReturnKind) -> None:
    data = _douyin("aftersale_detail.refund_only.json")
    data["process_info"]["after_sale_info"]["after_sale_type"] = aftersale_type
    assert douyin.to_aftersale(data).kind == kind


@pytest.mark.parametrize("aftersale_type", [6, 8])
def test_douyin_price_protection_and_repair_are_not_taken(aftersale_type: int) -> None:
    data = _douyin("aftersale_detail.refund_only.json")
    data["process_info"]["after_sale_info"]["after_sale_type"] = aftersale_type
    with pytest.raises(Unmappable):
        douyin.to_aftersale(data)


@pytest.mark.parametrize(("status", "refund_status", "state"), [
    (6, 0, ChannelState.awaiting_seller), (7, 0, ChannelState.awaiting_buyer_return),
    (11, 0, ChannelState.buyer_returned), (12, 1, ChannelState.refund_agreed), (12, 2, ChannelState.refund_agreed),
    (12, 3, ChannelState.refunded), (27, 0, ChannelState.refused), (29, 0, ChannelState.refused),
    (28, 0, ChannelState.closed), (28, 3, ChannelState.closed),
])
def test_douyin_statuses(status: int, refund_status: int, state: ChannelState) -> None:
    assert douyin.state_of(status, refund_status) == state


def test_douyin_refund_success_push_is_a_settled_signal_and_a_creation_push_is_not() -> None:
    message = fixture_json("channels/douyin/aftersale_push.refund_success.json")[0]  # type: ignore[index]
    assert douyin.signal(None, message) == AfterSaleSignal(aftersale_id="7300000000123456702", settled=True)
    created = {**message, "tag": "200"}
    assert douyin.signal(None, created) == AfterSaleSignal(aftersale_id="7300000000123456702", settled=False)
    order_push = {"tag": "101", "msg_id": "1", "data": {"p_id": 6920000000123456789, "aftersale_id": 1}}
    assert douyin.signal(None, order_push) is None


def test_douyin_after_sale_pushes_reach_the_signal_through_the_order_adapters_messages() -> None:
    # Given a signed push with a refund-success message, and one after-sale message without p_id
    raw = fixture_json("channels/douyin/aftersale_push.refund_success.json")[0]  # type: ignore[index]
    orphan = {"tag": "207", "msg_id": "m2", "data": {"aftersale_id": 7300000000123456703, "aftersale_status": 28}}
    body = douyin_push(raw, orphan)
    messages = adapter_for("douyin").messages(delivery("douyin", body, douyin_headers(body)))
    # Then both are kept, and the after-sale adapter recognises each from the kept document
    signals = [douyin.signal(m.topic, m.document) for m in messages]
    assert signals == [AfterSaleSignal(aftersale_id="7300000000123456702", settled=True),
                       AfterSaleSignal(aftersale_id="7300000000123456703")]


# ---- taobao ------------------------------------------------------------------------------------------------


def test_taobao_return_read_back_yuan_text_to_fen_exactly() -> None:
    record = taobao.to_aftersale(_taobao("aftersale_refund.return_goods.json"))
    assert record.requested_amount == 20007  # "200.07": a float would give 20006.999…
    assert (record.kind, record.state) == (ReturnKind.return_refund, ChannelState.awaiting_seller)
    assert (record.version, record.phase) == ("1794286800123", "aftersale")
    assert record.channel_order_id == "4105328891234567890"
    assert [(li.channel_line_id, li.quantity, li.sku) for li in record.lines] == [
        ("4105328891234567891", 2, "TEA-LONGJING-250")]
    assert record.deadline == datetime(2026, 11, 18, 4, 0, tzinfo=UTC)
    assert record.modified_at == datetime(2026, 11, 11, 4, 0, tzinfo=UTC)


@pytest.mark.parametrize(("changes", "kind"), [
    ({}, ReturnKind.refund_only),
    ({"order_status": "WAIT_BUYER_CONFIRM_GOODS"}, ReturnKind.refund_only_after_ship),
    ({"order_status": "TRADE_FINISHED"}, ReturnKind.refund_only_after_ship),
    ({"has_good_return": "true", "order_status": "TRADE_FINISHED"}, ReturnKind.return_refund),
    ({"status": "WAIT_SELLER_CONSIGN_GOODS"}, ReturnKind.exchange),
])
def test_taobao_kinds(changes: dict[str, Any], kind: ReturnKind) -> None:
    assert taobao.to_aftersale({**_taobao("aftersale_refund.refund_only.json"), **changes}).kind == kind


@pytest.mark.parametrize(("status", "state"), [
    ("WAIT_SELLER_AGREE", ChannelState.awaiting_seller),
    ("WAIT_BUYER_RETURN_GOODS", ChannelState.awaiting_buyer_return),
    ("WAIT_SELLER_CONFIRM_GOODS", ChannelState.buyer_returned), ("SELLER_REFUSE_BUYER", ChannelState.refused),
    ("CLOSED", ChannelState.closed), ("SUCCESS", ChannelState.refunded),
])
def test_taobao_statuses(status: str, state: ChannelState) -> None:
    assert taobao.to_aftersale({**_taobao("aftersale_refund.refund_only.json"), "status": status}).state == state


def test_taobao_unknown_status_is_not_guessed() -> None:
    with pytest.raises(Unmappable):
        taobao.to_aftersale({**_taobao("aftersale_refund.refund_only.json"), "status": "SOMETHING_NEW"})


def test_taobao_refund_infos_carry_fen_version_and_phase() -> None:
    record = taobao.to_aftersale(_taobao("aftersale_refund.return_goods.json"))
    assert taobao.refund_infos(record, 20007) == "220000000123456789|20007|1794286800123|aftersale"


def test_taobao_refund_topics_are_signals_and_refund_success_settles() -> None:
    # Given the TMC refund-success message relayed (signed) to OCP, content as JSON text
    raw = fixture_json("channels/taobao/aftersale_tmc.refund_success.json")
    no_tid = {"topic": "taobao_refund_RefundCreated", "id": "2",
              "content": json.dumps({"refund_id": 220000000123456791})}
    body = json.dumps([raw, no_tid], ensure_ascii=False).encode()
    messages = adapter_for("taobao").messages(delivery("taobao", body, query=spi_query("taobao", body)))
    # Then both reach the signal (the one without tid too), the success one settled
    assert [taobao.signal(m.topic, m.document) for m in messages] == [
        AfterSaleSignal(aftersale_id="220000000123456790", settled=True),
        AfterSaleSignal(aftersale_id="220000000123456791")]
    assert taobao.signal("taobao_trade_TradeBuyerPay", {"content": {"tid": 1}}) is None


# ---- jd ----------------------------------------------------------------------------------------------------


def test_jd_refund_application_is_a_whole_order_refund_named_by_the_orders_own_line_ids() -> None:
    row = fixture_json("channels/jd/aftersale_refundapply.json")[
        "jingdong_pop_afs_soa_refundapply_queryPageList_responce"]["queryResult"]["result"][0]
    record = jd.refund_to_aftersale(row, jd_order_info("channels/jd/order_info.multi_line.json"))
    assert (record.aftersale_id, record.kind, record.state) == ("refund-88000001", ReturnKind.refund_only,
                                                                ChannelState.awaiting_seller)
    assert record.requested_amount == 51800
    assert [(li.channel_line_id, li.quantity) for li in record.lines] == [
        ("100012345678-1", 2), ("100087654321-2", 1), ("100099990000-3", 1)]


def test_jd_service_order_names_the_line_of_its_sku_and_carries_sys_version() -> None:
    data = fixture_json("channels/jd/aftersale_service.json")["jingdong_asc_query_view_responce"]["result"]["data"]
    record = jd.service_to_aftersale(data, jd_order_info("channels/jd/order_info.multi_line.json"))
    assert (record.aftersale_id, record.kind, record.state, record.version) == (
        "service-990000001", ReturnKind.return_refund, ChannelState.awaiting_seller, "3")
    assert [(li.channel_line_id, li.quantity, li.sku) for li in record.lines] == [("100087654321-2", 1, "KETTLE-1L")]
    shipped = jd.service_to_aftersale({**data, "serviceStatus": 10005, "expressCode": "JD0001"}, None)
    assert shipped.state == ChannelState.buyer_returned and shipped.lines == ()


def test_jd_has_no_after_sale_push() -> None:
    assert jd.signal("orderInfo", {"orderId": "300123456789"}) is None


# ---- shopify -----------------------------------------------------------------------------------------------


def test_shopify_return_read_back_with_the_order_line_item_id() -> None:
    node = fixture_json("channels/shopify/aftersale_return.json")["data"]["return"]
    record = shopify.to_aftersale(node)
    assert (record.aftersale_id, record.channel_order_id) == ("gid://shopify/Return/945000001",
                                                              "5840912375611902001")
    assert (record.kind, record.state, record.version) == (ReturnKind.return_refund, ChannelState.awaiting_seller,
                                                           None)
    assert [(li.channel_line_id, li.quantity) for li in record.lines] == [("13370001", 1)]


@pytest.mark.parametrize(("status", "refunds", "state"), [
    ("OPEN", [], ChannelState.awaiting_buyer_return), ("CLOSED", [], ChannelState.closed),
    ("CLOSED", [{"id": "gid://shopify/Refund/1"}], ChannelState.refunded), ("DECLINED", [], ChannelState.refused),
    ("CANCELED", [], ChannelState.closed),
])
def test_shopify_statuses(status: str, refunds: list[dict[str, str]], state: ChannelState) -> None:
    node = fixture_json("channels/shopify/aftersale_return.json")["data"]["return"]
    assert shopify.to_aftersale({**node, "status": status, "refunds": {"nodes": refunds}}).state == state


def test_shopify_return_webhooks_and_ocps_refunds_are_signals() -> None:
    request = fixture_json("channels/shopify/aftersale_webhook.returns_request.json")
    refund = fixture_json("channels/shopify/aftersale_webhook.refunds_create.json")
    # Shopify's order adapter keeps the webhook as one message: topic header + body
    body = json.dumps(request).encode()
    message = adapter_for("shopify").messages(delivery(
        "shopify", body, shopify_headers(body, "shop-secret", topic="returns/request")))[0]
    assert shopify.signal(message.topic, message.document) == AfterSaleSignal(
        aftersale_id="gid://shopify/Return/945000001")
    assert shopify.signal("refunds/create", refund) == AfterSaleSignal(
        aftersale_id="gid://shopify/Return/945000001", settled=True)
    assert shopify.signal("refunds/create", {**refund, "note": "customer goodwill"}) is None
    assert shopify.signal("orders/updated", request) is None


def test_shopify_minor_units_to_decimal_text_exactly() -> None:
    assert [shopify.minor_text(v, "CNY") for v in (19900, 1, 20007)] == ["199.00", "0.01", "200.07"]
    assert shopify.minor_text(500, "JPY") == "500"


def test_the_registry_knows_the_four_channels() -> None:
    assert {aftersale_adapter_for(c).channel for c in ("douyin", "taobao", "jd", "shopify")} == {
        "douyin", "taobao", "jd", "shopify"}
    with pytest.raises(UnknownChannel):
        aftersale_adapter_for("pinduoduo")
