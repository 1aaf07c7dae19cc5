"""Channels through the local runtime over HTTP: thin pushes and relays end as complete orders pulled from the
channel APIs (the fakes in tests/fakes, served on 127.0.0.1 and checking every signature), and the
scheduled poller brings in JD's orders."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from infra.local import LocalPlatform, config
from ocp.channels.base import ChannelCredentials
from tests.channel_support import douyin_headers, douyin_push, jd_order_info, shop_order, spi_query, taobao_trade
from tests.fakes.channel_apis import FakeChannelApis
from tests.support import fixture_bytes

pytestmark = pytest.mark.e2e

DOUYIN_ORDER = "6920000000123456789"
TAOBAO_ORDER = "4105328891234567890"


def _credentials() -> dict[str, ChannelCredentials]:
    """The credentials the local runtime will use (its demo defaults unless the environment sets them)."""
    env = config.credentials_env()
    return {ch: ChannelCredentials(secret=env[config.secret_var(ch)], app_key=env[config.app_key_var(ch)])
            for ch in config.CHANNELS}


@pytest.fixture(scope="module")
def fake() -> Iterator[tuple[FakeChannelApis, str]]:
    fake = FakeChannelApis(credentials=_credentials())
    with fake.serve() as root:
        yield fake, root


@pytest.fixture(scope="module")
def platform(fake: tuple[FakeChannelApis, str]) -> Iterator[LocalPlatform]:
    _, root = fake
    urls = {"douyin": f"{root}/douyin", "taobao": f"{root}/taobao/router/rest", "jd": f"{root}/jd/routerjson"}
    with pytest.MonkeyPatch.context() as env:
        for channel, url in urls.items():
            env.setenv(f"OCP_CHANNEL_API_URL_{channel.upper()}", url)
        with LocalPlatform(port=0, visibility_timeout_s=1) as running:
            yield running


@pytest.fixture
def channels(fake: tuple[FakeChannelApis, str]) -> FakeChannelApis:
    app, _ = fake
    app.calls.clear()
    return app


def _post(platform: LocalPlatform, channel: str, body: bytes, headers: dict[str, str] | None = None,
          params: dict[str, str] | None = None) -> Any:
    return requests.post(f"{platform.base_url}/webhooks/{channel}", data=body, params=params,
                         headers=headers or {"content-type": "application/json"}, timeout=15)


def _order(platform: LocalPlatform, channel: str, channel_order_id: str) -> dict[str, Any]:
    response = requests.get(f"{platform.base_url}/orders", params={"channel": channel,
                            "channel_order_id": channel_order_id}, headers={"x-api-key": platform.api_key}, timeout=15)
    assert response.status_code == 200, response.text
    [order] = response.json()["orders"]
    found: dict[str, Any] = order
    return found


def test_thin_douyin_push_ends_as_a_complete_order(platform: LocalPlatform, channels: FakeChannelApis) -> None:
    # Given the order exists on the (fake) doudian API, and doudian pushes a thin TradePaid for it
    channels.put_order("douyin", shop_order("channels/douyin/order_detail.multi_line.json"))
    body = douyin_push({"tag": "101", "msg_id": "e2e-101", "data": {"p_id": int(DOUYIN_ORDER), "pay_amount": 39300}})
    # When it is posted and the platform settles
    response = _post(platform, "douyin", body, douyin_headers(body, _credentials()["douyin"]))
    platform.wait_idle(timeout=20)
    # Then doudian got its ack, the processor pulled order.orderDetail (signed), and the order is complete
    assert response.status_code == 200 and response.json() == {"code": 0, "msg": "success"}
    assert [(c.method, c.signature_ok) for c in channels.calls_to("douyin")] == [("order.orderDetail", True)]
    order = _order(platform, "douyin", DOUYIN_ORDER)
    assert order["paid_at"] == "2026-11-10T16:00:09Z"  # what happens next (stock, routing) is not this test's
    assert order["amounts"] == {"items": 41700, "discount": 3000, "shipping": 600, "paid": 39300, "tax": 0}
    assert [(line["sku"], line["paid"], line["gift"]) for line in order["lines"]] == [
        ("TEA-OOLONG-GIFTBOX", 29512, False), ("CUP-GLASS", 9188, False), ("GIFT-OOLONG-8G", 0, True)]
    assert [(e["hop"], e["event"]) for e in order["timeline"]][:2] == [("ingest", "received"),
                                                                        ("processing", "normalised")]


def test_douyin_url_check_over_http(platform: LocalPlatform) -> None:
    body = douyin_push({"tag": "0", "msg_id": "verify", "data": {}})
    response = _post(platform, "douyin", body, douyin_headers(body, _credentials()["douyin"]))
    assert response.status_code == 200 and response.json() == {"code": 0, "msg": "success"}


def test_taobao_tmc_relay_ends_as_a_complete_order(platform: LocalPlatform, channels: FakeChannelApis) -> None:
    # Given the trade on the (fake) TOP API, and a relay of its TMC TradeBuyerPay message, SPI-signed
    channels.put_order("taobao", taobao_trade("channels/taobao/trade_fullinfo.multi_line.json"))
    body = fixture_bytes("channels/taobao/tmc.trade_buyer_pay.json")
    query = spi_query("taobao", body, at=datetime.now(UTC), credentials=_credentials()["taobao"])
    # When relayed and settled
    response = _post(platform, "taobao", body, params=query)
    platform.wait_idle(timeout=20)
    # Then: acknowledged the SPI way, fullinfo pulled with a valid signature, the full trade stored
    assert response.status_code == 200, response.text
    assert response.json()["response"]["flag"] == "success"
    assert [(c.method, c.signature_ok) for c in channels.calls_to("taobao")] == [("taobao.trade.fullinfo.get", True)]
    order = _order(platform, "taobao", TAOBAO_ORDER)
    assert order["amounts"]["paid"] == 59800
    assert [line["paid"] for line in order["lines"]] == [34838, 23962, 0]
    assert order["address"]["pii_token"] and order["buyer_note"] == "请用顺丰，周末送货"


def test_taobao_relay_signed_with_another_secret_is_401(platform: LocalPlatform) -> None:
    body = fixture_bytes("channels/taobao/tmc.trade_buyer_pay.json")
    wrong = ChannelCredentials(secret="not-ours", app_key=_credentials()["taobao"].app_key)
    response = _post(platform, "taobao", body, params=spi_query("taobao", body, at=datetime.now(UTC),
                                                                credentials=wrong))
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "signature_invalid"


def test_scheduled_poller_brings_in_jd_orders(platform: LocalPlatform, channels: FakeChannelApis) -> None:
    # Given JD holds an order modified a minute ago (JD pushes nothing: polling is its main path)
    info = jd_order_info("channels/jd/order_info.multi_line.json")
    info["modified"] = (datetime.now(UTC) + timedelta(hours=8, minutes=-1)).strftime("%Y-%m-%d %H:%M:%S")
    channels.put_order("jd", info)
    # When the poller's schedule ticks and the platform settles
    result = platform.run_schedule("channel-poll")
    platform.wait_idle(timeout=20)
    # Then JD was searched with valid signatures and the order is stored
    jd = next(r for r in result["results"] if r["channel"] == "jd")
    assert jd["enqueued"] >= 1, json.dumps(result)
    assert all(c.signature_ok for c in channels.calls_to("jd"))
    order = _order(platform, "jd", "300123456789")
    assert order["amounts"]["paid"] == 40700 and order["seller_note"] == "VIP客户，优先发货"
