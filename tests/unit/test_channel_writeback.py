"""Shipment write-back through the four channel clients (in-process fakes that check every signature), behind the
`ChannelWriteback` port, and the channel order view reconciliation reads."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from ocp.adapters.channels.writeback import ChannelApiOrders, ChannelApiWriteback, shipment_notice
from ocp.adapters.memory.intake import StaticChannelApis
from ocp.channels.base import ApiConfig, ChannelApi
from ocp.channels.registry import adapter_for
from ocp.domain.fulfillment.callbacks import apply_event
from ocp.domain.fulfillment.writeback import WritebackRejected, WritebackUnavailable
from ocp.domain.order.model import Order, OrderLine, OrderStatus
from tests.channel_support import CREDENTIALS, jd_order_info, shop_order, taobao_trade
from tests.fakes.channel_apis import FakeChannelApis
from tests.fulfillment_support import callback
from tests.support import fixture_json

NOW = datetime(2026, 11, 11, 4, 30, tzinfo=UTC)
DOCUMENTS = {
    "douyin": lambda: shop_order("channels/douyin/order_detail.multi_line.json"),
    "taobao": lambda: taobao_trade("channels/taobao/trade_fullinfo.multi_line.json"),
    "jd": lambda: jd_order_info("channels/jd/order_info.multi_line.json"),
    "shopify": lambda: fixture_json("channels/shopify/orders_create.cn_discounted.json"),
}
CHANNELS = list(DOCUMENTS)


@pytest.fixture
def fake() -> FakeChannelApis:
    fake = FakeChannelApis(credentials=dict(CREDENTIALS))
    for channel, document in DOCUMENTS.items():
        fake.put_order(channel, document())
    return fake


def _api(fake: FakeChannelApis, channel: str) -> ChannelApi:
    base = {"taobao": "http://fake/taobao/router/rest", "jd": "http://fake/jd/routerjson"}.get(
        channel, f"http://fake/{channel}")
    return adapter_for(channel).api(ApiConfig(base_url=base, credentials=CREDENTIALS[channel],
                                              transport=fake.transport(), now=lambda: NOW))


def _port(fake: FakeChannelApis, *channels: str) -> ChannelApiWriteback:
    return ChannelApiWriteback(StaticChannelApis({c: _api(fake, c) for c in channels or CHANNELS}))


def _shipped(channel: str, *parcels: tuple[str, list[dict[str, Any]] | None], carrier: str = "SF") -> Order:
    """The channel's order, dispatched, after `shipped` callbacks: (tracking number, lines or None for the rest)."""
    order = adapter_for(channel).to_order(DOCUMENTS[channel]())
    order = order.model_copy(update={"status": OrderStatus.dispatched, "warehouse": "WH-GZ"})
    for tracking_no, lines in parcels:
        event = callback("shipped", f"e-{tracking_no}", order_id=order.order_id, tracking_no=tracking_no,
                         carrier=carrier, **({"lines": lines} if lines else {}))
        order = apply_event(order, event, NOW).order
    return order


@pytest.mark.parametrize(("channel", "method", "carrier_code"), [
    ("douyin", "order.logisticsAdd", "shunfeng"),
    ("taobao", "taobao.logistics.offline.send", "SF"),
    ("jd", "jingdong.pop.order.shipment", "467"),
    ("shopify", "POST /admin/api/2026-04/fulfillments.json", "SF Express"),
])
def test_a_whole_order_parcel_is_confirmed_once_with_the_channels_carrier_code(
    fake: FakeChannelApis, channel: str, method: str, carrier_code: str
) -> None:
    # Given an order shipped in one parcel with SF
    order = _shipped(channel, ("SF1001", None))
    # When it is written back, and written back again (a retry after a lost answer)
    _port(fake).confirm_shipment(order, "SF1001", "SF")
    _port(fake).confirm_shipment(order, "SF1001", "SF")
    # Then the channel holds exactly one shipment with the tracking number and its own carrier code
    [shipped] = fake.shipped_to(channel)
    assert (shipped.order_id, shipped.tracking_no, shipped.carrier) == (order.channel_order_id, "SF1001", carrier_code)
    # through the channel's ship-confirm call, signed as the channel checks
    assert method in [c.method for c in fake.calls_to(channel)]
    assert all(c.signature_ok for c in fake.calls_to(channel))


