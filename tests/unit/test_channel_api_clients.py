"""The four channel API clients against the fake channel APIs (in-process, so no socket is opened).

The fake checks every request's signature with its own code (tests/fakes), so a passing call proves the
client signs exactly as the channel expects; a wrong secret proves the fake really checks.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ocp.channels.base import ApiConfig, ChannelApi, ChannelCredentials
from ocp.channels.registry import adapter_for
from ocp.domain.errors import ChannelApiRejected, ChannelApiUnavailable, ChannelNotConfigured
from tests.channel_support import CREDENTIALS, GMT8, jd_order_info, shop_order, taobao_trade
from tests.fakes.channel_apis import FakeChannelApis
from tests.support import fixture_json

NOW = datetime(2026, 11, 11, 4, 10, tzinfo=UTC)


@pytest.fixture
def fake() -> FakeChannelApis:
    fake = FakeChannelApis(credentials=dict(CREDENTIALS))
    fake.put_order("douyin", shop_order("channels/douyin/order_detail.multi_line.json"))
    fake.put_order("taobao", taobao_trade("channels/taobao/trade_fullinfo.multi_line.json"))
    fake.put_order("jd", jd_order_info("channels/jd/order_info.multi_line.json"))
    fake.put_order("shopify", fixture_json("channels/shopify/orders_create.cn_discounted.json"))
    return fake


def _api(fake: FakeChannelApis, channel: str, credentials: ChannelCredentials | None = None) -> ChannelApi:
    base = {"taobao": "http://fake/taobao/router/rest", "jd": "http://fake/jd/routerjson"}.get(
        channel, f"http://fake/{channel}")
    config = ApiConfig(base_url=base, credentials=credentials or CREDENTIALS[channel], transport=fake.transport(),
                       now=lambda: NOW)
    return adapter_for(channel).api(config)


@pytest.mark.parametrize(("channel", "order_id"), [
    ("douyin", "6920000000123456789"),
    ("taobao", "4105328891234567890"),
    ("jd", "300123456789"),
    ("shopify", "5840912375611902001"),
])
def test_fetch_order_returns_a_document_the_adapter_maps(fake: FakeChannelApis, channel: str, order_id: str) -> None:
    # Given the order is on the channel
    # When the client fetches it
    document = _api(fake, channel).fetch_order(order_id)
    # Then the request was signed as the channel checks, and the document maps to that order
    assert all(call.signature_ok for call in fake.calls_to(channel))
    assert adapter_for(channel).to_order(document).channel_order_id == order_id


@pytest.mark.parametrize("channel", ["douyin", "taobao", "jd", "shopify"])
def test_a_wrong_secret_is_refused_by_the_channel(fake: FakeChannelApis, channel: str) -> None:
    # Given credentials with the wrong secret (or token, for Shopify)
    wrong = CREDENTIALS[channel].model_copy(update={"secret": "wrong", "access_token": "wrong"})
    # When a pull is tried / Then it fails with the channel's refusal, and the fake saw a bad signature
    with pytest.raises((ChannelApiRejected, ChannelApiUnavailable)):
        _api(fake, channel, wrong).fetch_order("1")
    assert [call.signature_ok for call in fake.calls_to(channel)] == [False]


@pytest.mark.parametrize("channel", ["douyin", "taobao", "shopify"])
def test_an_unknown_order_is_rejected_for_good(fake: FakeChannelApis, channel: str) -> None:
    with pytest.raises(ChannelApiRejected):
        _api(fake, channel).fetch_order("1")


@pytest.mark.parametrize("status", [500, 502, 503, 429])
def test_server_errors_and_throttling_may_pass_on_retry(fake: FakeChannelApis, status: int) -> None:
    fake.fail_next("douyin", status)
    with pytest.raises(ChannelApiUnavailable):
        _api(fake, "douyin").fetch_order("6920000000123456789")


def test_douyin_sends_param_json_as_the_body_and_the_token(fake: FakeChannelApis) -> None:
    _api(fake, "douyin").fetch_order("6920000000123456789")
    [call] = fake.calls_to("douyin")
    assert call.method == "order.orderDetail" and call.params == {"shop_order_id": "6920000000123456789"}


def test_clients_refuse_to_start_without_what_they_sign_with(fake: FakeChannelApis) -> None:
    with pytest.raises(ChannelNotConfigured):
        _api(fake, "taobao", ChannelCredentials(secret="tb-secret"))
    with pytest.raises(ChannelNotConfigured):
        _api(fake, "shopify", ChannelCredentials(secret="shop-secret"))


# ---- modified orders, page by page -----------------------------------------------------------------------


def _many(fake: FakeChannelApis, channel: str, base: dict[str, Any], count: int, start: datetime) -> None:
    """`count` copies of an order, one a minute from `start`, under consecutive ids."""
    for i in range(count):
        moment = start + timedelta(minutes=i)
        china = moment.astimezone(GMT8).strftime("%Y-%m-%d %H:%M:%S")
        document = copy.deepcopy(base)
        if channel == "douyin":
            document.update(order_id=str(6920000000000000000 + i), update_time=int(moment.timestamp()))
        elif channel == "taobao":
            document.update(tid_str=str(4105328800000000000 + i), tid=4105328800000000000 + i, modified=china)
        elif channel == "jd":
            document.update(orderId=str(300000000000 + i), modified=china)
        else:
            document.update(id=1000 + i, admin_graphql_api_id=f"gid://shopify/Order/{1000 + i}",
                            updated_at=moment.isoformat())
        fake.put_order(channel, document)


@pytest.mark.parametrize("channel", ["douyin", "taobao", "jd", "shopify"])
def test_modified_orders_pages_through_a_window(
    fake: FakeChannelApis, channel: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given 7 orders modified a minute apart, and pages of 3
    for module, name in (("douyin", "PAGE_SIZE"), ("taobao", "INCREMENT_PAGE_SIZE"), ("jd", "SEARCH_PAGE_SIZE"),
                         ("shopify", "PAGE_LIMIT")):
        monkeypatch.setattr(f"ocp.channels.wire.{module}.{name}", 3)
    fake.orders.clear()
    base = {"douyin": shop_order("channels/douyin/order_detail.multi_line.json"),
            "taobao": taobao_trade("channels/taobao/trade_fullinfo.multi_line.json"),
            "jd": jd_order_info("channels/jd/order_info.multi_line.json"),
            "shopify": fixture_json("channels/shopify/orders_create.cn_discounted.json")}[channel]
    start = datetime(2026, 11, 11, 1, 0, tzinfo=UTC)
    _many(fake, channel, base, 7, start)
    api, adapter = _api(fake, channel), adapter_for(channel)
    # When the window covering minutes 1..5 is read page by page
    ids, page, pages = [], None, 0
    while True:
        found = api.modified_orders(start + timedelta(minutes=1), start + timedelta(minutes=5), page)
        ids += [adapter.order_ref(d) for d in found.documents]
        pages += 1
        page = found.next_page
        if not page:
            break
    # Then exactly the 5 orders inside it came back, in two pages, every call correctly signed
    assert len(ids) == 5 and len(set(ids)) == 5
    assert pages == 2
    assert all(call.signature_ok for call in fake.calls_to(channel))
