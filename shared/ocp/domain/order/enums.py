"""An order's channel and status: a leaf, so the stuck-order SLA and the stock policy name them without building
the order's models."""

from __future__ import annotations

from enum import StrEnum


class Channel(StrEnum):
    taobao = "taobao"
    jd = "jd"
    douyin = "douyin"
    shopify = "shopify"


class OrderStatus(StrEnum):
    pending_payment = "pending_payment"
    received = "received"
    """Paid, captured and normalised; not yet checked, routed or reserved (OCP extension of API.md)."""
    held = "held"
    reserved = "reserved"
    dispatched = "dispatched"
    accepted = "accepted"
    picked = "picked"
    packed = "packed"
    shipped = "shipped"
    delivered = "delivered"
    cancelled = "cancelled"
