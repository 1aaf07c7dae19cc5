"""Orders written before the bucketed status index: the backfill gives them their bucket, once, beside live writers
(DynamoDB on moto)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from infra import wiring
from infra.local.provision import local_name, table_definition
from ocp.adapters.dynamodb.held_queue import DynamoHeldQueueQueries
from ocp.adapters.dynamodb.order_queries import DynamoOrderQueries
from ocp.adapters.dynamodb.orders import DynamoOrderStore, order_item
from ocp.adapters.dynamodb.status_index import _set_bucket, backfill_status_buckets
from ocp.domain.order.model import Hold, HoldReason, Order, OrderStatus
from ocp.domain.order.status_buckets import status_bucket
from tests.rules_support import make_order

AT = datetime(2026, 11, 11, 4, 0, tzinfo=UTC)


@pytest.fixture
def table() -> Iterator[Any]:
    with mock_aws():
        boto3.client("dynamodb").create_table(**table_definition(wiring.ORDERS))
        yield boto3.resource("dynamodb").Table(local_name(wiring.ORDERS.id))


def _held(n: int) -> Order:
    return make_order(order_id=f"taobao-{n}", channel_order_id=str(n)).model_copy(update={
        "status": OrderStatus.held, "status_since": AT + timedelta(minutes=n),
        "holds": (Hold(reason=HoldReason.buyer_note, detail="call"),)})


def _write_as_before(table: Any, order: Order) -> None:
    """An item as the writer before the bucketed index stored it: no `status_bucket`."""
    item = order_item(order)
    del item["status_bucket"]
    table.put_item(Item=item)


def test_the_backfill_buckets_old_items_once_and_the_readers_then_see_them(table: Any) -> None:
    # Given three orders written before the change and one written by the current writer
    for n in (1, 2, 3):
        _write_as_before(table, _held(n))
    DynamoOrderStore(table).create(_held(4))
    queue = DynamoHeldQueueQueries(table)
    assert [o.order_id for o in queue.page(OrderStatus.held, None, 10).orders] == ["taobao-4"]
    # When the backfill runs, in two segments, and then again
    first = sum(backfill_status_buckets(table, segment=n, segments=2) for n in range(2))
    again = backfill_status_buckets(table)
    # Then the three old items got their bucket once, the new one was left alone
    assert (first, again) == (3, 0)
    assert table.get_item(Key={"order_id": "taobao-2"})["Item"]["status_bucket"] == status_bucket(
        OrderStatus.held, "taobao-2")
    # and the held queue and the stuck queries list all four, oldest first
    assert [o.order_id for o in queue.page(OrderStatus.held, None, 10).orders] == [f"taobao-{n}" for n in (1, 2, 3, 4)]
    summaries = DynamoOrderQueries(table).in_status(OrderStatus.held, AT + timedelta(hours=1))
    assert [s.order_id for s in summaries] == [f"taobao-{n}" for n in (1, 2, 3, 4)]


def test_an_item_whose_status_moved_since_the_scan_is_not_bucketed_under_the_old_one(table: Any) -> None:
    # Given an old item the backfill has read as held, then rewritten by the current writer as reserved
    _write_as_before(table, _held(1))
    store = DynamoOrderStore(table)
    order = store.get("taobao-1")
    assert order is not None
    store.replace(order.model_copy(update={"status": OrderStatus.reserved, "holds": ()}), order.revision)
    # When the backfill's update for what it read lands after that, and a whole run after it
    late = _set_bucket(table, "taobao-1", OrderStatus.held)
    # Then neither changes anything: the writer set the reserved bucket
    assert (late, backfill_status_buckets(table)) == (0, 0)
    assert table.get_item(Key={"order_id": "taobao-1"})["Item"]["status_bucket"] == status_bucket(
        OrderStatus.reserved, "taobao-1")
