"""`ocp drill` against `ocp local`, small and bounded: signed webhooks from all four channels (Douyin's thin pushes
pulled from a fake doudian), duplicates and late views mixed in; the report adds up and the chart is a PNG."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.cli import _parser
from infra.drill import command
from infra.local import LocalPlatform, config
from ocp.channels.base import ChannelCredentials
from tests.fakes.channel_apis import FakeChannelApis

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def doudian() -> Iterator[tuple[FakeChannelApis, str]]:
    env = config.credentials_env()
    fake = FakeChannelApis(credentials={
        ch: ChannelCredentials(secret=env[config.secret_var(ch)], app_key=env[config.app_key_var(ch)])
        for ch in config.CHANNELS})
    with fake.serve() as root:
        yield fake, root


@pytest.fixture(scope="module")
def platform(doudian: tuple[FakeChannelApis, str]) -> Iterator[LocalPlatform]:
    with pytest.MonkeyPatch.context() as env:
        env.setenv("OCP_CHANNEL_API_URL_DOUYIN", f"{doudian[1]}/douyin")
        with LocalPlatform(port=0, visibility_timeout_s=2) as running:
            yield running


def test_a_small_drill_against_the_local_runtime_reports_consistent_figures(
    platform: LocalPlatform, doudian: tuple[FakeChannelApis, str], tmp_path: Path,
) -> None:
    # Given a 10-second drill at 3 orders/s, 2 hot SKUs of 6 units each (demand exceeds stock: some are held)
    args = _parser().parse_args([
        "drill", "--url", platform.base_url, "--api-key", platform.api_key, "--duration", "10", "--peak", "3",
        "--skus", "2", "--stock", "6", "--duplicates", "0.3", "--out-of-order", "0.2", "--settle", "40",
        "--max-orders", "30", "--out", str(tmp_path)])
    fake, _ = doudian
    # When it runs (Douyin's full documents handed to the fake doudian the stack pulls from)
    code = command.run(args, douyin_source=lambda document: fake.put_order("douyin", document))
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    # Then it exits 0 and its figures add up
    assert code == 0, report
    assert 0 < report["accepted"] <= report["sent"]
    assert report["sent"] > report["orders"] > 0  # duplicates and late views went out besides the orders
    assert set(report["deliveries_by_kind"]) == {"first", "duplicate", "late_view"}
    assert set(report["orders_by_channel"]) == {"shopify", "taobao", "jd", "douyin"}
    assert report["oversold"] == 0 and report["oversold_by_stock"] == {}
    # (read from the orders' own reservations: every reserved order commits its one unit, within the 12 pushed)
    assert report["committed"] == report["reserved"] <= sum(report["stock_pushed"].values()) == 12
    assert report["decided"] == report["orders"], report["undecided_by_status"]
    assert report["reserved"] + report["held"] <= report["orders"]
    # and no late view moved an order back: every order is still reserved (or further along) or held
    assert report["reserved"] + report["held"] == report["orders"], report["orders_by_status"]
    assert report["reserved"] <= 2 * 6 and report["held"] >= report["orders"] - 12
    assert set(report["held_by_reason"]) <= {"insufficient_stock"}
    assert report["webhook_latency_ms"]["p50"] <= report["webhook_latency_ms"]["p99"]
    assert report["webhook_to_decision_ms"]["p50"] is not None
    assert report["received_to_decision_s"]["orders"] == report["decided"]  # every timeline says when it was decided
    assert sum(row["sent"] for row in report["series"]) == report["sent"]
    assert [r["approach"] for r in report["sync_versus_real_time"]] == ["15-minute sync",
                                                                         "OCP (reservation at order time)"]
    # And the chart is a PNG
    assert (tmp_path / "drill.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
