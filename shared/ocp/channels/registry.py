"""The channels' adapters with their order mapping (the order processor, the write-back's order view, tools):
adding a channel is its wire module (`ocp.channels.wire.registry`) and its mapping module, plus one line here.
Like the wire side, a channel's mapping loads with its first document."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from ocp.channels.wire.registry import loaded, lookup
from ocp.domain.order.enums import Channel

if TYPE_CHECKING:
    from ocp.channels.base import ChannelAdapter

_ADAPTERS: dict[str, tuple[str, str]] = {
    Channel.shopify.value: ("ocp.channels.shopify", "ShopifyAdapter"),
    Channel.douyin.value: ("ocp.channels.douyin", "DouyinAdapter"),
    Channel.taobao.value: ("ocp.channels.taobao", "TaobaoAdapter"),
    Channel.jd.value: ("ocp.channels.jd", "JdAdapter"),
}
"""Each channel's mapping module and adapter class."""


@cache
def adapter_for(channel: str) -> ChannelAdapter:
    adapter: ChannelAdapter = loaded(lookup(_ADAPTERS, channel))()
    return adapter
