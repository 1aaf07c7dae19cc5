"""One behavioural suite for the held queue's ports: the warehouses table, the held queue's reads, and the
duplicate keys claimed in the order transaction — the in-memory twins and DynamoDB (moto)."""

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
from ocp.adapters.dynamodb.held_queue import DynamoHeldQueueQueries
from ocp.adapters.dynamodb.orders import DynamoOrderStore
from ocp.adapters.dynamodb.warehouses import DynamoWarehouseStore
from ocp.adapters.memory.held_queue import MemoryHeldQueue
from ocp.adapters.memory.inventory import MemoryInventory
from ocp.adapters.memory.orders import MemoryOrderStore
from ocp.adapters.memory.warehouses import MemoryWarehouseStore
from ocp.domain.decisions.duplicate_guard import claims
from ocp.domain.decisions.routing import WarehouseKind
from ocp.domain.fulfillment.wms import HttpWmsEndpoint, SqsWmsEndpoint
from ocp.domain.inventory.commit import FingerprintHit, OrderCommit
from ocp.domain.operations.warehouses import Warehouse
from ocp.domain.order.model import Hold, HoldReason, Order, OrderStatus
from ocp.domain.order.status_buckets import status_bucket
from tests.engine_order import EngineOrderTable
from tests.rules_support import make_order

AT = datetime(2026, 11, 11, 4, 0, tzinfo=UTC)
WINDOW = timedelta(minutes=30)


@dataclass
class Ports:
    warehouses: Any
    orders: Any
    queue: Any


@pytest.fixture(params=["memory", "dynamodb"])
def ports(request: pytest.FixtureRequest) -> Iterator[Ports]:
    if request.param == "memory":
        orders = MemoryOrderStore(MemoryInventory())
        yield Ports(MemoryWarehouseStore(), orders, MemoryHeldQueue(orders))
        return
    with mock_aws():
        client = boto3.client("dynamodb")
        for table in (wiring.ORDERS, wiring.WAREHOUSES, wiring.ORDER_FINGERPRINTS):
            client.create_table(**table_definition(table))
        resource = boto3.resource("dynamodb")
        orders_table = resource.Table(local_name(wiring.ORDERS.id))
        orders = DynamoOrderStore(orders_table, client=client, fingerprints=local_name(wiring.ORDER_FINGERPRINTS.id))
        yield Ports(DynamoWarehouseStore(resource.Table(local_name(wiring.WAREHOUSES.id))), orders,
                    DynamoHeldQueueQueries(EngineOrderTable(orders_table), read_size=2))


def _held(n: int, *holds: tuple[HoldReason, datetime | None], since: datetime = AT) -> Order:
    order = make_order(order_id=f"taobao-{n}", channel_order_id=str(n), buyer_id=f"b-{n}")
    return order.model_copy(update={
        "status": OrderStatus.held, "status_since": since + timedelta(minutes=n), "revision": 1,
        "holds": tuple(Hold(reason=reason, detail=reason.value, until=until) for reason, until in holds)})


def test_warehouses_read_back_as_written_in_id_order(ports: Ports) -> None:
    # Given a bonded warehouse and a supplier with every field, and an own one with defaults
    written = [
        Warehouse(warehouse_id="SUP-TEA", kind=WarehouseKind.supplier, name="茶具供应商", region="福建省",
                  cutoff="15:30", timezone="Asia/Shanghai", active=False, updated_at="2026-11-11T04:00:00Z"),
        Warehouse(warehouse_id="BW-HZ", kind=WarehouseKind.bonded, region="浙江省"),
        Warehouse(warehouse_id="WH-GZ"),
    ]
    for warehouse in written:
        ports.warehouses.put(warehouse)
    # When read back, one and all / Then exactly as written, by id
    assert ports.warehouses.get("SUP-TEA") == written[0]
    assert ports.warehouses.get("WH-NOPE") is None
    assert ports.warehouses.all() == sorted(written, key=lambda w: w.warehouse_id)
    # and a PUT replaces
    ports.warehouses.put(written[2].model_copy(update={"active": False}))
    assert ports.warehouses.get("WH-GZ").active is False  # type: ignore[union-attr]


