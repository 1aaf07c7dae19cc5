"""The status index's buckets: where an order's item sits, and how a page merges buckets read to different depths."""

from __future__ import annotations

from collections import Counter
from typing import Any

from ocp.adapters.dynamodb.orders import order_from_item, order_item
from ocp.adapters.dynamodb.status_index import BucketRead, merge_page
from ocp.domain.order.model import OrderStatus
from ocp.domain.order.status_buckets import STATUS_BUCKETS, status_bucket, status_buckets
from tests.rules_support import make_order


def test_a_bucket_is_the_status_and_a_number_stable_across_processes() -> None:
    # Given an order id / When bucketed twice and in another status
    first = status_bucket(OrderStatus.reserved, "taobao-4242")
    # Then the same key each time (sha256, not the per-process `hash`), the status kept, the number the same
    assert first == status_bucket(OrderStatus.reserved, "taobao-4242") == "reserved#" + first.split("#")[1]
    assert status_bucket(OrderStatus.held, "taobao-4242").split("#")[1] == first.split("#")[1]
    assert first in status_buckets(OrderStatus.reserved)
    assert len(status_buckets(OrderStatus.held)) == STATUS_BUCKETS


def test_orders_spread_evenly_over_the_buckets_of_a_status() -> None:
    # Given a thousand order ids per bucket, as the channels number them / When bucketed
    ids = 1000 * STATUS_BUCKETS
    counts = Counter(status_bucket(OrderStatus.reserved, f"douyin-69{n:015d}") for n in range(ids))
    # Then every bucket is used and none takes more than 15% over its share (a hot key is what this prevents)
    share = ids / STATUS_BUCKETS
    assert len(counts) == STATUS_BUCKETS
    assert max(counts.values()) < share * 1.15


def test_the_item_carries_its_bucket_and_moves_with_the_status_but_the_order_does_not_see_it() -> None:
    # Given an order written as `received`, then as `reserved`
    order = make_order(order_id="shopify-1", channel_order_id="1")
    item = order_item(order)
    moved = order_item(order.model_copy(update={"status": OrderStatus.reserved}))
    # Then each item is in its status's bucket, the same number, and reading it back gives the order unchanged
    assert item["status_bucket"] == status_bucket(order.status, "shopify-1")
    assert moved["status_bucket"] == status_bucket(OrderStatus.reserved, "shopify-1")
    assert order_from_item(item) == order


def _item(since: str, order_id: str) -> dict[str, Any]:
    return {"status_since": since, "order_id": order_id}


def test_a_page_stops_at_the_bucket_read_least_far_and_resumes_there() -> None:
    # Given one bucket read to its end and one stopped (its budget spent) at 10:05
    done = BucketRead([_item("10:01", "a"), _item("10:09", "d")], frontier=None)
    stopped = BucketRead([_item("10:02", "b"), _item("10:05", "c")], frontier=("10:05", "c"))
    # When merged for five
    page, after = merge_page([done, stopped], 5)
    # Then only what is proven oldest comes (10:09 could follow unread items of the other bucket), and the next
    # page starts after 10:05
    assert [i["order_id"] for i in page] == ["a", "b", "c"]
    assert after == ("10:05", "c")


def test_a_full_page_resumes_after_its_last_item_and_a_complete_one_ends() -> None:
    # Given two buckets read to their ends, with equal times
    reads = [BucketRead([_item("10:01", "b"), _item("10:03", "e")], None),
             BucketRead([_item("10:01", "a"), _item("10:02", "c")], None)]
    # When merged for three, and for four
    page, after = merge_page(reads, 3)
    everything, end = merge_page(reads, 4)
    # Then oldest first with ties by order id, the cursor after the last one; a page holding the rest ends
    assert [i["order_id"] for i in page] == ["a", "b", "c"]
    assert after == ("10:02", "c")
    assert [i["order_id"] for i in everything] == ["a", "b", "c", "e"] and end is None
