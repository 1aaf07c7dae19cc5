"""The channels OCP speaks, on the wire (intake, replay, the poller, the API clients): no order model is built.
Adding one is its line in `_PREFIXES` and its modules, named as that table says (wire, order mapping, after-sale).

A channel's modules load with its first use: a function serving only some channels never loads the others'."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from importlib import import_module
from typing import TYPE_CHECKING, TypeVar

from ocp.domain.errors import UnknownChannel
from ocp.domain.order.enums import Channel

if TYPE_CHECKING:
    from ocp.channels.base import ChannelWire

T = TypeVar("T")

_PREFIXES: dict[str, str] = {
    Channel.shopify.value: "Shopify",
    Channel.douyin.value: "Douyin",
    Channel.taobao.value: "Taobao",
    Channel.jd.value: "Jd",
}
"""Each channel's class-name prefix. Its wire is `ocp.channels.wire.<channel>.<Prefix>Wire`, its order mapping
`ocp.channels.<channel>.<Prefix>Adapter` and its after-sale side `ocp.channels.aftersales.<channel>` (`signal`,
`<Prefix>AfterSaleApi`)."""


@cache
def wire_for(channel: str) -> ChannelWire:
    wire: ChannelWire = channel_class(channel, "ocp.channels.wire", "Wire")()
    return wire


def channel_class(channel: str, package: str, suffix: str) -> type:
    """`<package>.<channel>.<Prefix><suffix>`, its module imported on first use; `UnknownChannel` (404) for a
    channel OCP does not speak."""
    prefix = lookup(_PREFIXES, channel)
    found: type = getattr(import_module(f"{package}.{channel}"), prefix + suffix)
    return found


def lookup(adapters: Mapping[str, T], channel: str) -> T:
    """The channel's entry of a per-channel table; `UnknownChannel` (404) naming the known ones."""
    try:
        return adapters[channel]
    except KeyError:
        raise UnknownChannel(f"unknown channel {channel!r}", details={"known": sorted(adapters)}) from None


def known_channels() -> list[str]:
    return sorted(_PREFIXES)