def test_a_warehouses_wms_reads_back_as_written(ports: Ports) -> None:
    # Given a supplier with an HTTP WMS and a warehouse with a queue
    written = [
        Warehouse(warehouse_id="SUP-TEA", kind=WarehouseKind.supplier,
                  wms=HttpWmsEndpoint(type="http", url="https://wms.example.com/ocp?tenant=7")),
        Warehouse(warehouse_id="WH-NEW", wms=SqsWmsEndpoint(
            type="sqs", queue_url="https://sqs.us-east-1.amazonaws.com/123456789012/ocp-wms-wh-new")),
    ]
    for warehouse in written:
        ports.warehouses.put(warehouse)
    # When read back / Then each WMS is the one written
    assert ports.warehouses.all() == written
    # and a PUT without one drops it
    ports.warehouses.put(written[1].model_copy(update={"wms": None}))
    assert ports.warehouses.get("WH-NEW").wms is None  # type: ignore[union-attr]


def test_the_queue_pages_by_reason_in_status_order_and_every_order_comes_once(ports: Ports) -> None:
    # Given seven held orders, every other one for its address, and a reserved one
    for n in range(1, 8):
        reason = HoldReason.address_unresolved if n % 2 else HoldReason.price_abnormal
        ports.orders.create(_held(n, (reason, None), (HoldReason.buyer_note, None)))
    ports.orders.create(make_order(order_id="taobao-99", channel_order_id="99"))
    # When the address queue is read two at a time until the end
    seen: list[str] = []
    start = None
    for _ in range(10):
        page = ports.queue.page(OrderStatus.held, HoldReason.address_unresolved, 2, start)
        seen += [o.order_id for o in page.orders]
        start = page.last_key
        if start is None:
            break
    # Then the address holds came oldest first, once each; without a reason, all seven
    assert seen == ["taobao-1", "taobao-3", "taobao-5", "taobao-7"]
    everything = ports.queue.page(OrderStatus.held, None, 50)
    assert ([o.order_id for o in everything.orders], everything.last_key) == ([f"taobao-{n}" for n in range(1, 8)],
                                                                              None)


