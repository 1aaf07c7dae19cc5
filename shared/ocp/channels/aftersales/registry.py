"""The channels' after-sale sides: one adapter per channel, beside the order adapter of `ocp.channels.registry`."""

from __future__ import annotations

from ocp.channels.aftersales import douyin, jd, shopify, taobao
from ocp.channels.aftersales.base import AfterSaleAdapter
from ocp.channels.wire.registry import lookup
from ocp.domain.order.enums import Channel

_ADAPTERS: dict[str, AfterSaleAdapter] = {
    Channel.shopify.value: AfterSaleAdapter(Channel.shopify.value, shopify.signal, shopify.ShopifyAfterSaleApi),
    Channel.douyin.value: AfterSaleAdapter(Channel.douyin.value, douyin.signal, douyin.DouyinAfterSaleApi),
    Channel.taobao.value: AfterSaleAdapter(Channel.taobao.value, taobao.signal, taobao.TaobaoAfterSaleApi),
    Channel.jd.value: AfterSaleAdapter(Channel.jd.value, jd.signal, jd.JdAfterSaleApi),
}


def aftersale_adapter_for(channel: str) -> AfterSaleAdapter:
    return lookup(_ADAPTERS, channel)
