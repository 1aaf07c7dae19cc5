"""The channels' adapters with their order mapping (the order processor, the write-back's order view, tools):
adding a channel is its wire module (`ocp.channels.wire.registry`) and its mapping module, plus one line here."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ocp.channels.douyin import DouyinAdapter
from ocp.channels.jd import JdAdapter
from ocp.channels.shopify import ShopifyAdapter
from ocp.channels.taobao import TaobaoAdapter
from ocp.channels.wire.registry import lookup
from ocp.domain.order.enums import Channel

if TYPE_CHECKING:
    from ocp.channels.base import ChannelAdapter

_ADAPTERS: dict[str, ChannelAdapter] = {
    Channel.shopify.value: ShopifyAdapter(),
    Channel.douyin.value: DouyinAdapter(),
    Channel.taobao.value: TaobaoAdapter(),
    Channel.jd.value: JdAdapter(),
}


def adapter_for(channel: str) -> ChannelAdapter:
    return lookup(_ADAPTERS, channel)
