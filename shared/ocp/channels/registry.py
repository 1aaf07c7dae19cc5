"""The channels' adapters with their order mapping (the order processor, the write-back's order view, tools):
adding a channel is its wire module (`ocp.channels.wire.registry`) and its mapping module,
`ocp.channels.<channel>.<Prefix>Adapter`; like the wire side, a channel's mapping loads with its first document."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from ocp.channels.wire.registry import channel_class

if TYPE_CHECKING:
    from ocp.channels.base import ChannelAdapter


@cache
def adapter_for(channel: str) -> ChannelAdapter:
    adapter: ChannelAdapter = channel_class(channel, "ocp.channels", "Adapter")()
    return adapter
