"""Reservation benchmarks against AWS's DynamoDB Local, printed as a markdown table (`make bench`).

Not timed tests: numbers depend on the machine, and DynamoDB Local is one JVM serialising its SQLite writes,
so reservations/s here measure OCP's code path and the engine, not DynamoDB's partitions (1 and 8 shards land
on the same process). What must hold everywhere is in the table too: requests per order and oversold units.

Orders go the order processor's whole way: anomaly checks, gift and routing rules from per-worker
caches over their tables, and the duplicate check's keys claimed in the order's own transaction. The orders pass
every check (a real district, a mobile, a buyer each), except in the rows that measure a hold.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from benchmarks.throughput import ITEM_WCU_PER_S, TRANSACTIONAL_WCU_PER_ITEM, reservations_per_shard, shards_needed
from infra.local.dynamodb_local import DynamoDBLocal
from infra.local.stock_lab import StockLab, checked_order
from ocp.domain.clock import utc_now
from ocp.domain.inventory.policy import SkuPolicy, StockPolicy
from ocp.domain.order.model import Order
from ocp.services.inventory.stock import put_policy
from ocp.services.order.processing import ProcessingDeps, store_order

SKU = "BENCH-HOT-1"
THREADS = 16


@dataclass
class Burst:
    orders: int
    stock: int
    shards: int
    seconds: float
    reserved_units: int
    oversold: int
    consistent: bool


def _lab(ddb: DynamoDBLocal) -> StockLab:
    return StockLab(ddb.client, ddb.resource, with_rules=True).create_tables()


def _warm(deps: ProcessingDeps, lab: StockLab) -> None:
    """A warm process: its stock configuration, rules, catalog and warehouses are cached."""
    lab.catalog.policy(), lab.catalog.locations([SKU])
    assert deps.rules is not None
    deps.rules.rules.book(), deps.rules.catalog.get_many([SKU]), deps.rules.warehouses.facts()


def requests_per_order(ddb: DynamoDBLocal, samples: int = 50) -> dict[str, tuple[float, float]]:
    """(writes, reads) per order: reserved (happy path), held by the checks, a duplicate suspect, held after a
    sell-out, a redelivered message."""
    lab = _lab(ddb)
    try:
        lab.push("WH-GZ", SKU, on_hand=samples)
        deps = lab.processing()
        _warm(deps, lab)

        def measure(orders: list[Order]) -> tuple[float, float]:
            lab.counter.reset()
            for order in orders:
                store_order(order, utc_now(), deps)
            return lab.counter.writes / len(orders), lab.counter.reads / len(orders)

        happy = measure([checked_order(n, SKU) for n in range(1, samples)])
        checks = measure([checked_order(n, SKU, address={"province": "火星省"})
                          for n in range(10_000, 10_000 + samples)])
        suspects = measure([checked_order(n, SKU, order_id=f"shopify-{20_000 + n}", channel_order_id=str(20_000 + n))
                            for n in range(1, samples)])
        store_order(checked_order(samples, SKU), utc_now(), deps)  # the last unit
        store_order(checked_order(samples + 1, SKU), utc_now(), deps)  # finds it sold out
        sold_out = measure([checked_order(n, SKU) for n in range(samples + 2, 2 * samples)])
        duplicates = measure([checked_order(n, SKU) for n in range(1, samples)])
        return {"reserved (happy path)": happy, "held by the checks (nonsense address)": checks,
                "duplicate suspect (same buyer, address, items)": suspects, "held after the sell-out": sold_out,
                "duplicate delivery": duplicates}
    finally:
        lab.drop_tables()


def burst(ddb: DynamoDBLocal, *, orders: int, stock: int, shards: int) -> Burst:
    """`orders` one-unit orders for one SKU on THREADS workers; time, units reserved, oversold units."""
    lab = _lab(ddb)
    try:
        if shards > 1:
            put_policy(StockPolicy(skus={SKU: SkuPolicy(shards=shards)}), lab.inventory)
        lab.push("WH-GZ", SKU, on_hand=stock)
        work: queue.Queue[Order] = queue.Queue()
        for n in range(1, orders + 1):
            work.put(checked_order(n, SKU))
        workers = [lab.processing() for _ in range(THREADS)]
        for worker, deps in enumerate(workers):  # warm each worker's caches and connections outside the clock
            _warm(deps, lab)
            store_order(checked_order(100_000 + worker, "WARMUP"), utc_now(), deps)
        started = time.perf_counter()
        _run(workers, work)
        seconds = time.perf_counter() - started
        shard_items = [i for i in lab.scan("stock") if i["sku"] == SKU]
        reserved = sum(int(i["reserved"]) for i in shard_items)
        ledger = sum(int(e["delta_reserved"]) for e in lab.scan("stock-ledger") if e["sku"] == SKU)
        consistent = ledger == reserved and all(
            int(i["available"]) == int(i["on_hand"]) - int(i["reserved"]) for i in shard_items)
        return Burst(orders, stock, shards, seconds, reserved, max(0, reserved - stock), consistent)
    finally:
        lab.drop_tables()


def _run(workers: list[ProcessingDeps], work: queue.Queue[Order]) -> None:
    def loop(deps: ProcessingDeps) -> None:
        while True:
            try:
                order = work.get_nowait()
            except queue.Empty:
                return
            store_order(order, utc_now(), deps)

    threads = [threading.Thread(target=loop, args=(deps,)) for deps in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def table(rows: list[tuple[str, str, str]]) -> str:
    lines = ["| benchmark | result | target |", "|---|---|---|"]
    lines += [f"| {name} | {result} | {target} |" for name, result, target in rows]
    return "\n".join(lines)


def run(report: Callable[[str], None] = print) -> int:
    with DynamoDBLocal() as ddb:
        per_order = requests_per_order(ddb)
        one = burst(ddb, orders=400, stock=300, shards=1)
        eight = burst(ddb, orders=400, stock=300, shards=8)
    rows = [
        (f"DynamoDB requests per order — {name}", f"{w:.2f} writes, {r:.2f} reads",
         "1 write, 0 reads" if name.startswith("reserved") else "")
        for name, (w, r) in per_order.items()
    ]
    for b in (one, eight):
        label = f"one SKU, {b.shards} shard{'s' if b.shards > 1 else ''}, {THREADS} threads, {b.orders} orders"
        rows.append((f"reservations/s — {label} (DynamoDB Local)",
                     f"{b.reserved_units / b.seconds:.0f} reservations/s ({b.orders / b.seconds:.0f} orders/s)",
                     ""))
        rows.append((f"oversold units — {label}, stock {b.stock}",
                     f"{b.oversold} (reserved {b.reserved_units}; ledger and shards consistent: {b.consistent})",
                     "0"))
    rows.append((
        "throughput model — shards for 10,000 orders/s on one SKU",
        f"{shards_needed(10_000)} (at 70% of {ITEM_WCU_PER_S} WCU/s per item, {TRANSACTIONAL_WCU_PER_ITEM} WCU per "
        f"transactional write: {reservations_per_shard():.0f} reservations/s per shard; "
        f"{shards_needed(10_000, 1.0)} at 100%)",
        "≤ 32 (MAX_SHARDS)",
    ))
    report(table(rows))
    failed = one.oversold or eight.oversold or not (one.consistent and eight.consistent)
    happy_writes, happy_reads = per_order["reserved (happy path)"]
    failed = failed or happy_writes != 1 or happy_reads != 0
    return 1 if failed else 0
