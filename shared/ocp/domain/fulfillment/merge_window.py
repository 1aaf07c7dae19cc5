"""Waiting to merge (合单): a newly reserved order may wait to leave as one parcel with its buyer's other orders to
the same address from the same warehouse (API.md, "Merged parcels"): whether it may wait (`can_wait`), how long (the
routing document's `merge_window_minutes`), and how the merge indexes are keyed.

- Waiting. A waiting order is not handed to the dispatcher: it waits until `fulfillment.merge.wait_until`, found
  through sparse indexes by when it is due (`merge_due`) and by its merge key (`waiting_key`).
- Grouping, the merged instruction and callbacks for a parcel are `ocp.domain.fulfillment.merge`.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any

from ocp.domain.clock import iso
from ocp.domain.fulfillment.merge_record import MergeRecord
from ocp.domain.fulfillment.state import IssueKind
from ocp.domain.fulfillment.stops import HOP
from ocp.domain.inventory.stock import spread
from ocp.domain.order.model import Order, OrderStatus, TimelineEntry

MERGE_BUCKETS = 64
"""Partition keys the due index spreads waiting orders over (a peak's orders would all share one otherwise); sized
for 10,000 orders/s (docs/CAPACITY.md). Raising it keeps items written before visible; lowering it would not."""
RECHECK_AFTER = timedelta(minutes=5)
"""A group formed but not yet handed over is asked for again after this: its dispatch request may have been lost."""


def merge_window(routing_document: Any) -> timedelta:
    """The routing document's `merge_window_minutes` (0: merging is off)."""
    return timedelta(minutes=int(getattr(routing_document, "merge_window_minutes", 0) or 0))


# ---- who may merge, and with whom ----------------------------------------------------------------------------


def single_warehouse(order: Order) -> bool:
    return bool(order.warehouse) and (order.reservation is None or len(order.reservation.warehouses()) <= 1)


def merge_key(order: Order) -> str | None:
    """Channel, buyer, normalised address and warehouse, hashed (no personal data in an index); None when the order
    cannot merge: no buyer, no address, or not one warehouse."""
    if not order.buyer_id or not single_warehouse(order):
        return None
    # The duplicate check's normalisation; imported here because its package loads every anomaly check, which
    # only the processes that group orders need.
    from ocp.domain.decisions.anomalies.duplicates import address_key

    address = address_key(order)
    if not address:
        return None
    text = "\x1f".join((order.channel.value, order.buyer_id, address, order.warehouse or ""))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def free_of_stops(order: Order) -> bool:
    fulfillment = order.fulfillment
    return fulfillment.stop is None and fulfillment.channel_cancel is None and fulfillment.update is None


def can_wait(order: Order) -> bool:
    """A newly reserved order that may wait for others: never handed over, one warehouse, a buyer and an address,
    and no merge record (an order waits once; one that left a group keeps the record naming it, for callbacks)."""
    return (order.status == OrderStatus.reserved and order.fulfillment.instruction_version == 0
            and order.fulfillment.merge is None and free_of_stops(order) and merge_key(order) is not None)


def in_group(order: Order) -> bool:
    """One of the orders of the group its record names (grouped, and not left)."""
    record = order.fulfillment.merge
    return record is not None and record.group_id is not None and order.order_id in record.order_ids


def waits(order: Order) -> bool:
    """Still waiting for its window to end (reserved, never handed over)."""
    record = order.fulfillment.merge
    return (record is not None and record.waiting and order.status == OrderStatus.reserved
            and order.fulfillment.instruction_version == 0)


# ---- the sparse indexes ----------------------------------------------------------------------------------------


def merge_bucket(order_id: str) -> str:
    return f"mrg#{spread(order_id, MERGE_BUCKETS)}"


def merge_due(order: Order) -> datetime | None:
    """When the merge run should look at the order: its window's end while it waits; a while after its group was
    formed while the hand-over is still owed (the dispatch request may have been lost). None: nothing owed."""
    record = order.fulfillment.merge
    if record is None or order.status != OrderStatus.reserved or order.fulfillment.instruction_version:
        return None
    if record.waiting:
        return record.wait_until
    if record.decided_at is None:
        return None
    refused = any(issue.kind == IssueKind.dispatch_rejected and issue.at >= record.decided_at
                  for issue in order.fulfillment.issues)
    return None if refused else record.decided_at + RECHECK_AFTER


def waiting_key(order: Order) -> str | None:
    """The merge key of an order that waits (the mates index), else None."""
    return merge_key(order) if waits(order) else None


def waiting(order: Order, window: timedelta, now: datetime, actor: str | None = None) -> Order:
    """The order waiting `window` for others of the same buyer and address (its timeline says why)."""
    until = now + window
    entry = TimelineEntry(at=now, hop=HOP, event="merge_waiting", source="ocp", actor=actor,
                          detail=f"waits up to {_minutes(window)} min (until {iso(until)}) for other orders of the "
                                 f"same buyer and address from {order.warehouse}, to leave as one parcel")
    return with_merge_record(order, MergeRecord(wait_until=until), entry)


def _minutes(window: timedelta) -> int:
    return int(window.total_seconds() // 60)


def with_merge_record(order: Order, record: MergeRecord, entry: TimelineEntry) -> Order:
    fulfillment = order.fulfillment.model_copy(update={"merge": record})
    return order.model_copy(update={"fulfillment": fulfillment, "timeline": (*order.timeline, entry)})
