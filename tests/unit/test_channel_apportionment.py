"""Property: whatever lines, discounts and shipping a channel sends, lines' paid + shipping == paid, exactly.

Each test generates an order (lines with quantities and prices, an order-level discount, shipping) and
builds the channel's own document for it, sometimes with the channel's per-line figures (exact, or off by
a few fen as rounding on the channel's side leaves them), then maps it through the production adapter.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from ocp.channels.common import split_paid
from ocp.channels.douyin import DouyinAdapter
from ocp.channels.jd import JdAdapter
from ocp.channels.shopify import ShopifyAdapter
from ocp.channels.taobao import TaobaoAdapter
from ocp.domain.order.model import Order
from ocp.domain.order.money import apportion

PROFILE = settings(max_examples=150, deadline=None)


@dataclass(frozen=True)
class Case:
    quantities: list[int]
    prices: list[int]
    discount: int
    shipping: int
    noise: list[int]
    channel_figures: bool

    @property
    def values(self) -> list[int]:
        return [q * p for q, p in zip(self.quantities, self.prices, strict=True)]

    @property
    def goods_paid(self) -> int:
        return sum(self.values) - self.discount

    @property
    def paid(self) -> int:
        return self.goods_paid + self.shipping

    def figures(self) -> list[int]:
        """The channel's own split: the exact one, plus rounding noise that may not sum to the total."""
        return [f + n for f, n in zip(apportion(self.goods_paid, self.values), self.noise, strict=True)]


@st.composite
def cases(draw: st.DrawFn) -> Case:
    size = draw(st.integers(min_value=1, max_value=6))
    quantities = draw(st.lists(st.integers(1, 5), min_size=size, max_size=size))
    prices = draw(st.lists(st.one_of(st.just(0), st.integers(1, 200_000)), min_size=size, max_size=size))
    total = sum(q * p for q, p in zip(quantities, prices, strict=True))
    return Case(
        quantities=quantities,
        prices=prices,
        discount=draw(st.integers(0, total)),
        shipping=draw(st.integers(0, 3_000)),
        noise=draw(st.lists(st.integers(-2, 2), min_size=size, max_size=size)),
        channel_figures=draw(st.booleans()),
    )


def _yuan(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100}.{abs(fen) % 100:02d}"


def _reconciles(order: Order, case: Case) -> None:
    assert order.amounts.paid == case.paid
    assert order.amounts.shipping == case.shipping
    assert sum(line.paid for line in order.lines) + order.amounts.shipping == order.amounts.paid
    assert order.amounts.items == sum(case.values)
    assert sum(line.discount for line in order.lines) == order.amounts.discount


@PROFILE
@given(cases())
def test_taobao_lines_always_reconcile(case: Case) -> None:
    # Given a trade built from the case, with or without divide_order_fee
    figures = case.figures()
    lines = [
        {"oid": 4105328891234567000 + i, "num": q, "price": _yuan(p), "outer_sku_id": f"SKU-{i}",
         **({"divide_order_fee": _yuan(figures[i])} if case.channel_figures else {})}
        for i, (q, p) in enumerate(zip(case.quantities, case.prices, strict=True))
    ]
    trade = {"tid_str": "4105328891234567000", "status": "WAIT_SELLER_SEND_GOODS", "created": "2026-11-11 00:00:03",
             "modified": "2026-11-11 00:00:10", "payment": _yuan(case.paid), "post_fee": _yuan(case.shipping),
             "orders": {"order": lines}}
    # When mapped / Then it reconciles
    order = TaobaoAdapter().to_order({"trade_fullinfo_get_response": {"trade": trade}})
    _reconciles(order, case)
    if case.channel_figures and sum(figures) == case.goods_paid:
        assert [line.paid for line in order.lines] == figures  # Taobao's own split is kept as is


