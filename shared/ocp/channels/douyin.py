"""Douyin 抖店 shop orders mapped to orders (`order.orderDetail`, CHANNELS.md §3.3), and `DouyinAdapter`: the wire
side (`ocp.channels.wire.douyin`) with this mapping, for the order processor. Amounts in fen, times in Unix seconds,
PII as ciphertext plus masked display values.
"""

from __future__ import annotations

from typing import Any

from ocp.channels.common import (
    CNY,
    Unmappable,
    epoch_seconds,
    fen,
    id_text,
    int_value,
    map_document,
    require,
    required_time,
    split_paid,
    text,
)
from ocp.channels.regions import normalise_city, normalise_province
from ocp.channels.wire.douyin import DouyinWire, shop_order_of
from ocp.domain.errors import UnmappableDocument
from ocp.domain.order.model import (
    Address,
    Amounts,
    Channel,
    CrossBorder,
    Order,
    OrderLine,
    OrderStatus,
    Presale,
    order_id_for,
)

_PENDING_STATUS = {1}
_PENDING_MAIN_STATUS = {1, 103}  # 103: 部分支付, a pre-sale deposit paid and the balance not yet
_CANCELLED_STATUS = {4}
_CANCELLED_MAIN_STATUS = {4, 21}  # 21: refunded in full before shipping
_CASH_ON_DELIVERY = 0
_REFUND_STARTED = {6, 7, 11, 12}  # after_sale_status: applied, returning, returned, refunded
_DEPOSIT_PRESALE, _DEPOSIT_PRESALE_GIFT = 2, 102
_CROSS_BORDER_BIZ = {21: "bbc", 22: "bc", 23: "cc"}


class DouyinAdapter(DouyinWire):
    def to_order(self, document: dict[str, Any]) -> Order:
        if self.is_thin(document):
            raise UnmappableDocument([
                f"this is a thin push message (tag {document.get('tag')}) naming order "
                f"{document['data'].get('p_id') if isinstance(document.get('data'), dict) else '?'}; "
                "the full order comes from order.orderDetail"
            ])
        return map_document(_map_order, shop_order_of(document))


# ---- mapping ---------------------------------------------------------------------------------------------


def _map_order(d: dict[str, Any], reasons: list[str]) -> Order | None:
    require(d, ("order_id", "create_time", "update_time", "pay_amount"), reasons)
    raw_lines = d.get("sku_order_list") or []
    if not isinstance(raw_lines, list) or not raw_lines:
        reasons.append("sku_order_list is empty")
    if reasons:
        return None
    channel_order_id = id_text(d["order_id"], "order_id")
    paid = fen(d["pay_amount"], "pay_amount", None)
    shipping = fen(d.get("post_amount"), "post_amount")
    lines = _map_lines(raw_lines, target=paid - shipping)
    items = sum(line.unit_price * line.quantity for line in lines)
    tax = sum(line.tax for line in lines)
    status = _status(d)
    created_at = required_time(d["create_time"], "create_time", epoch_seconds)
    updated_at = required_time(d["update_time"], "update_time", epoch_seconds)
    pay_time = epoch_seconds(d.get("pay_time"), "pay_time")
    return Order(
        order_id=order_id_for(Channel.douyin, channel_order_id),
        channel=Channel.douyin,
        channel_order_id=channel_order_id,
        status=status,
        status_since=created_at,
        created_at=created_at,
        paid_at=pay_time if status != OrderStatus.pending_payment else None,
        cancelled_at=updated_at if status == OrderStatus.cancelled else None,
        channel_updated_at=updated_at,
        currency=CNY,
        amounts=Amounts(items=items, discount=items + shipping + tax - paid, shipping=shipping, paid=paid, tax=tax),
        address=_address(d),
        buyer_id=text(d.get("doudian_open_id")) or text(d.get("open_id")),
        buyer_note=text(d.get("buyer_words")),
        seller_note=text(d.get("seller_words")),
        channel_status=text(d.get("order_status")),
        seller_flag=int_value(d.get("seller_remark_stars"), "seller_remark_stars", default=0)
        if text(d.get("seller_remark_stars")) is not None else None,
        cash_on_delivery=int_value(d.get("pay_type"), "pay_type", default=-1) == _CASH_ON_DELIVERY,
        presale=_presale(d, raw_lines),
        cross_border=_cross_border(d, tax),
        lines=tuple(lines),
    )