def test_pages_merge_every_status_bucket_oldest_first_and_resume_after_the_last_one(ports: Ports) -> None:
    # Given 40 held orders spread over the status index's buckets, ten pairs held in the same second, every third
    # for its address (and a few in another status)
    for n in range(1, 41):
        reason = HoldReason.address_unresolved if n % 3 == 0 else HoldReason.buyer_note
        order = _held(n, (reason, None), since=AT - timedelta(minutes=n // 2 * 2 - n))
        ports.orders.create(order)
    for n in range(41, 45):
        ports.orders.create(make_order(order_id=f"taobao-{n}", channel_order_id=str(n)))
    expected = sorted((f"taobao-{n}" for n in range(1, 41)),
                      key=lambda i: (ports.orders.get(i).status_since, i))
    # When the whole status and the address holds are read in pages of three
    def read_all(reason: HoldReason | None) -> list[str]:
        seen: list[str] = []
        start = None
        for _ in range(60):
            page = ports.queue.page(OrderStatus.held, reason, 3, start)
            assert len(page.orders) <= 3
            seen += [o.order_id for o in page.orders]
            start = page.last_key
            if start is None:
                return seen
        raise AssertionError("the pages never ended")

    # Then every order comes once, in (status_since, order_id) order, across buckets
    assert read_all(None) == expected
    wanted = {f"taobao-{n}" for n in range(3, 41, 3)}
    assert read_all(HoldReason.address_unresolved) == [i for i in expected if i in wanted]


def test_orders_held_in_the_same_second_in_one_bucket_each_come_once_in_id_order(ports: Ports) -> None:
    # Given six orders held in the same second in one status bucket, written highest id first (the engine gives
    # them in no set order), four more in that second elsewhere, one a minute before and one a minute after
    bucket = status_bucket(OrderStatus.held, "taobao-1")
    same = [n for n in range(1, 5000) if status_bucket(OrderStatus.held, f"taobao-{n}") == bucket][:6]
    others = [n for n in range(1, 5000) if status_bucket(OrderStatus.held, f"taobao-{n}") != bucket][:4]
    for n in sorted(same + others, reverse=True):
        reason = HoldReason.address_unresolved if n % 2 else HoldReason.buyer_note
        ports.orders.create(_held(n, (reason, None), since=AT - timedelta(minutes=n)))
    ports.orders.create(_held(9001, (HoldReason.address_unresolved, None), since=AT - timedelta(minutes=9002)))
    ports.orders.create(_held(9002, (HoldReason.buyer_note, None), since=AT - timedelta(minutes=9001)))

    def read_all(reason: HoldReason | None, limit: int) -> list[str]:
        seen: list[str] = []
        start = None
        for _ in range(40):
            page = ports.queue.page(OrderStatus.held, reason, limit, start)
            seen += [o.order_id for o in page.orders]
            start = page.last_key
            if start is None:
                return seen
        raise AssertionError("the pages never ended")

    # When the queue is read in pages of one, two and three, all of it and the address holds
    everything = ["taobao-9001"] + sorted(f"taobao-{n}" for n in same + others) + ["taobao-9002"]
    odd = [i for i in everything if int(i.split("-")[1]) % 2]
    # Then every order comes once, by (time held, order id)
    for limit in (1, 2, 3):
        assert read_all(None, limit) == everything
        assert read_all(HoldReason.address_unresolved, limit) == odd


def test_an_order_that_left_the_status_between_pages_is_not_listed(ports: Ports) -> None:
    # Given four held orders and the first page of two
    for n in range(1, 5):
        ports.orders.create(_held(n, (HoldReason.buyer_note, None)))
    first = ports.queue.page(OrderStatus.held, None, 2)
    # When the third is released before the next page
    third = ports.orders.get("taobao-3")
    ports.orders.replace(third.model_copy(update={"status": OrderStatus.reserved, "holds": ()}), third.revision)
    rest = ports.queue.page(OrderStatus.held, None, 2, first.last_key)
    # Then the next page goes on after the first without it
    assert [o.order_id for o in first.orders] == ["taobao-1", "taobao-2"]
    assert [o.order_id for o in rest.orders] == ["taobao-4"]


def test_release_due_lists_held_orders_whose_timed_hold_ended(ports: Ports) -> None:
    # Given two pre-sale orders due at different times, one not due, and one no longer held
    ports.orders.create(_held(1, (HoldReason.presale_not_due, AT + timedelta(hours=2))))
    ports.orders.create(_held(2, (HoldReason.presale_not_due, AT + timedelta(hours=1))))
    ports.orders.create(_held(3, (HoldReason.presale_not_due, AT + timedelta(days=9))))
    released = _held(4, (HoldReason.presale_not_due, AT)).model_copy(update={"status": OrderStatus.reserved})
    ports.orders.create(released)
    # When asked at AT + 3 h / Then the due ones, earliest first
    assert ports.queue.release_due(AT + timedelta(hours=3), 10) == ["taobao-2", "taobao-1"]
    assert ports.queue.release_due(AT + timedelta(hours=3), 1) == ["taobao-2"]


def test_a_duplicate_key_in_the_transaction_rejects_another_order_within_the_window_only(ports: Ports) -> None:
    # Given an order stored with its keys
    first = make_order(order_id="taobao-1", channel_order_id="1", created_at=AT)
    assert ports.orders.commit(OrderCommit(order=first, expected_revision=None,
                                           fingerprints=claims(first, WINDOW))) is None
    # When the same buyer's same order comes 10 minutes later
    soon = make_order(order_id="taobao-2", channel_order_id="2", created_at=AT + timedelta(minutes=10))
    rejected = ports.orders.commit(OrderCommit(order=soon, expected_revision=None, fingerprints=claims(soon, WINDOW)))
    # Then it is rejected naming the holder of both keys (buyer and phone), and nothing is written
    assert rejected is not None and not rejected.order_conflict
    assert sorted(rejected.duplicates, key=lambda h: h.key) == sorted(
        (FingerprintHit(c.key, "taobao-1", AT) for c in claims(soon, WINDOW)), key=lambda h: h.key)
    assert ports.orders.get("taobao-2") is None
    # When the first order is written again with its keys (paid later), and the same order comes 2 hours later
    paid = first.model_copy(update={"revision": first.revision + 1})
    again = ports.orders.commit(OrderCommit(order=paid, expected_revision=first.revision,
                                            fingerprints=claims(first, WINDOW)))
    late = make_order(order_id="taobao-3", channel_order_id="3", created_at=AT + timedelta(hours=2))
    accepted = ports.orders.commit(OrderCommit(order=late, expected_revision=None, fingerprints=claims(late, WINDOW)))
    # Then an order is never its own duplicate, and outside the window there is no suspicion
    assert (again, accepted) == (None, None)
