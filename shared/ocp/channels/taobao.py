"""Taobao / Tmall trades mapped to orders (`trade_fullinfo_get_response`, CHANNELS.md §2.4), and `TaobaoAdapter`:
the wire side (`ocp.channels.wire.taobao`) with this mapping, for the order processor. Money is yuan text, times
are GMT+8 without an offset, ids exceed 2^53 (`tid_str`, `oid_str`).
"""

from __future__ import annotations

from typing import Any

from ocp.channels.common import (
    CNY,
    Unmappable,
    china_time,
    id_text,
    int_value,
    listed,
    map_document,
    require,
    required_time,
    split_paid,
    text,
    yuan,
)
from ocp.channels.regions import normalise_city, normalise_province
from ocp.channels.wire.taobao import TaobaoWire, trade_of
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

PENDING = frozenset({"TRADE_NO_CREATE_PAY", "WAIT_BUYER_PAY", "PAY_PENDING", "WAIT_PRE_AUTH_CONFIRM"})
PAID = frozenset({
    "WAIT_SELLER_SEND_GOODS", "SELLER_CONSIGNED_PART", "WAIT_BUYER_CONFIRM_GOODS", "TRADE_BUYER_SIGNED",
    "TRADE_FINISHED", "PAID_FORBID_CONSIGN",
})
CLOSED = frozenset({"TRADE_CLOSED", "TRADE_CLOSED_BY_TAOBAO"})
REFUND_STARTED = frozenset({"WAIT_SELLER_AGREE", "WAIT_BUYER_RETURN_GOODS", "WAIT_SELLER_CONFIRM_GOODS", "SUCCESS"})


class TaobaoAdapter(TaobaoWire):
    def to_order(self, document: dict[str, Any]) -> Order:
        if self.is_thin(document):
            raise UnmappableDocument([
                f"this is a thin TMC message ({document.get('topic')}); the full order comes from "
                "taobao.trade.fullinfo.get"
            ])
        return map_document(_map_trade, trade_of(document))


# ---- mapping ---------------------------------------------------------------------------------------------


def _map_trade(t: dict[str, Any], reasons: list[str]) -> Order | None:
    require(t, ("created", "modified", "payment", "status"), reasons)
    if t.get("tid") is None and t.get("tid_str") is None:
        reasons.append("missing field 'tid'")
    raw_lines = listed(t.get("orders"), "order")
    if not raw_lines:
        reasons.append("orders is empty")
    status_text = text(t.get("status"))
    if status_text and status_text not in PENDING | PAID | CLOSED:
        reasons.append(f"unknown trade status {status_text!r}")
    if reasons:
        return None
    channel_order_id = id_text(t.get("tid_str") or t["tid"], "tid")
    paid = yuan(t["payment"], "payment", None)
    shipping = yuan(t.get("post_fee"), "post_fee")
    lines = _map_lines(raw_lines, target=paid - shipping, shipping=shipping)
    items = sum(line.unit_price * line.quantity for line in lines)
    tax = yuan(t.get("order_tax_fee"), "order_tax_fee")
    status = _status(status_text or "")
    created_at = required_time(t["created"], "created", china_time)
    updated_at = required_time(t["modified"], "modified", china_time)
    return Order(
        order_id=order_id_for(Channel.taobao, channel_order_id),
        channel=Channel.taobao,
        channel_order_id=channel_order_id,
        status=status,
        status_since=created_at,
        created_at=created_at,
        paid_at=china_time(t.get("pay_time"), "pay_time") if status != OrderStatus.pending_payment else None,
        cancelled_at=(china_time(t.get("end_time"), "end_time") or updated_at)
        if status == OrderStatus.cancelled else None,
        channel_updated_at=updated_at,
        currency=CNY,
        amounts=Amounts(items=items, discount=items + shipping + tax - paid, shipping=shipping, paid=paid, tax=tax),
        address=_address(t),
        buyer_id=text(t.get("buyer_open_uid")) or text(t.get("buyer_nick")),
        buyer_note=text(t.get("buyer_message")),
        seller_note=text(t.get("seller_memo")),
        channel_status=status_text,
        seller_flag=int_value(t.get("seller_flag"), "seller_flag") if text(t.get("seller_flag")) else None,
        cash_on_delivery=t.get("type") == "cod",
        presale=_presale(t),
        cross_border=_cross_border(t, tax),
        lines=tuple(lines),
    )


