"""Zero oversell under a burst: the real processing and reservation code, many threads, one hot SKU, retried and
duplicated deliveries, against AWS's DynamoDB Local. Conflicts and throttling are injected (DynamoDB Local never
produces them)."""

from __future__ import annotations

import queue
import random
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from infra.local.stock_lab import StockLab, synthetic_order
from ocp.adapters.dynamodb.items import to_attr
from ocp.adapters.dynamodb.transactions import RetryPolicy, TransactStats, transact
from ocp.domain.clock import utc_now
from ocp.domain.inventory.policy import SkuPolicy, StockPolicy
from ocp.domain.inventory.stock import StockContention
from ocp.domain.order.ingest import first_capture
from ocp.domain.order.model import Order
from ocp.services.inventory.stock import put_policy
from ocp.services.order.processing import Outcome, ProcessingDeps, store_order
from tests.concurrency.conftest import FaultyClient

pytestmark = pytest.mark.concurrency

SKU = "LIVE-HOT-1"
THREADS = 16


def _burst(lab: StockLab, orders: list[Order], *, deliveries: int = 2, threads: int = THREADS,
           seed: int = 7) -> Counter[str]:
    """Process every order `deliveries` times, shuffled, on `threads` workers; a delivery that fails with
    `StockContention` goes back on the queue, as SQS redelivers it. The outcomes, counted."""
    work: queue.Queue[Order] = queue.Queue()
    batch = [order for order in orders for _ in range(deliveries)]
    random.Random(seed).shuffle(batch)
    for order in batch:
        work.put(order)
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()
    errors: list[BaseException] = []

    workers = [lab.processing() for _ in range(threads)]  # own clients per worker, like one container each

    def worker(deps: ProcessingDeps) -> None:
        while True:
            try:
                order = work.get_nowait()
            except queue.Empty:
                return
            try:
                result = store_order(order, utc_now(), deps)
            except StockContention:
                work.put(order)  # redelivered later
                with lock:
                    outcomes["redelivered"] += 1
                continue
            except BaseException as exc:  # pragma: no cover - surfaced by the assertion below
                errors.append(exc)
                return
            with lock:
                outcomes[result.outcome.value] += 1

    pool = [threading.Thread(target=worker, args=(deps,)) for deps in workers]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(timeout=120)
    assert errors == []
    return outcomes


def _books(lab: StockLab, sku: str) -> dict[str, Any]:
    """Everything the tables say about `sku`, checked for internal consistency."""
    shards = [item for item in lab.scan("stock") if item["sku"] == sku]
    for shard in shards:
        assert shard["available"] == shard["on_hand"] - shard["reserved"], shard
    ledger = [entry for entry in lab.scan("stock-ledger") if entry["sku"] == sku]
    orders = lab.scan("orders")
    statuses = Counter(str(order["status"]) for order in orders)
    reserved_units = sum(
        int(a["quantity"]) for o in orders if o.get("reservation") and o["reservation"]["state"] == "active"
        for a in o["reservation"]["allocations"] if a["sku"] == sku
    )
    return {
        "on_hand": sum(int(s["on_hand"]) for s in shards), "reserved": sum(int(s["reserved"]) for s in shards),
        "available": sum(int(s["available"]) for s in shards), "shards": len(shards),
        "ledger_reserved": sum(int(e["delta_reserved"]) for e in ledger),
        "ledger_on_hand": sum(int(e["delta_on_hand"]) for e in ledger),
        "ledger_available": sum(int(e["delta_available"]) for e in ledger),
        "orders": len(orders), "order_ids": len({o["order_id"] for o in orders}), "statuses": statuses,
        "reserved_units": reserved_units, "holds": Counter(h["reason"] for o in orders for h in o.get("holds", [])),
    }


def _assert_exact(books: dict[str, Any], stock: int, orders: int) -> None:
    assert books["reserved"] == stock, books
    assert books["available"] == 0, books
    assert books["on_hand"] == stock
    assert books["statuses"] == Counter({"reserved": stock, "held": orders - stock}), books
    assert books["holds"] == Counter({"insufficient_stock": orders - stock})
    assert books["orders"] == books["order_ids"] == orders, "no order is stored twice"
    assert books["reserved_units"] == stock, "the orders' reservations account for every reserved unit"
    # The ledger explains the board: its sums are the numbers.
    assert books["ledger_reserved"] == books["on_hand"] - books["available"] == stock
    assert (books["ledger_on_hand"], books["ledger_available"]) == (books["on_hand"], books["available"])


def test_sixteen_threads_with_duplicate_deliveries_reserve_exactly_the_stock(lab: StockLab) -> None:
    # Given 40 units of one SKU in one warehouse, and 100 one-unit orders, each delivered twice
    lab.push("WH-GZ", SKU, on_hand=40)
    orders = [synthetic_order(n, SKU) for n in range(1, 101)]
    # When 16 workers process the shuffled deliveries at once
    outcomes = _burst(lab, orders)
    # Then exactly 40 are reserved, the other 60 held, every order stored once, duplicates changed nothing
    _assert_exact(_books(lab, SKU), stock=40, orders=100)
    assert outcomes["created"] == 100
    assert outcomes["duplicate"] == 100


