"""One behavioural suite for the OrderStore port, run against the in-memory twin and the DynamoDB adapter."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from infra import wiring
from infra.local.provision import provision
from ocp.adapters.dynamodb.orders import DynamoOrderStore
from ocp.adapters.memory.orders import MemoryOrderStore
from ocp.channels.shopify import ShopifyAdapter
from ocp.domain.errors import ConcurrentModification, OrderExists
from ocp.domain.order.model import Order
from ocp.ports import OrderStore
from tests.support import fixture_json


@pytest.fixture(params=["memory", "dynamodb"])
def store(request: pytest.FixtureRequest) -> Iterator[OrderStore]:
    if request.param == "memory":
        yield MemoryOrderStore()
        return
    with mock_aws():
        resources = provision(None, {})
        table = boto3.resource("dynamodb").Table(resources.resolve(wiring.Ref(wiring.ORDERS.id)))
        yield DynamoOrderStore(table)


def _order() -> Order:
    order = ShopifyAdapter().to_order(fixture_json("channels/shopify/orders_create.cn_discounted.json"))
    return order.model_copy(update={"revision": 1})


def test_created_order_reads_back_equal(store: OrderStore) -> None:
    order = _order()
    store.create(order)
    assert store.get(order.order_id) == order
    assert store.find_by_channel_order("shopify", order.channel_order_id) == order
    assert store.get("missing") is None
    assert store.find_by_channel_order("shopify", "missing") is None


def test_second_create_is_refused(store: OrderStore) -> None:
    store.create(_order())
    with pytest.raises(OrderExists):
        store.create(_order())


def test_replace_requires_the_expected_revision(store: OrderStore) -> None:
    order = _order()
    store.create(order)
    newer = order.model_copy(update={"revision": 2, "warehouse": "WH-GZ"})
    store.replace(newer, expected_revision=1)
    assert store.get(order.order_id) == newer
    with pytest.raises(ConcurrentModification):
        store.replace(order.model_copy(update={"revision": 2}), expected_revision=1)


def test_replace_counts_the_revision_itself(store: OrderStore) -> None:
    # Given a stored order at revision 1 / When a caller replaces it without touching the revision
    order = _order()
    store.create(order)
    stored = store.replace(order.model_copy(update={"warehouse": "WH-GZ"}), expected_revision=1)
    # Then it is stored (and returned) as revision 2, so a second writer from revision 1 is refused
    assert stored.revision == 2 and store.get(order.order_id) == stored
    with pytest.raises(ConcurrentModification):
        store.replace(order.model_copy(update={"warehouse": "WH-SH"}), expected_revision=1)
