"""JD `orderInfo` documents mapped to orders (CHANNELS.md §4.4), and `JdAdapter`: the wire side
(`ocp.channels.wire.jd`) with this mapping, for the order processor. Money and quantities are text, times are GMT+8
with "0001-01-01 00:00:00" meaning unset, PII is encrypted or masked.
"""

from __future__ import annotations

from typing import Any

from ocp.channels.common import (
    CNY,
    Unmappable,
    china_time,
    id_text,
    int_value,
    map_document,
    require,
    split_paid,
    text,
    yuan,
)
from ocp.channels.regions import normalise_city, normalise_province
from ocp.channels.wire.jd import JdWire, order_info_of
from ocp.domain.order.model import (
    Address,
    Amounts,
    Channel,
    CrossBorder,
    Order,
    OrderLine,
    OrderStatus,
    order_id_for,
)
from ocp.domain.order.money import apportion

CANCELLED = frozenset({"TRADE_CANCELED"})
LOCKED = "LOCKED"
"""JD locks an order while a buyer's cancellation (refund) request is pending."""
_CASH_ON_DELIVERY = 1
_SINGLE_ITEM_PROMOTION = 30
"""couponType 30 (单品促销) names the SKU it applies to; every other coupon type is order-level."""


class JdAdapter(JdWire):
    def to_order(self, document: dict[str, Any]) -> Order:
        return map_document(_map_order, order_info_of(document))


# ---- mapping ---------------------------------------------------------------------------------------------


def _map_order(d: dict[str, Any], reasons: list[str]) -> Order | None:
    require(d, ("orderId", "orderStartTime", "orderPayment", "orderState"), reasons)
    raw_lines = d.get("itemInfoList") or []
    if not isinstance(raw_lines, list) or not raw_lines:
        reasons.append("itemInfoList is empty")
    if reasons:
        return None
    channel_order_id = id_text(d["orderId"], "orderId")
    # orderPayment is what the buyer still owed after paying part with JD balance (余额): both were paid.
    paid = yuan(d["orderPayment"], "orderPayment", None) + yuan(d.get("balanceUsed"), "balanceUsed")
    shipping = yuan(d.get("freightPrice"), "freightPrice")
    tax = yuan(d.get("taxFee"), "taxFee")
    lines = _map_lines(raw_lines, d.get("couponDetailList") or [], target=paid - shipping)
    items = sum(line.unit_price * line.quantity for line in lines)
    state = str(d["orderState"]).strip()
    pay_type = _code(d.get("payType"))
    paid_at = china_time(d.get("paymentConfirmTime"), "paymentConfirmTime")
    created_at = china_time(d["orderStartTime"], "orderStartTime")
    if created_at is None:
        raise Unmappable("orderStartTime is not set")
    # `modified` is optional in JOS responses; without it the order's latest known event time stands in.
    updated_at = china_time(d.get("modified"), "modified") or paid_at or created_at
    if state in CANCELLED:
        status = OrderStatus.cancelled
    elif paid_at is not None or pay_type == _CASH_ON_DELIVERY:
        status = OrderStatus.received
    else:
        status = OrderStatus.pending_payment
    return Order(
        order_id=order_id_for(Channel.jd, channel_order_id),
        channel=Channel.jd,
        channel_order_id=channel_order_id,
        status=status,
        status_since=created_at,
        created_at=created_at,
        paid_at=paid_at,
        cancelled_at=(china_time(d.get("orderEndTime"), "orderEndTime") or updated_at)
        if status == OrderStatus.cancelled else None,
        channel_updated_at=updated_at,
        currency=CNY,
        amounts=Amounts(items=items, discount=items + shipping + tax - paid, shipping=shipping, paid=paid, tax=tax),
        address=_address(d.get("consigneeInfo") or {}),
        buyer_id=text(d.get("open_id_buyer")) or text(d.get("open_id")) or text(d.get("pin")),
        buyer_note=text(d.get("orderRemark")),
        seller_note=text(d.get("venderRemark")),
        channel_status=state,
        cash_on_delivery=pay_type == _CASH_ON_DELIVERY,
        cross_border=_cross_border(d, tax),
        lines=tuple(_locked(lines) if state == LOCKED else lines),
    )