def test_eight_shards_spread_the_sku_and_still_reserve_exactly_the_stock(lab: StockLab) -> None:
    # Given the policy splits the SKU into 8 shards and the WMS pushes 40 units (5 per shard)
    put_policy(StockPolicy(skus={SKU: SkuPolicy(shards=8)}), lab.inventory)
    lab.push("WH-GZ", SKU, on_hand=40)
    assert sorted(int(s["available"]) for s in lab.scan("stock")) == [5] * 8
    orders = [synthetic_order(n, SKU) for n in range(1, 81)]
    # When 16 workers process every order twice
    _burst(lab, orders)
    # Then every shard is drained — orders fell back to other shards before being declared short
    books = _books(lab, SKU)
    assert books["shards"] == 8
    _assert_exact(books, stock=40, orders=80)
    held = [o for o in lab.scan("orders") if o["status"] == "held"]
    assert {h["detail"] for o in held for h in o["holds"]} == {f"{SKU} needs 1, 0 available"}


def test_injected_conflicts_and_throttling_are_retried_with_backoff_and_change_nothing(lab: StockLab) -> None:
    # Given every order store's transactions fail 25% of the time with a conflict and 5% with throttling
    faulty: list[FaultyClient] = []

    def wrap(client: Any) -> FaultyClient:
        faulty.append(FaultyClient(client, conflict_rate=0.25, throttle_rate=0.05, seed=len(faulty)))
        return faulty[-1]

    lab.wrap_client = wrap
    lab.retry = lambda: RetryPolicy(attempts=6, base_s=0.001, cap_s=0.02)
    put_policy(StockPolicy(skus={SKU: SkuPolicy(shards=4)}), lab.inventory)
    lab.push("WH-GZ", SKU, on_hand=30)
    orders = [synthetic_order(n, SKU) for n in range(1, 91)]
    # When 12 workers process every order twice
    outcomes = _burst(lab, orders, threads=12)
    # Then the books are exact, and the retries were real
    _assert_exact(_books(lab, SKU), stock=30, orders=90)
    injected = sum(sum(f.injected.values()) for f in faulty)
    assert injected > 20
    assert lab.stats.retry_reasons.keys() <= {"TransactionConflict", "ThrottlingException"}
    assert lab.stats.retries + outcomes["redelivered"] * 6 >= injected


def test_a_line_bigger_than_any_shard_is_split_across_shards(lab: StockLab) -> None:
    # Given 4 shards holding 2 units each
    put_policy(StockPolicy(skus={SKU: SkuPolicy(shards=4)}), lab.inventory)
    lab.push("WH-GZ", SKU, on_hand=8)
    deps = lab.processing()
    # When one order wants 5, then another wants 4
    first = store_order(synthetic_order(1, SKU, 5), utc_now(), deps).order
    second = store_order(synthetic_order(2, SKU, 4), utc_now(), deps).order
    # Then the first is reserved across three shards, the second is held with the true remainder
    assert first is not None and first.status == "reserved" and first.reservation is not None
    assert sum(a.quantity for a in first.reservation.allocations) == 5
    assert len({a.shard for a in first.reservation.allocations}) == 3
    assert second is not None and second.status == "held"
    assert second.holds[-1].detail == f"{SKU} needs 4, 3 available"
    assert _books(lab, SKU)["reserved"] == 5


def test_a_buyers_purchase_limit_holds_under_concurrency(lab: StockLab) -> None:
    # Given plenty of stock and a limit of 2 per buyer
    put_policy(StockPolicy(skus={SKU: SkuPolicy(purchase_limit=2)}), lab.inventory)
    lab.push("WH-GZ", SKU, on_hand=100)
    orders = [synthetic_order(n, SKU, buyer_id="buyer-42") for n in range(1, 21)]
    orders += [synthetic_order(100 + n, SKU, buyer_id=f"buyer-{n}") for n in range(1, 6)]
    # When one buyer's 20 orders and five other buyers' orders race
    _burst(lab, orders)
    # Then the buyer got exactly 2, the others theirs, and the counters agree
    stored = {o["order_id"]: o for o in lab.scan("orders")}
    mine = [o for o in stored.values() if o.get("buyer_id") == "buyer-42"]
    assert Counter(o["status"] for o in mine) == Counter({"reserved": 2, "held": 18})
    assert {h["reason"] for o in mine for h in o["holds"]} == {"purchase_limit_exceeded"}
    assert all(stored[f"shopify-{100 + n}"]["status"] == "reserved" for n in range(1, 6))
    counters = {c["pk"]: int(c["bought"]) for c in lab.scan("inventory") if str(c["pk"]).startswith("limit#")}
    assert counters[f"limit#{SKU}#buyer-42"] == 2
    assert _books(lab, SKU)["reserved"] == 7


