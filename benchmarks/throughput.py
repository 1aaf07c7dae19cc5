"""DynamoDB's write limits and what they mean for one hot SKU (the throughput model of docs/INVENTORY.md).

Facts about the storage, not about stock: kept beside the benchmark that prints them.
"""

from __future__ import annotations

import math

ITEM_WCU_PER_S = 1000
"""What one DynamoDB item (one partition key) can absorb: about 1,000 write units per second."""
TRANSACTIONAL_WCU_PER_ITEM = 2
"""A transactional write of an item up to 1 KB costs 2 WCU (twice a plain write)."""


def reservations_per_shard(utilisation: float = 0.7) -> float:
    """Reservations per second one stock shard sustains at the given utilisation of its item's limit."""
    return ITEM_WCU_PER_S * utilisation / TRANSACTIONAL_WCU_PER_ITEM


def shards_needed(orders_per_s: float, utilisation: float = 0.7) -> int:
    """Shards one SKU needs so that each shard item stays under `utilisation` of its write limit; each order
    reserves on one shard (its preferred one) in the common case."""
    return max(1, math.ceil(orders_per_s / reservations_per_shard(utilisation)))


STATUS_KEY_WCU_PER_ORDER = 3
"""Status index units per order on one status key: it enters (2 when the write is the order's transaction, as the
reservation and the shipment are) and leaves (1, a plain write) — `make bench` measures the index's units."""


def hottest_status_key(orders_per_s: float, buckets: int) -> float:
    """Write units per second on one key of the status index, every order passing through the status (reserved,
    dispatched, shipped), spread over `buckets`."""
    return STATUS_KEY_WCU_PER_ORDER * orders_per_s / buckets
