"""The channels' after-sale sides: one adapter per channel, beside the order adapter of `ocp.channels.registry`;
a channel's after-sale module (`ocp.channels.aftersales.<channel>`: its `signal` and `<Prefix>AfterSaleApi`) loads
with its first use."""

from __future__ import annotations

import sys
from functools import cache

from ocp.channels.aftersales.base import AfterSaleAdapter
from ocp.channels.wire.registry import channel_class


@cache
def aftersale_adapter_for(channel: str) -> AfterSaleAdapter:
    client = channel_class(channel, "ocp.channels.aftersales", "AfterSaleApi")
    return AfterSaleAdapter(channel, sys.modules[client.__module__].signal, client)