def test_wms_pushes_racing_reservations_keep_every_shard_consistent(lab: StockLab) -> None:
    # Given 4 shards and a WMS that keeps pushing new absolute numbers while orders reserve
    put_policy(StockPolicy(skus={SKU: SkuPolicy(shards=4)}), lab.inventory)
    lab.push("WH-GZ", SKU, on_hand=60)
    stop = threading.Event()
    pushed: list[int] = []

    def wms() -> None:
        version = 2
        while not stop.is_set() and version < 40:
            lab.push("WH-GZ", SKU, on_hand=60 + version, version=version)
            pushed.append(60 + version)
            version += 1

    pusher = threading.Thread(target=wms)
    pusher.start()
    try:
        _burst(lab, [synthetic_order(n, SKU) for n in range(1, 81)], threads=8)
    finally:
        stop.set()
        pusher.join()
    # Then on-hand is the last pushed number, reserved is what the orders hold, and the ledger explains both
    books = _books(lab, SKU)
    assert books["on_hand"] == pushed[-1]
    assert books["reserved"] == books["reserved_units"] == books["statuses"]["reserved"]
    assert books["available"] == books["on_hand"] - books["reserved"]
    assert (books["ledger_on_hand"], books["ledger_reserved"]) == (books["on_hand"], books["reserved"])


def test_happy_path_is_one_write_and_no_read(lab: StockLab) -> None:
    # Given stock, and a processor whose configuration cache is warm
    lab.push("WH-GZ", SKU, on_hand=10)
    deps = lab.processing()
    store_order(synthetic_order(1, SKU), utc_now(), deps)
    lab.counter.reset()
    # When the next order is stored
    result = store_order(synthetic_order(2, SKU), utc_now(), deps)
    # Then it cost exactly one DynamoDB request: the transaction
    assert result.outcome == Outcome.created and result.order is not None and result.order.status == "reserved"
    assert dict(lab.counter.counts) == {"TransactWriteItems": 1}


def test_after_a_sell_out_the_next_orders_are_held_without_touching_the_hot_shards(lab: StockLab) -> None:
    # Given 8 shards of 1 unit, all sold
    put_policy(StockPolicy(skus={SKU: SkuPolicy(shards=8)}), lab.inventory)
    lab.push("WH-GZ", SKU, on_hand=8)
    deps = lab.processing()
    for n in range(1, 10):
        store_order(synthetic_order(n, SKU), utc_now(), deps)
    assert _books(lab, SKU)["available"] == 0
    lab.counter.reset()
    # When another order arrives within a second of finding the SKU sold out
    result = store_order(synthetic_order(10, SKU), utc_now(), deps)
    # Then it is held by its one write (the order item) and no read: the shards see no traffic at all
    assert result.order is not None and result.order.holds[-1].detail == f"{SKU} needs 1, 0 available"
    assert dict(lab.counter.counts) == {"TransactWriteItems": 1}


# ---- the transaction helper's retry rules, on the real engine ----------------------------------------------------


def _tx(lab: StockLab, key: str) -> list[dict[str, Any]]:
    return [{"Put": {"TableName": lab.names["inventory"],
                     "Item": {"pk": to_attr(key), "sk": to_attr("x")},
                     "ConditionExpression": "attribute_not_exists(pk)"}}]


def test_transact_retries_transient_failures_then_gives_up_as_contention(lab: StockLab) -> None:
    # Given retries that sleep 1.0 × min(cap, base × 2^n)
    sleeps: list[float] = []
    policy: Callable[[], RetryPolicy] = lambda: RetryPolicy(attempts=4, base_s=0.01, cap_s=0.05,  # noqa: E731
                                                            sleep=sleeps.append, random=lambda: 1.0)
    # Given a client that always conflicts / conflicts 30% of the time
    always = FaultyClient(lab.client, conflict_rate=1.0, throttle_rate=0.0, seed=1)
    sometimes = FaultyClient(lab.client, conflict_rate=0.3, throttle_rate=0.0, seed=3)
    stats = TransactStats()
    # When / Then: always → StockContention after 4 attempts, with growing, capped backoff
    with pytest.raises(StockContention):
        transact(always, _tx(lab, "a"), policy(), stats)
    assert stats.calls == 4 and sleeps == [0.02, 0.04, 0.05]
    # and sometimes → written; a second write of the same key is a condition failure, returned at once
    assert transact(sometimes, _tx(lab, "b"), policy()) is None
    stats = TransactStats()
    reasons = transact(lab.client, _tx(lab, "b"), policy(), stats)
    assert reasons is not None and reasons[0]["Code"] == "ConditionalCheckFailed" and stats.calls == 1


def test_replaying_a_committed_order_after_the_token_window_is_still_refused(lab: StockLab) -> None:
    # Given an order reserved once
    lab.push("WH-GZ", SKU, on_hand=5)
    deps = lab.processing()
    order = first_capture(synthetic_order(1, SKU, 2), utc_now(), utc_now())
    assert store_order(order, utc_now(), deps).outcome == Outcome.created
    # When the very same order comes again (new request token: as after DynamoDB's 10-minute window)
    again = store_order(order, utc_now(), deps)
    # Then the conditional order item refuses it: stock moved once
    assert again.outcome == Outcome.duplicate
    assert _books(lab, SKU)["reserved"] == 2
