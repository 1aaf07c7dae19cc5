"""Channel edits racing cancellations and stock pushes, on AWS's DynamoDB Local: an edit moves an order's
reservation in one transaction, a cancel releases it, a WMS push resets on-hand — whatever order they land in, the
books balance: each shard's reserved is what the live reservations hold, and the ledger explains every board."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from infra.local.dynamodb_local import DynamoDBLocal
from infra.local.stock_lab import StockLab, checked_order, synthetic_order
from ocp.domain.clock import utc_now
from ocp.domain.inventory.pushes import StockPush
from ocp.domain.inventory.stock import StockContention
from ocp.domain.order.model import Order, OrderStatus
from ocp.services.inventory.stock import ledger_view, push_stock
from ocp.services.order.processing import ProcessingDeps, store_order

pytestmark = pytest.mark.concurrency

SKU = "TEA-EDIT-1"
ORDERS = 20
THREADS = 8


@pytest.fixture
def rules_lab(dynamodb_local: DynamoDBLocal) -> Iterator[StockLab]:
    created = StockLab(dynamodb_local.client, dynamodb_local.resource, with_rules=True).create_tables()
    yield created
    created.drop_tables()


def _order(n: int, quantity: int, minutes: int = 0, **changes: object) -> Order:
    """Buyer n's paid order of `quantity`, as the channel shows it `minutes` after it was placed."""
    checked = checked_order(n, SKU)
    order = synthetic_order(n, SKU, quantity)
    return order.model_copy(update={
        "address": checked.address, "buyer_id": checked.buyer_id,
        "channel_updated_at": order.channel_updated_at + timedelta(minutes=minutes), **changes})


def _until_done(work: Callable[[], object]) -> None:
    """Retry what contention refused, as SQS redelivers it."""
    for _ in range(50):
        try:
            work()
            return
        except StockContention:
            continue
    raise AssertionError("still contended after 50 tries")


def test_edits_racing_cancellations_and_pushes_keep_the_books(rules_lab: StockLab) -> None:
    # Given 20 reserved orders of 2 units each, out of 100
    rules_lab.push("WH-GZ", SKU, on_hand=100)
    deps = rules_lab.processing()
    for n in range(1, ORDERS + 1):
        stored = store_order(_order(n, 2), utc_now(), deps)
        assert stored.order is not None and stored.order.status == OrderStatus.reserved
    # When, on 8 threads in a shuffled order, every order is edited to 3 units, half are cancelled by the channel,
    # and the WMS pushes new counts
    at = utc_now()
    jobs: list[Callable[[ProcessingDeps], object]] = []
    for n in range(1, ORDERS + 1):
        jobs.append(lambda d, n=n: store_order(_order(n, 3, minutes=1), at, d))
        if n % 2:
            jobs.append(lambda d, n=n: store_order(_order(n, 3, minutes=2, status=OrderStatus.cancelled,
                                                          cancelled_at=at), at, d))
    for version, on_hand in enumerate((120, 110, 130), start=2):  # a count older than one applied is ignored
        jobs.append(lambda d, v=version, h=on_hand: push_stock("WH-GZ", SKU, StockPush(on_hand=h, version=v),
                                                              rules_lab.inventory))
    random.Random(5).shuffle(jobs)
    workers = [rules_lab.processing() for _ in range(THREADS)]
    with ThreadPoolExecutor(THREADS) as pool:
        for future in [pool.submit(_until_done, lambda job=job, i=i: job(workers[i % THREADS]))
                       for i, job in enumerate(jobs)]:
            future.result()
    # Then every order ends reserved for 3 or cancelled with nothing held
    orders = [item for item in rules_lab.scan("orders") if item["lines"][0]["sku"] == SKU]
    live = {item["order_id"]: item for item in orders if item["status"] != "cancelled"}
    assert len(live) == ORDERS // 2
    assert {(i["reservation"]["state"], sum(a["quantity"] for a in i["reservation"]["allocations"]))
            for i in live.values()} == {("active", 3)}
    assert {i["reservation"]["state"] for i in orders if i["status"] == "cancelled"} == {"released"}
    # And the shards hold exactly the live reservations, on the last count pushed; the ledger explains each board
    shards = [item for item in rules_lab.scan("stock") if item.get("sku") == SKU and "reserved" in item]
    assert sum(int(s["reserved"]) for s in shards) == 3 * len(live)
    assert sum(int(s["on_hand"]) for s in shards) == 130
    assert all(w.explains_board for w in ledger_view(SKU, rules_lab.inventory).warehouses)