@PROFILE
@given(cases())
def test_douyin_lines_always_reconcile(case: Case) -> None:
    figures = case.figures()
    lines = [
        {"order_id": str(6920000000123456000 + i), "item_num": q, "origin_amount": p, "out_sku_id": f"SKU-{i}",
         **({"pay_amount": figures[i]} if case.channel_figures else {})}
        for i, (q, p) in enumerate(zip(case.quantities, case.prices, strict=True))
    ]
    detail = {"order_id": "6920000000123456000", "order_status": 2, "pay_time": 1794326409,
              "create_time": 1794326403, "update_time": 1794326414, "pay_amount": case.paid,
              "post_amount": case.shipping, "sku_order_list": lines}
    order = DouyinAdapter().to_order(detail)
    _reconciles(order, case)
    if case.channel_figures and sum(figures) == case.goods_paid:
        assert [line.paid for line in order.lines] == figures


@PROFILE
@given(cases(), st.data())
def test_jd_lines_always_reconcile(case: Case, data: st.DataObject) -> None:
    # Given part of the discount as a 单品促销 on one SKU (no more than that SKU's value), the rest order-level
    target = data.draw(st.integers(0, len(case.values) - 1))
    single = data.draw(st.integers(0, min(case.values[target], case.discount)))
    coupons = [{"skuId": str(100000 + target), "couponType": "30-单品促销优惠", "couponPrice": _yuan(single)},
               {"skuId": "", "couponType": "41-京东券优惠", "couponPrice": _yuan(case.discount - single)}]
    info = {
        "orderId": "300123456789", "orderState": "WAIT_SELLER_STOCK_OUT", "orderStartTime": "2026-11-11 00:05:13",
        "paymentConfirmTime": "2026-11-11 00:05:40", "modified": "2026-11-11 00:05:41",
        "orderPayment": _yuan(case.paid), "freightPrice": _yuan(case.shipping), "couponDetailList": coupons,
        "itemInfoList": [{"skuId": str(100000 + i), "jdPrice": _yuan(p), "itemTotal": str(q)}
                         for i, (q, p) in enumerate(zip(case.quantities, case.prices, strict=True))],
    }
    order = JdAdapter().to_order(info)
    _reconciles(order, case)


@PROFILE
@given(cases())
def test_shopify_lines_always_reconcile(case: Case) -> None:
    # Given allocations covering the discount per line (channel_figures) or an unallocated order discount
    allocations = [v - f for v, f in zip(case.values, case.figures(), strict=True)]
    items = [
        {"id": 9000 + i, "admin_graphql_api_id": f"gid://shopify/LineItem/{9000 + i}", "sku": f"SKU-{i}",
         "quantity": q, "price": _yuan(p),
         "discount_allocations": [{"amount": _yuan(allocations[i])}] if case.channel_figures else []}
        for i, (q, p) in enumerate(zip(case.quantities, case.prices, strict=True))
    ]
    document = {"admin_graphql_api_id": "gid://shopify/Order/5840912375611902001", "currency": "CNY",
                "created_at": "2026-11-11T20:05:13+08:00", "updated_at": "2026-11-11T20:05:16+08:00",
                "financial_status": "paid", "taxes_included": True, "total_price": _yuan(case.paid),
                "total_shipping_price_set": {"shop_money": {"amount": _yuan(case.shipping), "currency_code": "CNY"}},
                "line_items": items}
    order = ShopifyAdapter().to_order(document)
    assert sum(line.paid for line in order.lines) + order.amounts.shipping == order.amounts.paid == case.paid


@PROFILE
@given(cases())
def test_without_channel_figures_each_line_is_within_a_fen_of_its_exact_share(case: Case) -> None:
    # Given no channel split / When the goods paid is spread by value
    shares = split_paid(case.goods_paid, case.values)
    # Then it sums exactly and no line is more than one fen from its exact proportional share
    assert sum(shares) == case.goods_paid
    total = sum(case.values)
    for share, value in zip(shares, case.values, strict=True):
        exact = Fraction(case.goods_paid * value, total) if total else Fraction(case.goods_paid, len(case.values))
        assert abs(share - exact) < 1


@PROFILE
@given(st.lists(st.integers(-500, 50_000), min_size=1, max_size=8), st.integers(-1_000, 300_000))
def test_split_paid_with_any_channel_figures_sums_to_the_target(figures: list[int], target: int) -> None:
    shares = split_paid(target, [max(f, 0) for f in figures], figures)
    assert sum(shares) == target
    if sum(figures) == target:
        assert shares == figures


