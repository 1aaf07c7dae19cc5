"""The channel registries: every channel OCP speaks resolves to its wire, order and after-sale sides, each loaded
with the channel's first use and kept for the process; an unknown channel is a 404 naming the known ones."""

from __future__ import annotations

import subprocess
import sys

import pytest

from ocp.channels.aftersales.registry import aftersale_adapter_for
from ocp.channels.registry import adapter_for
from ocp.channels.wire.registry import known_channels, wire_for
from ocp.domain.errors import UnknownChannel
from ocp.domain.order.enums import Channel


def test_every_channel_has_a_wire_an_order_adapter_and_an_after_sale_side() -> None:
    assert known_channels() == sorted(c.value for c in Channel)
    for channel in known_channels():
        assert wire_for(channel).channel == channel
        assert adapter_for(channel).channel == channel
        assert aftersale_adapter_for(channel).channel == channel
        assert hasattr(adapter_for(channel), "to_order")
        assert callable(aftersale_adapter_for(channel).client)


def test_each_side_is_built_once_per_process() -> None:
    assert wire_for("jd") is wire_for("jd")
    assert adapter_for("taobao") is adapter_for("taobao")
    assert aftersale_adapter_for("douyin") is aftersale_adapter_for("douyin")


@pytest.mark.parametrize("resolve", [wire_for, adapter_for, aftersale_adapter_for])
def test_an_unknown_channel_names_the_known_ones(resolve: object) -> None:
    with pytest.raises(UnknownChannel) as raised:
        resolve("amazon")  # type: ignore[operator]
    assert raised.value.details == {"known": known_channels()}


def test_a_channel_loads_its_modules_with_its_first_use_only() -> None:
    probe = ("import sys\nfrom ocp.channels.registry import adapter_for\nadapter_for('jd')\n"
             "print(sorted(m for m in sys.modules if m.startswith('ocp.channels.')))")
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert "ocp.channels.jd'" in loaded and "ocp.channels.wire.jd'" in loaded
    for other in ("shopify", "douyin", "taobao"):
        assert f"ocp.channels.{other}'" not in loaded and f"ocp.channels.wire.{other}'" not in loaded
