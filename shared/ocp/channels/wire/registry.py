"""The channels OCP speaks, on the wire (intake, replay, the poller, the API clients): no order model is built.
Adding one is a new wire module plus one line here, and its adapter in `ocp.channels.registry`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, TypeVar

from ocp.channels.wire.douyin import DouyinWire
from ocp.channels.wire.jd import JdWire
from ocp.channels.wire.shopify import ShopifyWire
from ocp.channels.wire.taobao import TaobaoWire
from ocp.domain.errors import UnknownChannel
from ocp.domain.order.enums import Channel

if TYPE_CHECKING:
    from ocp.channels.base import ChannelWire

T = TypeVar("T")

_WIRES: dict[str, ChannelWire] = {
    Channel.shopify.value: ShopifyWire(),
    Channel.douyin.value: DouyinWire(),
    Channel.taobao.value: TaobaoWire(),
    Channel.jd.value: JdWire(),
}


def wire_for(channel: str) -> ChannelWire:
    return lookup(_WIRES, channel)


def lookup(adapters: Mapping[str, T], channel: str) -> T:
    """The channel's entry of a per-channel table; `UnknownChannel` (404) naming the known ones."""
    try:
        return adapters[channel]
    except KeyError:
        raise UnknownChannel(f"unknown channel {channel!r}", details={"known": sorted(adapters)}) from None


def known_channels() -> list[str]:
    return sorted(_WIRES)
