"""Shopify (the web store) on the wire: HMAC-signed `orders/*` webhooks carrying the REST Order resource, and the
Admin REST API. Signature, headers and field meanings: CHANNELS.md §1; the orders mapped: `ocp.channels.shopify`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import urllib.parse
from datetime import datetime
from typing import Any

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
from ocp.domain.clock import iso
from ocp.domain.errors import ChannelApiRejected, ChannelNotConfigured, SignatureInvalid
from ocp.domain.order.enums import Channel

API_VERSION = "2026-04"
CARRIERS = {"SF": "SF Express", "YTO": "YTO Express", "ZTO": "ZTO Express", "STO": "STO Express"}
"""OCP carrier code → the tracking company name Shopify shows (others are passed as the warehouse sent them)."""
PAGE_LIMIT = 250
_NEXT_PAGE = re.compile(r'<([^>]+)>;\s*rel="next"')


def sign(secret: str, body: bytes) -> str:
    """`X-Shopify-Hmac-Sha256`: base64 of HMAC-SHA256 over the raw body bytes."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


class ShopifyWire:
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
        return gid_digits(document)

    def api(self, config: ApiConfig) -> ShopifyApi:
        return ShopifyApi(config)


def gid_digits(entity: dict[str, Any]) -> str:
    gid = entity.get("admin_graphql_api_id")
    if isinstance(gid, str) and gid.rsplit("/", 1)[-1].isdigit():
        return gid.rsplit("/", 1)[-1]
    if entity.get("id") is None:
        raise KeyError("id")
    return str(entity["id"])



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
