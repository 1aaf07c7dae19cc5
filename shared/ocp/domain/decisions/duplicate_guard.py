"""The duplicate check across processes, at no read.

An order placed twice is the same buyer — or the same phone — with the same address and the same items within
the anomaly document's window (`checks.duplicate.window_minutes`). Each of those two identities, together with
the address and the items, hashes to a key; the order's own transaction puts the key with a condition: no other
order holds it with a creation time within the window. A first order costs nothing more than one more item in
the transaction it writes anyway; a duplicate's transaction is cancelled, and DynamoDB returns the holder of the
key (`ReturnValuesOnConditionCheckFailure`), so the duplicate is held naming the first order, still without a read.

One key keeps one order: a suspect is held without taking the key (the first order keeps it, so a third copy is
flagged against the first, and the first is never flagged against a copy); an order placed more than a window away
from the one holding its key takes the key over. The record expires (TTL) a day after its window.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

from ocp.domain.decisions.anomalies.duplicates import fingerprint
from ocp.domain.inventory.commit import FingerprintClaim, FingerprintHit
from ocp.domain.order.model import Hold, HoldReason, Order

KEEP_AFTER_WINDOW = timedelta(days=1)


def claims(order: Order, window: timedelta, guard: bool = True) -> tuple[FingerprintClaim, ...]:
    """The keys that remember `order` (none without a buyer id or a readable phone, or without items)."""
    fp = fingerprint(order)
    if not fp.items:
        return ()
    body = f"{fp.address}|{fp.items!r}"
    keys = [f"{kind}#{_digest(identity, body)}" for kind, identity in (("buyer", fp.buyer), ("phone", fp.phone))
            if identity]
    created = order.created_at
    return tuple(
        FingerprintClaim(key=key, order_id=order.order_id, created_at=created, since=created - window,
                         until=created + window, expires_at=created + window + KEEP_AFTER_WINDOW, guard=guard)
        for key in keys
    )


def duplicate_hold(order: Order, hits: tuple[FingerprintHit, ...]) -> Hold:
    hit = hits[0]
    who = "buyer" if hit.key.startswith("buyer#") else "phone number"
    apart = "" if hit.created_at is None else \
        f", {int(abs(order.created_at - hit.created_at).total_seconds() // 60)} min apart"
    return Hold(reason=HoldReason.duplicate_suspect,
                detail=f"same {who}, address and items as {hit.order_id}{apart}")


def _digest(identity: str, body: str) -> str:
    return hashlib.sha256(f"{identity}|{body}".encode()).hexdigest()[:40]

