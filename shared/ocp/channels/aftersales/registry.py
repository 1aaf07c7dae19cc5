"""The channels' after-sale sides: one adapter per channel, beside the order adapter of `ocp.channels.registry`."""

from __future__ import annotations

from ocp.channels.aftersales.base import AfterSaleAdapter
from ocp.channels.aftersales.douyin import DouyinAfterSaleAdapter
from ocp.channels.aftersales.jd import JdAfterSaleAdapter
from ocp.channels.aftersales.shopify import ShopifyAfterSaleAdapter
from ocp.channels.aftersales.taobao import TaobaoAfterSaleAdapter
from ocp.domain.errors import UnknownChannel
from ocp.domain.order.model import Channel

_ADAPTERS: dict[str, AfterSaleAdapter] = {
    Channel.shopify.value: ShopifyAfterSaleAdapter(),
    Channel.douyin.value: DouyinAfterSaleAdapter(),
    Channel.taobao.value: TaobaoAfterSaleAdapter(),
    Channel.jd.value: JdAfterSaleAdapter(),
}


def aftersale_adapter_for(channel: str) -> AfterSaleAdapter:
    try:
        return _ADAPTERS[channel]
    except KeyError:
        raise UnknownChannel(
            f"unknown channel {channel!r}", details={"known": sorted(_ADAPTERS)}
        ) from None
