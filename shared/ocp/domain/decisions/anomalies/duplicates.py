"""Duplicate suspects: the same buyer (or phone), the same address and the same items within a window.

`fingerprint(order)` is what the check compares: `ocp.domain.decisions.duplicate_guard` hashes it into the keys
the order's own transaction claims, so the check needs no read.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from ocp.domain.order.model import Order

_SPACE = re.compile(r"[\s,，.。·\-—_/]+")


class OrderFingerprint(NamedTuple):
    order_id: str
    buyer: str | None
    """`channel:buyer_id`, or None when the channel sent no buyer."""
    phone: str | None
    address: str
    items: tuple[tuple[str, int], ...]
    created_at: datetime


def compact(text: str | None) -> str:
    return _SPACE.sub("", text or "")


def address_key(order: Order) -> str:
    a = order.address
    return compact("".join(p or "" for p in (a.province, a.city, a.district, a.town, a.detail or a.masked_detail)))


def fingerprint(order: Order) -> OrderFingerprint:
    items = sorted(
        (line.sku or line.channel_sku_id or line.title or "?", line.quantity) for line in order.lines if not line.gift
    )
    phone = order.address.phone or ""
    if "*" in phone or phone.startswith(("~", "$", "#")):
        phone = ""  # masked or encrypted: thousands of buyers share "138****5678"; it identifies nobody
    return OrderFingerprint(
        order_id=order.order_id,
        buyer=f"{order.channel.value}:{order.buyer_id}" if order.buyer_id else None,
        phone=compact(phone) or None,
        address=address_key(order),
        items=tuple(items),
        created_at=order.created_at,
    )
