"""One behavioural suite for the merged parcels' port (`MergeGroups`): the sparse due and merge-key indexes and a
group's orders written at once — the in-memory twin and DynamoDB (moto)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from infra import wiring
from infra.local.provision import local_name, table_definition
from ocp.adapters.dynamodb.merge import DynamoMergeGroups
from ocp.adapters.dynamodb.orders import DynamoOrderStore
from ocp.adapters.memory.inventory import MemoryInventory
from ocp.adapters.memory.merge import MemoryMergeGroups
from ocp.adapters.memory.orders import MemoryOrderStore
from ocp.domain.fulfillment.merge import grouped
from ocp.domain.fulfillment.merge_window import RECHECK_AFTER, merge_key, waiting
from ocp.domain.order.model import Order, OrderStatus
from tests.rules_support import make_order

AT = datetime(2026, 11, 11, 4, 0, tzinfo=UTC)
WINDOW = timedelta(minutes=10)


@dataclass
class Ports:
    orders: Any
    groups: Any


@pytest.fixture(params=["memory", "dynamodb"])
def ports(request: pytest.FixtureRequest) -> Iterator[Ports]:
    if request.param == "memory":
        orders = MemoryOrderStore(MemoryInventory())
        yield Ports(orders, MemoryMergeGroups(orders))
        return
    with mock_aws():
        client = boto3.client("dynamodb")
        client.create_table(**table_definition(wiring.ORDERS))
        table = boto3.resource("dynamodb").Table(local_name(wiring.ORDERS.id))
        yield Ports(DynamoOrderStore(table, client=client), DynamoMergeGroups(table, client))


def _waiting(n: int, since: datetime, detail: str = "天河路385号") -> Order:
    order = make_order(order_id=f"taobao-{n}", channel_order_id=str(n), status="reserved", warehouse="WH-GZ",
                       address={"detail": detail}, revision=1)
    return waiting(order, WINDOW, since)


def test_due_lists_orders_whose_window_ended_earliest_first(ports: Ports) -> None:
    # Given three waiting orders (one not due yet) and one that was dispatched
    ports.orders.create(_waiting(1, AT + timedelta(minutes=2)))
    ports.orders.create(_waiting(2, AT))
    ports.orders.create(_waiting(3, AT + timedelta(minutes=30)))
    gone = _waiting(4, AT).model_copy(update={"status": OrderStatus.dispatched})
    ports.orders.create(gone)
    # When asked at AT + 15 min / Then the due ones, earliest first, up to the limit
    assert ports.groups.due(AT + timedelta(minutes=15), 10) == ["taobao-2", "taobao-1"]
    assert ports.groups.due(AT + timedelta(minutes=15), 1) == ["taobao-2"]


def test_waiting_with_finds_the_waiting_orders_of_one_merge_key(ports: Ports) -> None:
    # Given two waiting orders to one address, one to another
    for order in (_waiting(1, AT), _waiting(2, AT + timedelta(minutes=1)), _waiting(3, AT, detail="体育西路1号")):
        ports.orders.create(order)
    key = merge_key(_waiting(1, AT))
    # When asked for the first one's key / Then both of that address, and only those
    assert key is not None and sorted(ports.groups.waiting_with(key, 10)) == ["taobao-1", "taobao-2"]


def test_claim_writes_every_order_of_a_group_or_none(ports: Ports) -> None:
    # Given two waiting orders
    one, two = _waiting(1, AT), _waiting(2, AT)
    ports.orders.create(one)
    ports.orders.create(two)
    ids = (one.order_id, two.order_id)
    # When one of them changed before the group is written
    ports.orders.replace(two.model_copy(update={"buyer_note": "changed"}), expected_revision=1)
    refused = ports.groups.claim([(grouped(one, ids, AT), 1), (grouped(two, ids, AT), 1)])
    # Then nothing is written
    assert refused is False
    assert ports.orders.get(one.order_id) == one
    # When the group is written at the revisions stored, once the first window ended
    stored_two, ended = ports.orders.get(two.order_id), AT + WINDOW
    claimed = ports.groups.claim([(grouped(one, ids, ended), 1), (grouped(stored_two, ids, ended), 2)])
    # Then both carry the group at their next revision, and neither waits: due again only as a hand-over owed
    after = [ports.orders.get(i) for i in ids]
    assert claimed is True and [o.revision for o in after] == [2, 3]
    assert all(o.fulfillment.merge.group_id == "merge:taobao-1" for o in after)
    assert ports.groups.due(ended + RECHECK_AFTER - timedelta(seconds=1), 10) == []
    assert ports.groups.due(ended + RECHECK_AFTER, 10) == ["taobao-1", "taobao-2"]
    assert ports.groups.waiting_with(merge_key(one) or "", 10) == []
