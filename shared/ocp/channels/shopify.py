"""Shopify (the web store): HMAC-signed `orders/*` webhooks carrying the REST Order resource.

Signature, headers and field meanings: CHANNELS.md §1. Ids are read from `admin_graphql_api_id` where
present because the numeric `id` exceeds 2^53 and is often damaged by JavaScript on the way.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import urllib.parse
from collections.abc import Callable
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from ocp.channels.base import (
    Ack,
    ApiConfig,
    ChannelCredentials,
    ChannelMessage,
    Delivery,
    HttpRequest,
    OrderPage,
    ShipmentNotice,
    body_digest,
    parse_json_object,
)
from ocp.channels.common import json_body
from ocp.domain.clock import iso, parse_instant
from ocp.domain.errors import ChannelApiRejected, ChannelNotConfigured, SignatureInvalid, UnmappableDocument
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
API_VERSION = "2026-04"
CARRIERS = {"SF": "SF Express", "YTO": "YTO Express", "ZTO": "ZTO Express", "STO": "STO Express"}
"""OCP carrier code → the tracking company name Shopify shows (others are passed as the warehouse sent them)."""
PAGE_LIMIT = 250
_NEXT_PAGE = re.compile(r'<([^>]+)>;\s*rel="next"')


def sign(secret: str, body: bytes) -> str:
    """`X-Shopify-Hmac-Sha256`: base64 of HMAC-SHA256 over the raw body bytes."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


class ShopifyAdapter:
    channel = Channel.shopify

    def verify(self, delivery: Delivery, credentials: ChannelCredentials) -> None:
        received = delivery.header("x-shopify-hmac-sha256")
        if not received:
            raise SignatureInvalid("missing X-Shopify-Hmac-Sha256 header")
        expected = sign(credentials.secret, delivery.body)
        if not hmac.compare_digest(expected.encode(), received.strip().encode()):
            raise SignatureInvalid("X-Shopify-Hmac-Sha256 does not match the body")

    def delivery_id(self, delivery: Delivery) -> str:
        # Shopify's retries reuse the webhook id; without one the body itself identifies the delivery.
        return delivery.header("x-shopify-webhook-id") or body_digest(delivery.body)

    def messages(self, delivery: Delivery) -> list[ChannelMessage]:
        document = parse_json_object(delivery.body)
        message_id = delivery.header("x-shopify-event-id") or self.delivery_id(delivery)
        return [ChannelMessage(message_id=message_id, topic=delivery.header("x-shopify-topic"), document=document)]

    def ack(self) -> Ack:
        return Ack(status_code=200, body={"ok": True})

    def is_thin(self, document: dict[str, Any]) -> bool:
        return False  # order webhooks carry the full REST Order resource

    def order_ref(self, document: dict[str, Any]) -> str:
        return _gid_digits(document)

    def api(self, config: ApiConfig) -> ShopifyApi:
        return ShopifyApi(config)

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


def _gid_digits(entity: dict[str, Any]) -> str:
    gid = entity.get("admin_graphql_api_id")
    if isinstance(gid, str) and gid.rsplit("/", 1)[-1].isdigit():
        return gid.rsplit("/", 1)[-1]
    if entity.get("id") is None:
        raise KeyError("id")
    return str(entity["id"])


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
    channel_order_id = _gid_digits(document)
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
        buyer_id=_gid_digits(document["customer"]) if document.get("customer") else None,
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
            line_id=_gid_digits(li),
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


