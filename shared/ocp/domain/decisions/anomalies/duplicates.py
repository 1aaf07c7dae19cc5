"""Duplicate suspects: the same buyer (or phone), the same address and the same items within a window.

`fingerprint(order)` is what the check compares; a `RecentOrders` port (ports.py) finds the candidates.
`RecentOrdersWindow` is an in-memory implementation of that port (one process, bounded by time), used by tests
and the benchmark; a stored one (an index on the orders table) sits behind the same port.
"""

from __future__ import annotations

import re
import threading
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from ocp.domain.order.model import Order

_SPACE = re.compile(r"[\s,，.。·\-—_/]+")


@dataclass(frozen=True, slots=True)
class OrderFingerprint:
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


def duplicate_of(candidate: OrderFingerprint, others: Sequence[OrderFingerprint], window: timedelta) -> str | None:
    """The detail of a hold when one of `others` looks like the same order placed twice, else None."""
    for other in others:
        if other.order_id == candidate.order_id or other.items != candidate.items or other.address != candidate.address:
            continue
        same_person = (candidate.buyer is not None and other.buyer == candidate.buyer) or (
            candidate.phone is not None and other.phone == candidate.phone
        )
        apart = abs(other.created_at - candidate.created_at)
        if same_person and apart <= window:
            return f"same buyer, address and items as {other.order_id}, {int(apart.total_seconds() // 60)} min apart"
    return None


class RecentOrdersWindow:
    """Fingerprints of the orders seen in the last `keep`, by buyer and by phone (thread-safe)."""

    def __init__(self, keep: timedelta = timedelta(days=1)) -> None:
        self._keep = keep
        self._by_key: dict[str, list[OrderFingerprint]] = {}
        self._arrivals: deque[tuple[datetime, tuple[str, ...]]] = deque()
        self._lock = threading.Lock()

    def remember(self, order: Order) -> None:
        fp = fingerprint(order)
        keys = tuple(k for k in (f"b:{fp.buyer}" if fp.buyer else None, f"p:{fp.phone}" if fp.phone else None) if k)
        with self._lock:
            for key in keys:
                self._by_key.setdefault(key, []).append(fp)
            self._arrivals.append((fp.created_at, keys))
            self._expire(fp.created_at - self._keep)

    def similar(self, candidate: OrderFingerprint, since: datetime) -> list[OrderFingerprint]:
        keys = [k for k in (f"b:{candidate.buyer}" if candidate.buyer else None,
                            f"p:{candidate.phone}" if candidate.phone else None) if k]
        with self._lock:
            found = {fp.order_id: fp for key in keys for fp in self._by_key.get(key, ()) if fp.created_at >= since}
        return list(found.values())

    def _expire(self, before: datetime) -> None:
        while self._arrivals and self._arrivals[0][0] < before:
            created, keys = self._arrivals.popleft()
            for key in keys:
                kept = [fp for fp in self._by_key.get(key, ()) if fp.created_at >= before]
                if kept:
                    self._by_key[key] = kept
                else:
                    self._by_key.pop(key, None)
