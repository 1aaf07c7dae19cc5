"""The channels' after-sale sides: one adapter per channel, beside the order adapter of `ocp.channels.registry`;
a channel's after-sale module loads with its first use."""

from __future__ import annotations

from functools import cache
from importlib import import_module

from ocp.channels.aftersales.base import AfterSaleAdapter
from ocp.channels.wire.registry import lookup
from ocp.domain.order.enums import Channel

_MODULES: dict[str, tuple[str, str]] = {
    Channel.shopify.value: ("ocp.channels.aftersales.shopify", "ShopifyAfterSaleApi"),
    Channel.douyin.value: ("ocp.channels.aftersales.douyin", "DouyinAfterSaleApi"),
    Channel.taobao.value: ("ocp.channels.aftersales.taobao", "TaobaoAfterSaleApi"),
    Channel.jd.value: ("ocp.channels.aftersales.jd", "JdAfterSaleApi"),
}
"""Each channel's after-sale module (its `signal` and its API client class)."""


@cache
def aftersale_adapter_for(channel: str) -> AfterSaleAdapter:
    module_name, client = lookup(_MODULES, channel)
    module = import_module(module_name)
    return AfterSaleAdapter(channel, module.signal, getattr(module, client))