def _map_lines(raw_lines: list[dict[str, Any]], target: int) -> list[OrderLine]:
    """Douyin apportions discounts itself: each SKU order's `pay_amount` is its share. Depending on the
    order it may include the line's share of postage; whichever reading reconciles with the shop order is
    used, and any remaining difference is spread by largest remainder so lines + shipping == paid exactly."""
    for index, raw in enumerate(raw_lines):
        if not isinstance(raw, dict):
            raise Unmappable(f"sku_order_list[{index}] is not an object")
        for name in ("order_id", "item_num", "origin_amount"):
            if raw.get(name) in (None, ""):
                raise Unmappable(f"missing field 'sku_order_list[{index}].{name}'")
    quantities = [int_value(raw["item_num"], "item_num") for raw in raw_lines]
    unit_prices = [fen(raw["origin_amount"], "origin_amount", None) for raw in raw_lines]
    values = [q * p for q, p in zip(quantities, unit_prices, strict=True)]
    figures: list[int] | None = None
    if all(raw.get("pay_amount") not in (None, "") for raw in raw_lines):
        pays = [fen(raw["pay_amount"], "pay_amount") for raw in raw_lines]
        without_post = [p - fen(raw.get("post_amount"), "post_amount") for p, raw in zip(pays, raw_lines, strict=True)]
        figures = without_post if sum(pays) != target and sum(without_post) == target else pays
    paid = split_paid(target, values, figures)
    lines = []
    for raw, quantity, unit_price, value, share in zip(raw_lines, quantities, unit_prices, values, paid, strict=True):
        # 包税 (has_tax): the seller bears the tax inside the price, so none is charged on top.
        tax = 0 if _truthy(raw.get("has_tax")) else fen(raw.get("tax_amount"), "tax_amount")
        gift = raw.get("given_product_type") == "FREE" or _int(raw.get("trade_type")) == _DEPOSIT_PRESALE_GIFT
        masters = raw.get("master_sku_order_id_list") or (
            [raw["master_sku_order_id"]] if gift and text(raw.get("master_sku_order_id")) else []
        )
        after_sale = raw.get("after_sale_info") or {}
        lines.append(OrderLine(
            line_id=id_text(raw["order_id"], "sku_order_list.order_id"),
            sku=text(raw.get("out_sku_id")) or text(raw.get("code")) or "",
            channel_sku_id=text(raw.get("sku_id")),
            title=text(raw.get("product_name")),
            quantity=quantity,
            unit_price=unit_price,
            discount=value + tax - share,
            paid=share,
            gift=gift,
            gift_for=tuple(str(m) for m in masters) if gift else (),
            refund_requested=_int(after_sale.get("after_sale_status")) in _REFUND_STARTED,
            tax=tax,
            channel_status=text(raw.get("order_status")),
        ))
    return lines


def _status(d: dict[str, Any]) -> OrderStatus:
    order_status, main_status = _int(d.get("order_status")), _int(d.get("main_status"))
    if order_status in _CANCELLED_STATUS or main_status in _CANCELLED_MAIN_STATUS:
        return OrderStatus.cancelled
    if order_status in _PENDING_STATUS or main_status in _PENDING_MAIN_STATUS:
        return OrderStatus.pending_payment
    return OrderStatus.received


def _address(d: dict[str, Any]) -> Address:
    """Naming trap: Douyin's `town` is the district (区/县) and its `street` is the town (街道)."""
    post = d.get("post_addr") or {}
    masked = d.get("mask_post_addr") or {}
    province = normalise_province(_name(post.get("province")))
    return Address(
        country="CN",
        province=province,
        city=normalise_city(_name(post.get("city")), province),
        district=_name(post.get("town")),
        town=_name(post.get("street")),
        detail=text(post.get("encrypt_detail")) or text(post.get("detail")),
        recipient=text(d.get("encrypt_post_receiver")) or text(d.get("post_receiver")),
        phone=text(d.get("encrypt_post_tel")) or text(d.get("post_tel")),
        masked_recipient=text(d.get("mask_post_receiver")),
        masked_phone=text(d.get("mask_post_tel")),
        masked_detail=text(masked.get("detail")) if isinstance(masked, dict) else None,
    )


def _presale(d: dict[str, Any], raw_lines: list[dict[str, Any]]) -> Presale | None:
    trade_types = {_int(raw.get("trade_type")) for raw in raw_lines}
    presale_types = {_int(raw.get("pre_sale_type")) for raw in raw_lines}
    phases = [p for p in d.get("order_phase_list") or [] if isinstance(p, dict)]
    if _DEPOSIT_PRESALE in trade_types or phases:
        kind = "deposit"
    elif 1 in presale_types:
        kind = "full_payment"
    elif 2 in presale_types:
        kind = "stepped"
    else:
        return None
    stage, deposit = None, None
    if phases:
        total = max(_int(p.get("total_phase")) or 0 for p in phases)
        paid_phases = {_int(p.get("current_phase")) for p in phases if _truthy(p.get("pay_success"))}
        stage = f"{len(paid_phases)}/{total} phases paid"
        first = [p for p in phases if _int(p.get("current_phase")) == 1 and _truthy(p.get("pay_success"))]
        deposit = sum(fen(p.get("phase_pay_amount"), "phase_pay_amount") for p in first) if first else None
    ship_by = epoch_seconds(d.get("exp_ship_time"), "exp_ship_time") or epoch_seconds(
        d.get("appointment_ship_time"), "appointment_ship_time"
    )
    return Presale(kind=kind, stage=stage, deposit=deposit, ship_by=ship_by)


def _cross_border(d: dict[str, Any], tax: int) -> CrossBorder | None:
    kind = _CROSS_BORDER_BIZ.get(_int(d.get("biz")) or -1)
    if kind is None:
        return None
    identity = d.get("user_id_info") or {}
    return CrossBorder(
        kind=kind,
        tax=fen(d.get("tax_amount"), "tax_amount") or tax,
        id_card_name=text(identity.get("encrypt_id_card_name")) or text(identity.get("id_card_name")),
        id_card_no=text(identity.get("encrypt_id_card_no")) or text(identity.get("id_card_no")),
    )


def _name(level: Any) -> str | None:
    return text(level.get("name")) if isinstance(level, dict) else text(level)


def _int(value: Any) -> int | None:
    try:
        return int_value(value, "value", default=None) if value not in (None, "") else None
    except Unmappable:
        return None


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() == "true"
