"""Shopify REST Order resources mapped to orders (CHANNELS.md §1.3), and `ShopifyAdapter`: the wire side
(`ocp.channels.wire.shopify`) with this mapping, for the order processor. Ids are read from `admin_graphql_api_id`
where present because the numeric `id` exceeds 2^53 and is often damaged by JavaScript on the way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from ocp.channels.wire.shopify import ShopifyWire, gid_digits
from ocp.domain.clock import parse_instant
from ocp.domain.errors import UnmappableDocument
from ocp.domain.order.address_text import with_district
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
from ocp.domain.order.money import MoneyError, apportion, to_minor

_PAID_STATES = {"paid", "partially_paid", "authorized", "partially_refunded", "refunded"}


class ShopifyAdapter(ShopifyWire):
    def to_order(self, document: dict[str, Any]) -> Order:
        if isinstance(document.get("order"), dict) and "line_items" not in document:
            document = document["order"]  # the REST API's `{"order": …}` wrapper
        reasons: list[str] = []
        try:
            order = _map_order(document, reasons)
        except (KeyError, TypeError, ValueError, MoneyError) as exc:
            reasons.append(_describe(exc))
            order = None
        if reasons or order is None:
            raise UnmappableDocument(reasons or ["document could not be mapped"])
        return order


def _describe(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
    if isinstance(exc, KeyError):
        return f"missing field {exc.args[0]!r}"
    return str(exc)


def _shop_amount(document: dict[str, Any], field: str) -> str | None:
    money_set = document.get(f"{field}_set") or {}
    shop_money = money_set.get("shop_money") or {}
    amount = shop_money.get("amount", document.get(field))
    return None if amount is None else str(amount)


def _map_order(document: dict[str, Any], reasons: list[str]) -> Order | None:
    currency = str(document.get("currency") or "").upper()
    if len(currency) != 3:
        reasons.append("currency missing or not an ISO 4217 code")
        return None
    minor: Callable[[str | None], int] = lambda amount: to_minor(amount, currency)  # noqa: E731
    raw_lines = list(document.get("line_items") or [])
    if not raw_lines:
        reasons.append("line_items is empty")
        return None
    for key in ("created_at", "updated_at", "total_price"):
        if document.get(key) in (None, ""):
            reasons.append(f"missing field {key!r}")
    if reasons:
        return None

    shipping = _shipping(document, minor)
    tax_included = bool(document.get("taxes_included"))
    paid_total = minor(_shop_amount(document, "total_price"))
    lines = _map_lines(raw_lines, minor, tax_included, target=paid_total - shipping)
    items = sum(line.unit_price * line.quantity for line in lines)
    tax = 0 if tax_included else minor(_shop_amount(document, "total_tax"))
    status = _status(document)
    created_at = parse_instant(document["created_at"])
    channel_order_id = gid_digits(document)
    return Order(
        order_id=order_id_for(Channel.shopify, channel_order_id),
        channel=Channel.shopify,
        channel_order_id=channel_order_id,
        channel_order_name=document.get("name"),
        status=status,
        status_since=created_at,
        created_at=created_at,
        paid_at=parse_instant(document.get("processed_at") or document["created_at"])
        if status != OrderStatus.pending_payment and document.get("financial_status") in _PAID_STATES else None,
        cancelled_at=parse_instant(document["cancelled_at"]) if document.get("cancelled_at") else None,
        channel_updated_at=parse_instant(document["updated_at"]),
        currency=currency,
        amounts=Amounts(
            items=items,
            discount=items + tax + shipping - paid_total,
            shipping=shipping,
            paid=paid_total,
            tax=tax,
        ),
        address=_address(document.get("shipping_address") or {}),
        buyer_id=gid_digits(document["customer"]) if document.get("customer") else None,
        buyer_note=document.get("note") or None,
        tags=tuple(t.strip() for t in (document.get("tags") or "").split(",") if t.strip()),
        channel_status=document.get("financial_status") or None,
        cross_border=_cross_border(document, currency, minor),
        lines=tuple(_refunds_started(lines, document)),
    )


def _map_lines(
    raw_lines: list[dict[str, Any]], minor: Callable[[str | None], int], tax_included: bool, target: int
) -> list[OrderLine]:
    """Lines with `paid` summing to `target` (what the buyer paid for goods) exactly.

    Shopify's own `discount_allocations` are used first; whatever the document leaves unexplained
    (an order-level discount with no allocation) is apportioned by line value, largest remainder.
    """
    values = [minor(li["price"]) * int(li["quantity"]) for li in raw_lines]
    allocated = [sum(minor(a.get("amount")) for a in li.get("discount_allocations") or []) for li in raw_lines]
    taxes = [0 if tax_included else sum(minor(t.get("price")) for t in li.get("tax_lines") or []) for li in raw_lines]
    nets = [v - a + t for v, a, t in zip(values, allocated, taxes, strict=True)]
    unexplained = sum(nets) - target
    extra = apportion(unexplained, [max(n, 0) for n in nets])
    return [
        OrderLine(
            line_id=gid_digits(li),
            sku=str(li.get("sku") or ""),
            channel_sku_id=str(li["variant_id"]) if li.get("variant_id") is not None else None,
            title=li.get("title"),
            quantity=int(li["quantity"]),
            unit_price=minor(li["price"]),
            discount=a + x,
            paid=n - x,
        )
        for li, a, n, x in zip(raw_lines, allocated, nets, extra, strict=True)
    ]


def _shipping(document: dict[str, Any], minor: Callable[[str | None], int]) -> int:
    if document.get("total_shipping_price_set"):
        return minor(_shop_amount(document, "total_shipping_price"))
    return sum(minor(line.get("discounted_price")) for line in document.get("shipping_lines") or [])


def _status(document: dict[str, Any]) -> OrderStatus:
    if document.get("cancelled_at"):
        return OrderStatus.cancelled
    if document.get("financial_status") in _PAID_STATES:
        return OrderStatus.received
    return OrderStatus.pending_payment


def _address(raw: dict[str, Any]) -> Address:
    detail = " ".join(p for p in (raw.get("address1"), raw.get("address2")) if p)
    # Shopify has no district field; Chinese buyers write the district in address1.
    return with_district(Address(
        country=raw.get("country_code") or "CN",
        province=raw.get("province"),
        city=raw.get("city"),
        detail=detail or None,
        postal_code=raw.get("zip"),
        recipient=raw.get("name"),
        phone=raw.get("phone"),
    ))


def _refunds_started(lines: list[OrderLine], document: dict[str, Any]) -> list[OrderLine]:
    refunded = {
        str(item.get("line_item_id"))
        for refund in document.get("refunds") or []
        for item in (refund.get("refund_line_items") or [])
    }
    return [line.model_copy(update={"refund_requested": True}) if line.line_id in refunded else line for line in lines]


def _cross_border(
    document: dict[str, Any], currency: str, minor: Callable[[str | None], int]
) -> CrossBorder | None:
    """Shopify has no customs fields; a foreign presentment currency or duties mark a cross-border order."""
    presentment = str(document.get("presentment_currency") or currency).upper()
    duties = minor(_shop_amount(document, "current_total_duties")) if document.get("current_total_duties_set") else 0
    if presentment == currency and not duties:
        return None
    return CrossBorder(
        kind="duties" if duties else "presentment", tax=duties,
        presentment_currency=presentment if presentment != currency else None,
    )
