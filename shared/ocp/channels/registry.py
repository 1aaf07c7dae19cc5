"""The channels OCP speaks: adding one is a new adapter module plus one line here."""

from __future__ import annotations

from ocp.channels.base import ChannelAdapter
from ocp.channels.douyin import DouyinAdapter
from ocp.channels.jd import JdAdapter
from ocp.channels.shopify import ShopifyAdapter
from ocp.channels.taobao import TaobaoAdapter
from ocp.domain.errors import UnknownChannel
from ocp.domain.order.model import Channel

_ADAPTERS: dict[str, ChannelAdapter] = {
    Channel.shopify.value: ShopifyAdapter(),
    Channel.douyin.value: DouyinAdapter(),
    Channel.taobao.value: TaobaoAdapter(),
    Channel.jd.value: JdAdapter(),
}


def adapter_for(channel: str) -> ChannelAdapter:
    try:
        return _ADAPTERS[channel]
    except KeyError:
        raise UnknownChannel(
            f"unknown channel {channel!r}", details={"known": sorted(_ADAPTERS)}
        ) from None


def known_channels() -> list[str]:
    return sorted(_ADAPTERS)
