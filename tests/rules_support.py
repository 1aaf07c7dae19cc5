"""Unified orders for the rules, anomaly, routing and gift tests: a valid order, changed where a test says."""

from __future__ import annotations

from typing import Any

from ocp.domain.operations.catalog import CatalogItem
from ocp.domain.order.model import Order

NOW_TEXT = "2026-11-11T04:05:13Z"


def line(sku: str, quantity: int = 1, unit_price: int = 10000, paid: int | None = None, **extra: Any) -> dict[str, Any]:
    return {"line_id": f"l-{sku}", "sku": sku, "quantity": quantity, "unit_price": unit_price,
            "paid": unit_price * quantity if paid is None else paid, **extra}


def order_doc(lines: list[dict[str, Any]] | None = None, shipping: int = 1000, **changes: Any) -> dict[str, Any]:
    lines = lines if lines is not None else [line("TEA-1", 2, 19900), line("CUP-1", 1, 5000)]
    paid = sum(item["paid"] for item in lines) + shipping
    document: dict[str, Any] = {
        "order_id": "taobao-1001", "channel": "taobao", "channel_order_id": "1001", "status": "received",
        "status_since": NOW_TEXT, "created_at": NOW_TEXT, "paid_at": NOW_TEXT, "channel_updated_at": NOW_TEXT,
        "currency": "CNY",
        "amounts": {"items": sum(i["unit_price"] * i["quantity"] for i in lines), "discount": 0,
                    "shipping": shipping, "paid": paid},
        "address": {"country": "CN", "province": "广东省", "city": "广州市", "district": "天河区",
                    "detail": "天河路385号", "recipient": "张三", "phone": "13800138000"},
        "buyer_id": "buyer-1",
        "lines": lines,
    }
    for key, value in changes.items():
        if key == "address":
            document["address"] = {**document["address"], **value}
        else:
            document[key] = value
    return document


def make_order(lines: list[dict[str, Any]] | None = None, shipping: int = 1000, **changes: Any) -> Order:
    return Order.model_validate(order_doc(lines, shipping, **changes))


def catalog_item(sku: str, **fields: Any) -> CatalogItem:
    return CatalogItem.model_validate({"sku": sku, "name": sku.lower(), **fields})
