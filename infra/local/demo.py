"""`ocp demo`: post signed sample Shopify orders to a running OCP and report what became of each.

A plain HTTP client (stdlib `urllib` only), so it works the same against `ocp local` and a deployed stack.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from typing import Any

_LOOPBACK = {"127.0.0.1", "localhost", "::1"}
SHOP_DOMAIN = "ocp-demo.myshopify.com"
SHOPIFY_API_VERSION = "2026-04"


@dataclass(frozen=True)
class DemoOrder:
    name: str
    channel_order_id: str
    body: bytes


@dataclass(frozen=True)
class DemoResult:
    order: DemoOrder
    webhook_status: int
    order_status: str | None = None
    paid_fen: int | None = None


def demo_orders() -> list[DemoOrder]:
    """The bundled Shopify `orders/create` bodies, as raw bytes (what gets signed is what gets sent)."""
    folder = resources.files("infra.local") / "demo_orders"
    files = sorted((f for f in folder.iterdir() if f.name.endswith(".json")), key=lambda f: f.name)
    return [_demo_order(f.read_bytes()) for f in files]


def _demo_order(body: bytes) -> DemoOrder:
    document = json.loads(body)
    gid = str(document.get("admin_graphql_api_id") or "")
    channel_order_id = gid.rsplit("/", 1)[-1] if gid else str(document["id"])
    return DemoOrder(name=str(document.get("name") or channel_order_id), channel_order_id=channel_order_id, body=body)


def shopify_signature(secret: str, body: bytes) -> str:
    """`X-Shopify-Hmac-Sha256`: base64(HMAC-SHA256(secret, raw body))."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def shopify_headers(body: bytes, secret: str, event_id: str | None = None) -> dict[str, str]:
    """The headers Shopify sends with an `orders/create` delivery (a fresh webhook id per delivery)."""
    return {
        "Content-Type": "application/json",
        "X-Shopify-Topic": "orders/create",
        "X-Shopify-Hmac-Sha256": shopify_signature(secret, body),
        "X-Shopify-Shop-Domain": SHOP_DOMAIN,
        "X-Shopify-API-Version": SHOPIFY_API_VERSION,
        "X-Shopify-Webhook-Id": str(uuid.uuid4()),
        "X-Shopify-Event-Id": event_id or str(uuid.uuid4()),
        "X-Shopify-Triggered-At": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
    }


def http(method: str, url: str, body: bytes | None = None, headers: dict[str, str] | None = None,
         timeout_s: float = 15) -> tuple[int, Any]:
    """(status, parsed JSON body or None); 4xx/5xx are returned, not raised."""
    request = urllib.request.Request(url, data=body, headers=headers or {}, method=method)
    try:
        with _opener(url).open(request, timeout=timeout_s) as response:
            return response.status, _json(response.read())
    except urllib.error.HTTPError as error:
        return error.code, _json(error.read())


def _opener(url: str) -> urllib.request.OpenerDirector:
    if urllib.parse.urlsplit(url).hostname in _LOOPBACK:
        return urllib.request.build_opener(urllib.request.ProxyHandler({}))
    return urllib.request.build_opener()


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None


def find_order(base_url: str, api_key: str, channel: str, channel_order_id: str) -> dict[str, Any] | None:
    query = urllib.parse.urlencode({"channel": channel, "channel_order_id": channel_order_id})
    status, body = http("GET", f"{base_url}/orders?{query}", headers={"x-api-key": api_key})
    orders = body.get("orders") if status == 200 and isinstance(body, dict) else None
    return orders[0] if orders else None


DEMO_STOCK: dict[str, tuple[str, int]] = {
    # SKU → (warehouse, units): the demo orders' SKUs, near where each demo buyer lives (inventory).
    "TEA-OOLONG-250": ("WH-GZ", 50), "CUP-CELADON-4": ("WH-GZ", 20),
    "SCARF-SILK-M": ("WH-SH", 10), "SOCKS-CASH-2P": ("WH-SH", 30), "HANGER-BAMBOO-10": ("WH-SH", 40),
    "KETTLE-GOOSE-1L": ("WH-BJ", 5), "FILTER-V60-100": ("WH-BJ", 60),
}