@pytest.mark.parametrize(("channel", "first", "rest"), [
    ("douyin", [("6920000000123456790", 2)], [("6920000000123456791", 1), ("6920000000123456792", 1)]),
    ("taobao", [("4105328891234567891", 2)], [("4105328891234567892", 1), ("4105328891234567893", 1)]),
    ("shopify", [("13370001", 2)], [("13370002", 1)]),
])
def test_parcels_of_one_order_are_confirmed_with_their_own_lines(
    fake: FakeChannelApis, channel: str, first: list[tuple[str, int]], rest: list[tuple[str, int]]
) -> None:
    # Given an order shipped in two parcels
    order = _shipped(channel, ("SFa", [{"line_id": line, "quantity": q} for line, q in first]), ("SFb", None))
    # When both are written back
    _port(fake).confirm_shipment(order, "SFa", "SF")
    _port(fake).confirm_shipment(order, "SFb", "SF")
    # Then the channel got each parcel with exactly its lines
    assert [(s.tracking_no, s.lines) for s in fake.shipped_to(channel)] == [("SFa", first), ("SFb", rest)]


def test_jd_confirms_the_order_with_its_first_parcel_and_takes_later_ones_as_acknowledged(
    fake: FakeChannelApis,
) -> None:
    # Given a JD order shipped in two parcels (JD ships a POP order once, with one waybill)
    order = _shipped("jd", ("SFa", [{"sku": "TEA-PUER-357", "quantity": 2}]), ("SFb", None))
    # When both are written back / Then JD got the first; the second is acknowledged because JD shows it shipped
    _port(fake).confirm_shipment(order, "SFa", "SF")
    _port(fake).confirm_shipment(order, "SFb", "SF")
    assert [s.tracking_no for s in fake.shipped_to("jd")] == ["SFa"]


@pytest.mark.parametrize("channel", CHANNELS)
def test_an_order_cancelled_on_the_channel_is_refused_for_good(fake: FakeChannelApis, channel: str) -> None:
    # Given the buyer cancelled on the channel before the parcel was confirmed
    order = _shipped(channel, ("SF1001", None))
    fake.cancel(channel, order.channel_order_id, NOW)
    # When / Then: a refusal no retry fixes, and nothing was shipped there
    with pytest.raises(WritebackRejected):
        _port(fake).confirm_shipment(order, "SF1001", "SF")
    assert fake.shipped_to(channel) == []


@pytest.mark.parametrize("channel", CHANNELS)
def test_a_channel_that_is_down_is_retried_later(fake: FakeChannelApis, channel: str) -> None:
    # Given the channel answers 503 / When / Then
    fake.fail_next(channel, 503)
    with pytest.raises(WritebackUnavailable):
        _port(fake).confirm_shipment(_shipped(channel, ("SF1001", None)), "SF1001", "SF")


def test_a_channel_without_api_configuration_is_retried_later(fake: FakeChannelApis) -> None:
    # Given no API configured for Douyin / When / Then: retried (the operator may configure it), not refused
    with pytest.raises(WritebackUnavailable):
        _port(fake, "shopify").confirm_shipment(_shipped("douyin", ("SF1001", None)), "SF1001", "SF")


def test_jd_refuses_a_carrier_it_has_no_id_for(fake: FakeChannelApis) -> None:
    # Given a carrier code JD has no logistics company id for / When / Then: refused before any call
    with pytest.raises(WritebackRejected, match="logiCoprId"):
        _port(fake).confirm_shipment(_shipped("jd", ("X1", None), carrier="NEWCO"), "X1", "NEWCO")
    assert fake.calls_to("jd") == []


def test_lines_ocp_added_are_not_the_channels_and_do_not_make_a_parcel_partial() -> None:
    # Given a Shopify order with a free gift line a gift rule added, shipped in one parcel
    order = _shipped("shopify")
    gift = OrderLine(line_id="gift:tea-sample", sku="GIFT-SAMPLE", quantity=1, unit_price=0, paid=0, gift=True)
    order = order.model_copy(update={"lines": (*order.lines, gift)})
    order = apply_event(order, callback("shipped", "all", order_id=order.order_id, tracking_no="SF9"), NOW).order
    # When the notice for the channel is built
    notice = shipment_notice(order, "SF9", "SF")
    # Then it names only the channel's lines and is the whole order
    assert [(i.line_id, i.quantity) for i in notice.items] == [("13370001", 2), ("13370002", 1)]
    assert notice.whole_order


@pytest.mark.parametrize("channel", CHANNELS)
def test_the_channel_view_says_cancelled_once_the_channel_cancelled(fake: FakeChannelApis, channel: str) -> None:
    # Given an order the channel shows as paid, then cancels
    channel_order_id = adapter_for(channel).order_ref(DOCUMENTS[channel]())
    orders = ChannelApiOrders(StaticChannelApis({c: _api(fake, c) for c in CHANNELS}))
    before = orders.view(channel, channel_order_id)
    fake.cancel(channel, channel_order_id, NOW)
    # When it is read again / Then the view maps it the way ingest does
    assert (before.status, orders.view(channel, channel_order_id).status) == (
        OrderStatus.received, OrderStatus.cancelled)
