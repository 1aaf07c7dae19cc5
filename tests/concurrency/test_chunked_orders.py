"""Orders too large for one transaction, against AWS's DynamoDB Local (whose transactions take 10 items: a 12-line
order needs 25): reserved in chunks, a reservation killed between chunks and settled by its redelivery racing the
sweeper, and a short SKU giving every chunk back — the books balanced every time."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from infra.local.stock_lab import StockLab, synthetic_order
from ocp.domain.clock import utc_now
from ocp.domain.order.model import Order
from ocp.services.inventory.expiry import OrderStockDeps, release_expired
from ocp.services.order.processing import store_order

pytestmark = pytest.mark.concurrency

LINES = [(f"BIG-{n:02}", 1) for n in range(12)]
"""25 items: 3 chunks of at most 4 movements (1 intent check + 8 items) at DynamoDB Local's 10-item limit."""


class Killed(Exception):
    """The Lambda died (timeout, lost container) between two writes of the reservation."""


class KillAfter:
    """A DynamoDB client whose process dies on its `writes + 1`-th `TransactWriteItems`."""

    def __init__(self, client: Any, writes: int) -> None:
        self._client = client
        self._left = writes

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def transact_write_items(self, **kwargs: Any) -> Any:
        if self._left == 0:
            raise Killed
        self._left -= 1
        return self._client.transact_write_items(**kwargs)


@pytest.fixture
def big(lab: StockLab) -> StockLab:
    lab.transaction_items = 10
    for sku, _ in LINES:
        lab.push("WH-GZ", sku, on_hand=3)
    lab.catalog.policy()
    lab.catalog.locations([sku for sku, _ in LINES])  # warm, as a running processor is
    return lab


def _books(lab: StockLab) -> dict[str, Any]:
    """Every SKU's shard numbers and ledger sums, checked to agree; what the orders hold."""
    shards = {item["sku"]: item for item in lab.scan("stock") if item["sku"].startswith("BIG-")}
    ledger = [e for e in lab.scan("stock-ledger") if e["sku"].startswith("BIG-")]
    for sku, shard in shards.items():
        entries = [e for e in ledger if e["sku"] == sku]
        assert int(shard["available"]) == int(shard["on_hand"]) - int(shard["reserved"]), shard
        assert sum(int(e["delta_reserved"]) for e in entries) == int(shard["reserved"]), (sku, entries)
        assert sum(int(e["delta_available"]) for e in entries) == int(shard["available"]), (sku, entries)
    orders = lab.scan("orders")
    return {
        "reserved": sum(int(s["reserved"]) for s in shards.values()),
        "statuses": Counter(str(o["status"]) for o in orders),
        "intents": sum(1 for o in orders if o.get("reservation_intent")),
        "held_by_orders": sum(int(a["quantity"]) for o in orders
                              if o.get("reservation") and o["reservation"]["state"] == "active"
                              for a in o["reservation"]["allocations"]),
        "kinds": Counter(str(e["kind"]) for e in ledger if e.get("order_id")),
    }


def _order(number: int = 1) -> Order:
    return synthetic_order(number, "BIG-00", lines=LINES)


def test_a_12_line_order_is_reserved_in_three_chunks_with_no_read(big: StockLab) -> None:
    big.counter.reset()
    stored = store_order(_order(), utc_now(), big.processing()).order
    assert stored is not None and stored.status == "reserved" and stored.reservation_intent is None
    assert (big.counter.writes, big.counter.reads) == (5, 0)  # intent, 3 chunks, final
    books = _books(big)
    assert (books["reserved"], books["held_by_orders"], books["intents"]) == (12, 12, 0)


@pytest.mark.parametrize("writes", [1, 2, 3, 4])
def test_a_reservation_killed_between_chunks_converges_when_redelivered_while_the_sweeper_runs(
        big: StockLab, writes: int) -> None:
    # Given a processor killed after `writes` of its 5 writes (intent, chunks)
    big.wrap_client = lambda client: KillAfter(client, writes)
    with pytest.raises(Killed):
        store_order(_order(), utc_now(), big.processing())
    big.wrap_client = lambda client: client
    stuck = _books(big)
    assert stuck["intents"] == 1 and stuck["reserved"] == min(4 * (writes - 1), 12)
    # When SQS redelivers the message twice at once while the sweeper (past the grace) runs
    later = utc_now() + timedelta(minutes=3)
    sweeper = big.orders_store()
    runs: list[Callable[[], Any]] = [
        lambda: store_order(_order(), utc_now(), big.processing()),
        lambda: store_order(_order(), utc_now(), big.processing()),
        lambda: release_expired(sweeper, OrderStockDeps(orders=sweeper, now=lambda: later)),
    ]
    errors = _race(runs)
    # Then (whoever won each step) the order is reserved once with all of its stock and the ledger explains it
    assert all(type(e).__name__ == "ConcurrentModification" for e in errors), errors
    _settle_leftovers(big)
    books = _books(big)
    assert books["statuses"] == Counter({"reserved": 1}) and books["intents"] == 0
    assert books["reserved"] == books["held_by_orders"] == 12
    assert books["kinds"] == Counter({"reserve": 12})


def test_a_killed_reservation_whose_stock_went_meanwhile_is_undone_by_the_sweeper(big: StockLab) -> None:
    # Given a processor killed after its first chunk, and BIG-09 (third chunk) sold to another order meanwhile
    big.wrap_client = lambda client: KillAfter(client, 2)
    with pytest.raises(Killed):
        store_order(_order(), utc_now(), big.processing())
    big.wrap_client = lambda client: client
    for number in (2, 3, 4):
        store_order(synthetic_order(number, "BIG-09"), utc_now(), big.processing())
    # When the sweeper finds the intent
    later = utc_now() + timedelta(minutes=3)
    sweeper = big.orders_store()
    assert release_expired(sweeper, OrderStockDeps(orders=sweeper, now=lambda: later)).settled == ["shopify-1"]
    # Then the big order holds nothing and is held for the SKU; only the three small orders hold stock
    books = _books(big)
    assert books["statuses"] == Counter({"reserved": 3, "held": 1}) and books["intents"] == 0
    assert books["reserved"] == books["held_by_orders"] == 3
    [held] = [o for o in big.scan("orders") if o["status"] == "held"]
    assert [h["detail"] for h in held["holds"]] == ["BIG-09 needs 1, 0 available"]


def test_a_short_sku_gives_every_chunk_back(big: StockLab) -> None:
    big.push("WH-GZ", "BIG-10", on_hand=0, version=2)
    stored = store_order(_order(), utc_now(), big.processing()).order
    assert stored is not None and stored.status == "held"
    books = _books(big)
    assert books["reserved"] == books["held_by_orders"] == 0 and books["intents"] == 0
    assert books["kinds"] == Counter({"reserve": 8, "release": 8})  # two chunks in, two given back


def _race(runs: list[Callable[[], Any]]) -> list[BaseException]:
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(runs))

    def run(job: Callable[[], Any]) -> None:
        barrier.wait()
        try:
            job()
        except BaseException as exc:  # collected: a loser may give up for SQS to redeliver
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(job,)) for job in runs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return errors


def _settle_leftovers(lab: StockLab) -> None:
    """What SQS would do for a delivery that gave up: deliver it once more."""
    if _books(lab)["intents"]:
        store_order(_order(), utc_now(), lab.processing())
