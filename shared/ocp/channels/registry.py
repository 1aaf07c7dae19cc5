"""The channels OCP speaks: adding one is a new adapter module plus one line here."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, TypeVar

from ocp.channels.douyin import DouyinAdapter
from ocp.channels.jd import JdAdapter
from ocp.channels.shopify import ShopifyAdapter
from ocp.channels.taobao import TaobaoAdapter
from ocp.domain.errors import UnknownChannel
from ocp.domain.order.enums import Channel

if TYPE_CHECKING:
    from ocp.channels.base import ChannelAdapter

T = TypeVar("T")

_ADAPTERS: dict[str, ChannelAdapter] = {
    Channel.shopify.value: ShopifyAdapter(),
    Channel.douyin.value: DouyinAdapter(),
    Channel.taobao.value: TaobaoAdapter(),
    Channel.jd.value: JdAdapter(),
}


def adapter_for(channel: str) -> ChannelAdapter:
    return lookup(_ADAPTERS, channel)


def lookup(adapters: Mapping[str, T], channel: str) -> T:
    """The channel's entry of a per-channel table; `UnknownChannel` (404) naming the known ones."""
    try:
        return adapters[channel]
    except KeyError:
        raise UnknownChannel(f"unknown channel {channel!r}", details={"known": sorted(adapters)}) from None


def known_channels() -> list[str]:
    return sorted(_ADAPTERS)