def _map_lines(raw_lines: list[Any], coupons: list[Any], target: int) -> list[OrderLine]:
    """JD gives no per-line paid figure. Single-item promotions (couponType 30) name their SKU and come off
    that SKU's lines; what the buyer paid for goods is then spread over the lines by their value after those,
    largest remainder, so every order-level coupon lands on lines in proportion."""
    for index, raw in enumerate(raw_lines):
        if not isinstance(raw, dict):
            raise Unmappable(f"itemInfoList[{index}] is not an object")
        for name in ("skuId", "jdPrice", "itemTotal"):
            if raw.get(name) in (None, ""):
                raise Unmappable(f"missing field 'itemInfoList[{index}].{name}'")
    quantities = [int_value(raw["itemTotal"], "itemTotal") for raw in raw_lines]
    unit_prices = [yuan(raw["jdPrice"], "jdPrice", None) for raw in raw_lines]
    values = [q * p for q, p in zip(quantities, unit_prices, strict=True)]
    sku_ids = [id_text(raw["skuId"], "skuId") for raw in raw_lines]
    line_discounts = [0] * len(raw_lines)
    for coupon in coupons:
        if not isinstance(coupon, dict) or _code(coupon.get("couponType")) != _SINGLE_ITEM_PROMOTION:
            continue
        sku = text(coupon.get("skuId"))
        targets = [i for i, s in enumerate(sku_ids) if s == sku]
        if targets:
            amount = yuan(coupon.get("couponPrice"), "couponPrice")
            for i, part in zip(targets, apportion(amount, [values[i] for i in targets]), strict=True):
                line_discounts[i] += part
    after_line = [v - x for v, x in zip(values, line_discounts, strict=True)]
    paid = split_paid(target, after_line)
    return [
        OrderLine(
            line_id=f"{sku}-{index + 1}",
            sku=text(raw.get("outerSkuId")) or "",
            channel_sku_id=sku,
            title=text(raw.get("skuName")),
            quantity=quantity,
            unit_price=unit_price,
            discount=value - share,
            paid=share,
            # JD does not flag free gifts (赠品) in orderInfo; a line given away at ¥0.00 is one.
            gift=unit_price == 0,
        )
        for index, (raw, sku, quantity, unit_price, value, share) in enumerate(
            zip(raw_lines, sku_ids, quantities, unit_prices, values, paid, strict=True)
        )
    ]


def _locked(lines: list[OrderLine]) -> list[OrderLine]:
    return [line.model_copy(update={"refund_requested": True}) for line in lines]


def _address(c: dict[str, Any]) -> Address:
    """JD's four levels are province / city / county (区县) / town (街道); province may lack its 省/市."""
    province = normalise_province(text(c.get("province")))
    return Address(
        country="CN",
        province=province,
        city=normalise_city(text(c.get("city")), province),
        district=text(c.get("county")),
        town=text(c.get("town")),
        detail=text(c.get("fullAddress")),
        recipient=text(c.get("fullname")),
        # JD sends the mobile masked ("136*******5"); `desen_mobile` is a search hash, not a phone: not kept.
        phone=text(c.get("mobile")) or text(c.get("telephone")),
    )


def _cross_border(d: dict[str, Any], tax: int) -> CrossBorder | None:
    customs = text(d.get("customs")) or text(d.get("customsModel"))
    if customs is None:
        return None
    return CrossBorder(kind="customs", tax=tax, customs=customs)


def _code(value: Any) -> int | None:
    """JD's code-label strings: "4-在线支付" → 4; plain numbers pass."""
    head = str(value).strip().split("-", 1)[0] if value is not None else ""
    return int(head) if head.isdigit() else None