class ShopifyApi:
    """Admin REST API with the app's access token: `GET {base}/admin/api/{version}/orders…` (base is
    `https://<shop>.myshopify.com`). Pages follow the `Link: <…page_info=…>; rel="next"` header."""

    def __init__(self, config: ApiConfig) -> None:
        if not config.credentials.access_token:
            raise ChannelNotConfigured("no access token configured for channel 'shopify'")
        self._config = config
        self._root = f"{config.base_url.rstrip('/')}/admin/api/{API_VERSION}"

    def fetch_order(self, channel_order_id: str) -> dict[str, Any]:
        body, _ = self._get(f"{self._root}/orders/{urllib.parse.quote(channel_order_id)}.json")
        order = body.get("order")
        if not isinstance(order, dict):
            raise ChannelApiRejected(f"no order {channel_order_id}")
        return order

    def modified_orders(self, start: datetime, end: datetime, page: str | None = None) -> OrderPage:
        if page:
            query = {"limit": str(PAGE_LIMIT), "page_info": page}
        else:
            query = {
                "status": "any", "limit": str(PAGE_LIMIT), "order": "updated_at asc",
                "updated_at_min": iso(start), "updated_at_max": iso(end),
            }
        body, link = self._get(f"{self._root}/orders.json?{urllib.parse.urlencode(query)}")
        orders = [o for o in body.get("orders") or [] if isinstance(o, dict)]
        return OrderPage(documents=orders, next_page=_page_info(link) if orders else None)

    def confirm_shipment(self, notice: ShipmentNotice) -> None:
        """Fulfillment orders API: a fulfillment already carrying this tracking number is the acknowledgement;
        else the parcel's lines are matched to the open fulfillment orders' line items and fulfilled in one
        `POST /fulfillments.json` with the tracking info (one tracking number per fulfillment, as Shopify wants)."""
        order = f"{self._root}/orders/{urllib.parse.quote(notice.channel_order_id)}"
        existing, _ = self._get(f"{order}/fulfillments.json")
        for fulfillment in existing.get("fulfillments") or []:
            numbers = {*(fulfillment.get("tracking_numbers") or []), fulfillment.get("tracking_number")}
            if notice.tracking_no in numbers and fulfillment.get("status") != "cancelled":
                return
        body, _ = self._get(f"{order}/fulfillment_orders.json")
        groups, missing = _fulfillment_groups(body.get("fulfillment_orders") or [], notice)
        if missing:
            raise ChannelApiRejected(f"Shopify has nothing left to fulfil for line(s) {', '.join(missing)}")
        self._post(f"{self._root}/fulfillments.json", {"fulfillment": {
            "line_items_by_fulfillment_order": groups,
            "tracking_info": {"number": notice.tracking_no, "company": CARRIERS.get(notice.carrier, notice.carrier)},
            "notify_customer": True,
        }})

    def _get(self, url: str) -> tuple[dict[str, Any], str]:
        token = self._config.credentials.access_token or ""
        response = self._config.transport.send(HttpRequest(
            "GET", url, headers={"X-Shopify-Access-Token": token, "Accept": "application/json"},
        ))
        return json_body(response, "Shopify Admin API"), response.headers.get("link", "")

    def _post(self, url: str, document: dict[str, Any]) -> dict[str, Any]:
        token = self._config.credentials.access_token or ""
        response = self._config.transport.send(HttpRequest(
            "POST", url, headers={"X-Shopify-Access-Token": token, "Accept": "application/json",
                                  "Content-Type": "application/json"},
            body=json.dumps(document).encode("utf-8"),
        ))
        return json_body(response, "Shopify Admin API")


_FULFILLABLE = {"open", "in_progress"}


def _fulfillment_groups(
    fulfillment_orders: list[dict[str, Any]], notice: ShipmentNotice
) -> tuple[list[dict[str, Any]], list[str]]:
    """`line_items_by_fulfillment_order` for the parcel's lines, and the lines Shopify cannot take (none left)."""
    wanted = {item.line_id: item.quantity for item in notice.items}
    groups: list[dict[str, Any]] = []
    for fulfillment_order in fulfillment_orders:
        if fulfillment_order.get("status") not in _FULFILLABLE:
            continue
        items = []
        for line in fulfillment_order.get("line_items") or []:
            line_id = str(line.get("line_item_id"))
            take = min(wanted.get(line_id, 0), int(line.get("fulfillable_quantity") or 0))
            if take > 0:
                items.append({"id": line["id"], "quantity": take})
                wanted[line_id] -= take
        if items:
            groups.append({"fulfillment_order_id": fulfillment_order["id"], "fulfillment_order_line_items": items})
    return groups, [line_id for line_id, left in wanted.items() if left > 0]


def _page_info(link: str) -> str | None:
    match = _NEXT_PAGE.search(link)
    if not match:
        return None
    values = urllib.parse.parse_qs(urllib.parse.urlsplit(match.group(1)).query).get("page_info")
    return values[0] if values else None