def _map_lines(raw_lines: list[Any], target: int, shipping: int) -> list[OrderLine]:
    """Taobao apportions order-level discounts itself: `divide_order_fee` is each line's share of what the
    buyer paid for goods. Without it, a line's `payment` is used (it holds the postage when the trade has a
    single line); without either, the trade's payment is spread by line value."""
    for index, raw in enumerate(raw_lines):
        if not isinstance(raw, dict):
            raise Unmappable(f"orders[{index}] is not an object")
        for name in ("num", "price"):
            if raw.get(name) in (None, ""):
                raise Unmappable(f"missing field 'orders[{index}].{name}'")
        if raw.get("oid") is None and raw.get("oid_str") is None:
            raise Unmappable(f"missing field 'orders[{index}].oid'")
    quantities = [int_value(raw["num"], "num") for raw in raw_lines]
    unit_prices = [yuan(raw["price"], "price", None) for raw in raw_lines]
    values = [q * p for q, p in zip(quantities, unit_prices, strict=True)]
    taxes = [yuan(raw.get("sub_order_tax_fee"), "sub_order_tax_fee") for raw in raw_lines]
    figures: list[int] | None = None
    if all(raw.get("divide_order_fee") not in (None, "") for raw in raw_lines):
        figures = [yuan(raw["divide_order_fee"], "divide_order_fee") for raw in raw_lines]
    elif all(raw.get("payment") not in (None, "") for raw in raw_lines):
        figures = [yuan(raw["payment"], "payment") for raw in raw_lines]
        if len(figures) == 1:
            figures[0] -= shipping
    paid = split_paid(target, values, figures)
    lines = []
    for raw, quantity, unit_price, value, tax, share in zip(
        raw_lines, quantities, unit_prices, values, taxes, paid, strict=True
    ):
        gift = raw.get("is_free_gift") is True or str(raw.get("is_free_gift")).lower() == "true"
        lines.append(OrderLine(
            line_id=id_text(raw.get("oid_str") or raw["oid"], "oid"),
            sku=text(raw.get("outer_sku_id")) or text(raw.get("outer_iid")) or "",
            channel_sku_id=text(raw.get("sku_id")) or text(raw.get("num_iid")),
            title=text(raw.get("title")),
            quantity=quantity,
            unit_price=unit_price,
            discount=value + tax - share,
            paid=share,
            gift=gift,
            gift_for=tuple(m for m in (text(raw.get("gift_mids")) or "").split(",") if m) if gift else (),
            refund_requested=text(raw.get("refund_status")) in REFUND_STARTED,
            tax=tax,
            channel_status=text(raw.get("status")),
        ))
    return lines


def _status(status: str) -> OrderStatus:
    if status in CLOSED:
        return OrderStatus.cancelled
    if status in PENDING:
        return OrderStatus.pending_payment
    return OrderStatus.received


def _address(t: dict[str, Any]) -> Address:
    province = normalise_province(text(t.get("receiver_state")))
    city, district = text(t.get("receiver_city")), text(t.get("receiver_district"))
    if city is None and district is not None:
        # 省直辖县级行政区 (e.g. 河南济源): "如果返回值里面只有receiver_district参数，该参数作为城市".
        city, district = district, None
    country = text(t.get("receiver_country"))
    return Address(
        country="CN" if country in (None, "中国", "CN") else country,
        province=province,
        city=normalise_city(city, province),
        district=district,
        town=text(t.get("receiver_town")),
        detail=text(t.get("receiver_address")),
        postal_code=text(t.get("receiver_zip")),
        recipient=text(t.get("receiver_name")),
        phone=text(t.get("receiver_mobile")) or text(t.get("receiver_phone")),
        pii_token=text(t.get("oaid")),
    )


def _presale(t: dict[str, Any]) -> Presale | None:
    stage = text(t.get("step_trade_status"))
    flagged = str(t.get("new_presell")).lower() == "true" or t.get("type") == "step"
    if stage is None and not flagged:
        return None
    ship_by = None
    for name in ("send_time", "est_con_time"):
        try:
            ship_by = ship_by or china_time(t.get(name), name)
        except Unmappable:
            continue  # sometimes prose ("付款后15天内发货"), not a time
    return Presale(
        kind="deposit" if stage else "presale",
        stage=stage,
        deposit=yuan(t.get("step_paid_fee"), "step_paid_fee") if text(t.get("step_paid_fee")) else None,
        ship_by=ship_by,
    )


def _cross_border(t: dict[str, Any], tax: int) -> CrossBorder | None:
    bonded = str(t.get("cross_bonded_declare")).lower() == "true"
    direct = str(t.get("post_gate_declare")).lower() == "true"
    if not (bonded or direct):
        return None
    attributes = {
        key: value
        for key, _, value in (part.partition(":") for part in (text(t.get("trade_attr")) or "").split(";"))
        if value
    }
    return CrossBorder(
        kind="bonded" if bonded else "direct_mail", tax=tax, presentment_currency=attributes.get("payCurrency"),
    )
