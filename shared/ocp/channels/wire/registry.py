"""The channels OCP speaks, on the wire (intake, replay, the poller, the API clients): no order model is built.
Adding one is a new wire module plus one line here, and its adapter in `ocp.channels.registry`.

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

_WIRES: dict[str, tuple[str, str]] = {
    Channel.shopify.value: ("ocp.channels.wire.shopify", "ShopifyWire"),
    Channel.douyin.value: ("ocp.channels.wire.douyin", "DouyinWire"),
    Channel.taobao.value: ("ocp.channels.wire.taobao", "TaobaoWire"),
    Channel.jd.value: ("ocp.channels.wire.jd", "JdWire"),
}
"""Each channel's wire module and class."""


@cache
def wire_for(channel: str) -> ChannelWire:
    wire: ChannelWire = loaded(lookup(_WIRES, channel))()
    return wire


def loaded(where: tuple[str, str]) -> type:
    """The class named by (module, class name), its module imported on first use."""
    module, name = where
    found: type = getattr(import_module(module), name)
    return found


def lookup(adapters: Mapping[str, T], channel: str) -> T:
    """The channel's entry of a per-channel table; `UnknownChannel` (404) naming the known ones."""
    try:
        return adapters[channel]
    except KeyError:
        raise UnknownChannel(f"unknown channel {channel!r}", details={"known": sorted(adapters)}) from None


def known_channels() -> list[str]:
    return sorted(_WIRES)
