"""`ocp normalize --channel C FILE`: the unified order as JSON, or exit 1 with the reasons and no traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from infra.cli import main
from tests.support import FIXTURES


@pytest.mark.parametrize(("channel", "relative", "order_id", "paid"), [
    ("taobao", "channels/taobao/trade_fullinfo.multi_line.json", "taobao-4105328891234567890", 59800),
    ("taobao", "channels/taobao/trade_fullinfo.cross_border.json", "taobao-4105328877000000002", 11810),
    ("jd", "channels/jd/order_info.multi_line.json", "jd-300123456789", 40700),
    ("jd", "channels/jd/order_info.real_shape.json", "jd-39117091780", 100),
    ("douyin", "channels/douyin/order_detail.multi_line.json", "douyin-6920000000123456789", 39300),
    ("douyin", "channels/douyin/order_detail.presale_cross_border.json", "douyin-6920000000987654321", 60810),
    ("shopify", "channels/shopify/orders_create.cn_discounted.json", "shopify-5840912375611902001", 60800),
])
def test_prints_the_unified_order(
    channel: str, relative: str, order_id: str, paid: int, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a channel document on disk / When normalised
    code = main(["normalize", "--channel", channel, str(FIXTURES / relative)])
    # Then the unified order is printed as JSON (API.md's key fields, integer fen, UTC times)
    out = capsys.readouterr().out
    assert code == 0
    order = json.loads(out)
    assert order["order_id"] == order_id and order["channel"] == channel
    assert order["amounts"]["paid"] == paid
    assert sum(line["paid"] for line in order["lines"]) + order["amounts"]["shipping"] == paid
    assert order["created_at"].endswith("Z")


@pytest.mark.parametrize(("channel", "content", "expected"), [
    ("jd", '{"orderId": "1"}', "missing field 'orderStartTime'"),
    ("taobao", (FIXTURES / "channels/taobao/tmc.trade_buyer_pay.json").read_text(), "thin TMC message"),
    ("douyin", '{"tag": "101", "data": {"p_id": 1}}', "thin push message"),
    ("douyin", "[1, 2]", "not an object"),
    ("taobao", "not json", "cannot read"),
    ("wechat", "{}", "unknown channel"),
])
def test_cannot_map_exits_1_with_reasons_and_no_traceback(
    channel: str, content: str, expected: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a document that cannot become an order
    path = tmp_path / "doc.json"
    path.write_text(content, encoding="utf-8")
    # When normalised
    code = main(["normalize", "--channel", channel, str(path)])
    # Then exit 1, the reasons on stderr, nothing on stdout, no traceback
    captured = capsys.readouterr()
    assert code == 1
    assert expected in captured.err
    assert captured.out == "" and "Traceback" not in captured.err
