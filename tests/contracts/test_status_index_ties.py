"""Stuck-order listings over the bucketed status index when many orders share one `status_since` (stored to the
second) and the engine gives them in no set order: the in-memory twin and DynamoDB (moto, reordered by
`tests.engine_order`)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import boto3
import pytest
from moto import mock_aws

from infra import wiring
from infra.local.provision import provision
from ocp.adapters.dynamodb.order_queries import DynamoOrderQueries
from ocp.adapters.dynamodb.orders import DynamoOrderStore
from ocp.adapters.memory.fulfillment import MemoryFulfillmentOrders
from ocp.domain.order.model import OrderStatus
from ocp.domain.order.status_buckets import status_bucket
from ocp.ports import OrderQueries, OrderStore
from tests.engine_order import EngineOrderTable
from tests.fulfillment_support import T0, order_at


@pytest.fixture(params=["memory", "dynamodb"])
def twin(request: pytest.FixtureRequest) -> Iterator[tuple[OrderStore, OrderQueries]]:
    if request.param == "memory":
        memory = MemoryFulfillmentOrders()
        yield memory, memory
        return
    with mock_aws():
        resources = provision(None, {})
        orders = boto3.resource("dynamodb").Table(resources.resolve(wiring.Ref(wiring.ORDERS.id)))
        yield DynamoOrderStore(orders), DynamoOrderQueries(EngineOrderTable(orders), page_size=2)


def test_in_status_after_lists_orders_of_one_second_in_one_bucket_once_each_in_id_order(
        twin: tuple[OrderStore, OrderQueries]) -> None:
    store, queries = twin
    # Given seven orders dispatched in the same second in one status bucket, written highest id first, and one
    # a minute later
    bucket = status_bucket(OrderStatus.dispatched, "shopify-1")
    ids = [i for i in (f"shopify-{n}" for n in range(1, 5000))
           if status_bucket(OrderStatus.dispatched, i) == bucket][:7]
    for order_id in sorted(ids, reverse=True):
        store.create(order_at(since=T0, order_id=order_id, channel_order_id=order_id))
    store.create(order_at(since=T0 + timedelta(minutes=1), order_id="shopify-late", channel_order_id="late"))
    # When listed from the start, and after the third of that second
    ordered = sorted(ids)
    everything = [s.order_id for s in queries.in_status_after(OrderStatus.dispatched, None)]
    after_third = [s.order_id for s in queries.in_status_after(OrderStatus.dispatched, (T0, ordered[2]))]
    # Then each comes once, by (time, order id)
    assert everything == [*ordered, "shopify-late"]
    assert after_third == [*ordered[3:], "shopify-late"]
