"""Where an order sits in the `orders` table's status index: `<status>#<n>`, n spread by order id.

Keyed by status alone, every order write would land on a handful of index keys (`reserved`, `held`,
`dispatched`), and one key absorbs about 1,000 write units per second before it throttles back into the order's
own transaction. Every order enters and leaves each status on its way, one index write in (2 units when it rides
in the order's transaction) and one out (1 unit), so at 10,000 orders/s one status key takes about 30,000 units/s:
64 buckets keep each near 470, under half its limit (docs/CAPACITY.md). Readers ask every bucket of a status and
merge them oldest first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ocp.domain.inventory.stock import spread

if TYPE_CHECKING:
    from ocp.domain.order.model import OrderStatus

STATUS_BUCKETS = 64
"""Changing it moves every order to another key: a backfill like the one in docs/CAPACITY.md, not a deploy."""


def status_bucket(status: OrderStatus, order_id: str) -> str:
    return f"{status.value}#{spread(order_id, STATUS_BUCKETS)}"


def status_buckets(status: OrderStatus) -> list[str]:
    """Every key of one status, in bucket order."""
    return [f"{status.value}#{n}" for n in range(STATUS_BUCKETS)]
