"""The rules in the order path under a burst, on AWS's DynamoDB Local: every buyer's order placed twice
(two order ids, same buyer, address and items) and each delivered twice, on many threads, against too little
stock. The duplicate check lives in the order's own transaction, so it holds under concurrency: no buyer gets two
reserved orders, nothing is oversold, and no order needed a read to be checked."""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from infra.local.dynamodb_local import DynamoDBLocal
from infra.local.stock_lab import READS, RequestCounter, StockLab, checked_order
from ocp.domain.order.model import HoldReason, Order
from tests.concurrency.test_oversell import _burst

pytestmark = pytest.mark.concurrency

SKU = "LIVE-HOT-1"
STOCK = 30
BUYERS = 40


class TableReads(RequestCounter):
    """The lab's request counter, also counting reads per table (from each request's body)."""

    def __init__(self) -> None:
        super().__init__()
        self.reads_of: Counter[str] = Counter()
        self._tables_lock = threading.Lock()

    def _count(self, request: Any = None, event_name: str = "", **kwargs: Any) -> None:
        super()._count(request, event_name, **kwargs)
        if event_name.rsplit(".", 1)[-1] not in READS or request is None or not request.body:
            return
        body = json.loads(request.body)
        tables = ([body["TableName"]] if "TableName" in body else list(body.get("RequestItems") or {})
                  + [i["Get"]["TableName"] for i in body.get("TransactItems") or []])
        with self._tables_lock:
            self.reads_of.update(tables)


@pytest.fixture
def rules_lab(dynamodb_local: DynamoDBLocal) -> Iterator[StockLab]:
    created = StockLab(dynamodb_local.client, dynamodb_local.resource, with_rules=True,
                       counter=TableReads()).create_tables()
    yield created
    created.drop_tables()


def test_a_buyer_placing_the_same_order_twice_gets_one_reserved_even_when_both_race(rules_lab: StockLab) -> None:
    # Given 30 units, and 40 buyers who each place the same order twice (a double tap), each delivered twice
    rules_lab.push("WH-GZ", SKU, on_hand=STOCK)
    orders: list[Order] = []
    for n in range(1, BUYERS + 1):
        orders.append(checked_order(n, SKU))
        orders.append(checked_order(n, SKU, order_id=f"shopify-{1000 + n}", channel_order_id=str(1000 + n)))
    counter = rules_lab.counter
    assert isinstance(counter, TableReads)
    counter.reset()
    counter.reads_of.clear()
    # When they are all processed at once on 16 threads
    outcomes = _burst(rules_lab, orders, deliveries=2)
    # Then every order is stored once, and each buyer has at most one reserved order
    assert outcomes["created"] == 2 * BUYERS
    # And no order needed a read to be checked: the duplicate-check keys were never read, and the orders table was
    # read once per second delivery of an order (found stored: a duplicate), never for a first one
    assert outcomes["duplicate"] == 2 * BUYERS
    assert counter.reads_of[rules_lab.names["order-fingerprints"]] == 0
    assert counter.reads_of[rules_lab.names["orders"]] == outcomes["duplicate"], counter.reads_of
    stored = [item for item in rules_lab.scan("orders") if item["lines"][0]["sku"] == SKU]
    assert len(stored) == 2 * BUYERS
    reserved = Counter(item["buyer_id"] for item in stored if item["status"] == "reserved")
    assert sum(reserved.values()) == STOCK and max(reserved.values()) == 1
    # And each held one says why: every buyer's second order is a suspect, and the first orders beyond the stock
    # are short of it
    reasons = Counter(hold["reason"] for item in stored if item["status"] == "held" for hold in item["holds"])
    assert reasons == {HoldReason.duplicate_suspect.value: BUYERS, HoldReason.insufficient_stock.value: BUYERS - STOCK}
    # And the stock: exactly what was there reserved, never more
    shards = [item for item in rules_lab.scan("stock") if item["sku"] == SKU]
    assert sum(int(s["reserved"]) for s in shards) == STOCK