def seed_stock(base_url: str, api_key: str) -> list[tuple[str, int]]:
    """Push the demo stock as WMS version 1 (a second run is a repeated version: counts are kept)."""
    results = []
    for sku, (warehouse, units) in DEMO_STOCK.items():
        body = json.dumps({"on_hand": units, "version": 1, "safety_stock": max(1, units // 10)}).encode()
        status, _ = http("PUT", f"{base_url}/inventory/{warehouse}/{urllib.parse.quote(sku, safe='')}", body,
                         {"x-api-key": api_key, "Content-Type": "application/json"})
        results.append((sku, status))
    return results


def run_demo(base_url: str, secret: str, api_key: str, wait_s: float = 20) -> list[DemoResult]:
    """Seed demo stock, post every demo order, then look each accepted one up until it shows or `wait_s` runs out."""
    base_url = base_url.rstrip("/")
    seed_stock(base_url, api_key)
    posted = []
    for order in demo_orders():
        status, _ = http("POST", f"{base_url}/webhooks/shopify", order.body, shopify_headers(order.body, secret))
        posted.append((order, status))
    deadline = time.monotonic() + wait_s
    return [_outcome(base_url, api_key, order, status, deadline) for order, status in posted]


def _outcome(base_url: str, api_key: str, order: DemoOrder, status: int, deadline: float) -> DemoResult:
    while status == 200:
        found = find_order(base_url, api_key, "shopify", order.channel_order_id)
        if found is not None:
            paid = (found.get("amounts") or {}).get("paid")
            return DemoResult(order, status, str(found.get("status")), paid if isinstance(paid, int) else None)
        if time.monotonic() > deadline:
            break
        time.sleep(0.25)
    return DemoResult(order, status)


def format_table(results: list[DemoResult]) -> str:
    rows = [("order", "channel_order_id", "webhook", "status", "paid (fen)")]
    for r in results:
        rows.append((
            r.order.name, r.order.channel_order_id, str(r.webhook_status),
            r.order_status or "not found", "" if r.paid_fen is None else str(r.paid_fen),
        ))
    return _table(rows)


@dataclass(frozen=True)
class DemoReturn:
    order_id: str
    kind: str
    status: int
    return_id: str | None = None
    return_status: str | None = None
    refund_fen: int | None = None


DEMO_RETURN_KINDS = ("return_refund", "refund_only_after_ship")
"""The after-sales the demo asks for, one per delivered demo order (the web store's: `POST /returns`)."""


def run_returns(base_url: str, api_key: str, results: list[DemoResult], wait_s: float = 20) -> list[DemoReturn]:
    """For the first dispatched demo orders: report them shipped and delivered (as their WMS and carrier would), ask
    for an after-sale of their first line, and follow each until it waits on someone or `wait_s` runs out."""
    base_url = base_url.rstrip("/")
    headers = {"x-api-key": api_key, "Content-Type": "application/json", "x-ocp-actor": "ocp-demo"}
    deadline = time.monotonic() + wait_s
    with_warehouse = (_with_warehouse(base_url, api_key, r.order, deadline) for r in results
                      if r.order_status in ("reserved", "dispatched"))
    asked = []
    for kind, order in zip(DEMO_RETURN_KINDS, (o for o in with_warehouse if o is not None), strict=False):
        order_id = str(order["order_id"])
        for event in ("shipped", "delivered"):
            body = {"order_id": order_id, "event": event, "event_id": f"demo-{order_id}-{event}",
                    "at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "carrier": "SF",
                    "tracking_no": f"SFDEMO{order_id[-8:]}", "warehouse": order["warehouse"]}
            http("POST", f"{base_url}/fulfillment/events", json.dumps(body).encode(), headers)
        line = order["lines"][0]
        request = {"order_id": order_id, "kind": kind, "request_id": f"demo-{kind}",
                   "lines": [{"line_id": line["line_id"], "quantity": 1, "reason": "demo"}]}
        status, answer = http("POST", f"{base_url}/returns", json.dumps(request).encode(), headers)
        return_id = answer.get("return_id") if isinstance(answer, dict) else None
        asked.append(DemoReturn(order_id, kind, status, return_id if isinstance(return_id, str) else None))
    return [_followed(base_url, api_key, asked_for, deadline) for asked_for in asked]


def _with_warehouse(base_url: str, api_key: str, demo: DemoOrder, deadline: float) -> dict[str, Any] | None:
    """The order once its warehouse has it (dispatched with one warehouse), or None by the deadline."""
    while time.monotonic() <= deadline:
        order = find_order(base_url, api_key, "shopify", demo.channel_order_id)
        if order is not None and order.get("status") == "dispatched" and order.get("warehouse"):
            return order
        if order is not None and order.get("status") not in ("reserved", "dispatched"):
            return None
        time.sleep(0.25)
    return None


_SETTLED = {"awaiting_receipt", "awaiting_buyer_shipment", "awaiting_approval", "refund_pending", "refunded",
            "refund_overdue", "rejected", "failed", "closed"}


def _followed(base_url: str, api_key: str, asked: DemoReturn, deadline: float) -> DemoReturn:
    while asked.return_id is not None:
        status, found = http("GET", f"{base_url}/returns/{asked.return_id}", headers={"x-api-key": api_key})
        if status == 200 and isinstance(found, dict) and (found.get("status") in _SETTLED
                                                          or time.monotonic() > deadline):
            refund = found.get("refund") or {}
            amount = refund.get("amount") if isinstance(refund, dict) else None
            return DemoReturn(asked.order_id, asked.kind, asked.status, asked.return_id, str(found.get("status")),
                              amount if isinstance(amount, int) else None)
        if time.monotonic() > deadline:
            break
        time.sleep(0.25)
    return asked


def format_returns(returns: list[DemoReturn]) -> str:
    rows = [("order", "after-sale", "POST /returns", "return_id", "status", "refund (fen)")]
    for r in returns:
        rows.append((r.order_id, r.kind, str(r.status), r.return_id or "", r.return_status or "not found",
                     "" if r.refund_fen is None else str(r.refund_fen)))
    return _table(rows)


def _table(rows: Sequence[tuple[str, ...]]) -> str:
    """A plain-text table: the first row is the header, underlined; columns padded to their widest cell."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
