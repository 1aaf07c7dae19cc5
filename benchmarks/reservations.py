"""Reservation benchmarks against AWS's DynamoDB Local, printed as one markdown table (`make bench`), every figure
beside its baseline measured in the same run.

Not timed tests: numbers depend on the machine, and DynamoDB Local is one JVM serialising its SQLite writes, so
the reservations/s rows measure OCP's code path and that engine on this machine: engine throughput on one process,
not DynamoDB's partition scaling (1 and 8 shards land on the same process; what sharding buys in DynamoDB is the
throughput model's row, from the per-item write limit). What must hold everywhere is in the table too: requests
and write units per order, and oversold units counted from the orders' own allocations against the stock pushed.

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

from benchmarks.capacity import PathUnits, order_path_units, realistic_orders, unit_rows
from benchmarks.throughput import (
    ITEM_WCU_PER_S,
    TRANSACTIONAL_WCU_PER_ITEM,
    hottest_status_key,
    reservations_per_shard,
    shards_needed,
)
from infra.local.dynamodb_local import DynamoDBLocal
from infra.local.stock_lab import StockLab, checked_order
from ocp.adapters.dynamodb.orders import order_from_item
from ocp.domain.clock import utc_now
from ocp.domain.inventory.policy import SkuPolicy, StockPolicy
from ocp.domain.inventory.reservation import ReservationState
from ocp.domain.inventory.stock import MAX_SHARDS
from ocp.domain.order.model import Order, OrderStatus
from ocp.domain.order.status_buckets import STATUS_BUCKETS
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
    """Units the orders' active allocations hold (read from the orders, not from the stock shards)."""
    oversold: int
    """Units promised to buyers beyond the stock pushed: reserved orders' quantities over `stock`."""
    unallocated: int
    """Units of reserved orders that no allocation covers (an order that would ship stock it never reserved)."""
    consistent: bool
    """The shards' reserved sum equals the ledger's and the orders' allocations; available = on_hand - reserved."""


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
        promised, allocated = _promised_and_allocated(lab)
        shard_items = [i for i in lab.scan("stock") if i["sku"] == SKU]
        shard_reserved = sum(int(i["reserved"]) for i in shard_items)
        ledger = sum(int(e["delta_reserved"]) for e in lab.scan("stock-ledger") if e["sku"] == SKU)
        consistent = ledger == shard_reserved == allocated and all(
            int(i["available"]) == int(i["on_hand"]) - int(i["reserved"]) for i in shard_items)
        return Burst(orders, stock, shards, seconds, allocated, max(0, promised - stock), promised - allocated,
                     consistent)
    finally:
        lab.drop_tables()


def _promised_and_allocated(lab: StockLab) -> tuple[int, int]:
    """From the orders: units of SKU that reserved orders will ship, and units their active allocations hold."""
    promised = allocated = 0
    for item in lab.scan("orders"):
        order = order_from_item(item)
        if order.status not in (OrderStatus.reserved, OrderStatus.dispatched):
            continue
        promised += sum(line.quantity for line in order.lines if line.sku == SKU)
        reservation = order.reservation
        if reservation is not None and reservation.state == ReservationState.active:
            allocated += sum(a.quantity for a in reservation.active_allocations() if a.sku == SKU)
    return promised, allocated


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


Row = tuple[str, str, str, str]
"""(benchmark, result, baseline from the same run, target)."""


def table(rows: list[Row]) -> str:
    lines = ["| benchmark | result | baseline (same run) | target |", "|---|---|---|---|"]
    lines += [f"| {name} | {result} | {baseline} | {target} |" for name, result, baseline, target in rows]
    return "\n".join(lines)


def request_rows(per_order: dict[str, tuple[float, float]]) -> list[Row]:
    happy_w, happy_r = per_order["reserved (happy path)"]
    return [(f"DynamoDB requests per order — {name}", f"{w:.2f} writes, {r:.2f} reads",
             "" if name.startswith("reserved") else f"happy path: {happy_w:.2f} writes, {happy_r:.2f} reads",
             "1 write, 0 reads" if name.startswith("reserved") else "")
            for name, (w, r) in per_order.items()]


def burst_rows(one: Burst, eight: Burst) -> list[Row]:
    def label(b: Burst) -> str:
        return f"{b.shards} shard{'s' if b.shards > 1 else ''}"

    def rate(b: Burst) -> str:
        return f"{b.reserved_units / b.seconds:.0f} reservations/s ({b.orders / b.seconds:.0f} orders/s)"

    def oversold(b: Burst) -> str:
        return (f"{b.oversold} (orders hold {b.reserved_units} units of stock {b.stock}; {b.unallocated} units "
                f"unallocated; shards, ledger and allocations agree: {b.consistent})")

    load = f"one SKU, {THREADS} threads, {one.orders} orders"
    return [
        (f"engine throughput, one DynamoDB Local process — {load}, {label(eight)} (not partition scaling)",
         rate(eight), f"{label(one)}: {rate(one)}", "none (one JVM; see the throughput model)"),
        (f"oversold units from the orders' allocations — {load}, {label(eight)}", oversold(eight),
         f"{label(one)}: {oversold(one)}", "0"),
    ]


def model_rows(units: PathUnits) -> list[Row]:
    status_key = units.priced.get("orders/by_status_bucket", 0.0)
    return [
        ("throughput model — shards for 10,000 orders/s on one SKU",
         f"{shards_needed(10_000)} (at 70% of {ITEM_WCU_PER_S} WCU/s per item, {TRANSACTIONAL_WCU_PER_ITEM} WCU per "
         f"transactional write: {reservations_per_shard():.0f} reservations/s per shard)",
         f"one unsharded item: {reservations_per_shard():.0f} reservations/s; {shards_needed(10_000, 1.0)} shards "
         "at 100%", f"≤ {MAX_SHARDS} (MAX_SHARDS)"),
        ("throughput model — hottest status index key at 10,000 orders/s",
         f"{hottest_status_key(10_000, STATUS_BUCKETS):,.0f} WCU/s over {STATUS_BUCKETS} buckets "
         f"(measured: {status_key:.1f} status index WCU per shipped order, over its 3 statuses)",
         f"keyed by status alone: {hottest_status_key(10_000, 1):,.0f} WCU/s", f"< {ITEM_WCU_PER_S * 0.7:,.0f}"),
    ]


def run(report: Callable[[str], None] = print, capacity_orders: int = 30) -> int:
    orders = realistic_orders(capacity_orders)
    with DynamoDBLocal() as ddb:
        legacy = order_path_units(ddb, orders, legacy=True)
        units = order_path_units(ddb, orders)
        per_order = requests_per_order(ddb)
        one = burst(ddb, orders=400, stock=300, shards=1)
        eight = burst(ddb, orders=400, stock=300, shards=8)
    rows = [*request_rows(per_order), *unit_rows(units, legacy), *burst_rows(one, eight), *model_rows(units)]
    report(table(rows))
    failed = any(b.oversold or b.unallocated or not b.consistent for b in (one, eight))
    happy_writes, happy_reads = per_order["reserved (happy path)"]
    failed = failed or happy_writes != 1 or happy_reads != 0
    return 1 if failed else 0
