"""The per-process cache of stock configuration: the stock policy and where each SKU is stocked.

The order processor's hot path reads nothing: the policy and each SKU's warehouses and shard counts come from
this cache, refreshed at most every `ttl_s` (like rules, "no database read per order"). A SKU seen for the
first time is loaded once. When an order is about to be held for lack of stock and what the cache knows about
its SKUs is older than `recheck_after_s`, the caller may `recheck` once: a warehouse or shard added since
then is found, and no order is held on stale knowledge.

It also remembers, for `sold_out_memo_s` (1 s), that a (warehouse, SKU) was found sold out on every shard. In a
flash sale after the sell-out, the orders that follow are held without touching the hot stock items at all
(otherwise each would cost a failed write on a shard and a read of the others). Holding never oversells; at
worst an order arriving within that second of a restock is held for an operator instead of reserved.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from ocp.domain.inventory.policy import StockPolicy


class StockConfigSource(Protocol):
    def policy(self) -> StockPolicy: ...

    def locations(self, sku: str) -> dict[str, int]: ...


class StockCatalog:
    def __init__(
        self,
        source: StockConfigSource,
        ttl_s: float = 30.0,
        recheck_after_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        sold_out_memo_s: float = 1.0,
    ) -> None:
        self._sold_out_memo_s = sold_out_memo_s
        self._sold_out: dict[tuple[str, str], float] = {}
        self._source = source
        self._ttl_s = ttl_s
        self._recheck_after_s = recheck_after_s
        self._clock = clock
        self._lock = threading.Lock()
        self._policy: tuple[float, StockPolicy] | None = None
        self._locations: dict[str, tuple[float, dict[str, int]]] = {}

    def policy(self) -> StockPolicy:
        with self._lock:
            now = self._clock()
            if self._policy is None or now - self._policy[0] > self._ttl_s:
                self._policy = (now, self._source.policy())
            return self._policy[1]

    def locations(self, skus: Iterable[str]) -> dict[str, dict[str, int]]:
        with self._lock:
            now = self._clock()
            for sku in dict.fromkeys(skus):
                cached = self._locations.get(sku)
                if cached is None or now - cached[0] > self._ttl_s:
                    self._locations[sku] = (now, self._source.locations(sku))
            return {sku: self._locations[sku][1] for sku in skus}

    def recheck(self, skus: Iterable[str]) -> bool:
        """Reload the SKUs whose cached locations are older than `recheck_after_s`; True if any changed."""
        changed = False
        with self._lock:
            now = self._clock()
            for sku in dict.fromkeys(skus):
                cached = self._locations.get(sku)
                if cached is not None and now - cached[0] <= self._recheck_after_s:
                    continue
                fresh = self._source.locations(sku)
                changed = changed or cached is None or cached[1] != fresh
                self._locations[sku] = (now, fresh)
        return changed

    def forget(self) -> None:
        with self._lock:
            self._policy = None
            self._locations.clear()
            self._sold_out.clear()

    def remember_sold_out(self, warehouse: str, sku: str) -> None:
        with self._lock:
            self._sold_out[(warehouse, sku)] = self._clock()

    def forget_sold_out(self, skus: Iterable[str]) -> None:
        """Stock of these SKUs arrived: what this process saw sold out no longer holds."""
        wanted = set(skus)
        with self._lock:
            for key in [key for key in self._sold_out if key[1] in wanted]:
                del self._sold_out[key]

    def sold_out(self, warehouse: str, sku: str) -> bool:
        """Found sold out on every shard within the last `sold_out_memo_s`."""
        with self._lock:
            seen = self._sold_out.get((warehouse, sku))
            return seen is not None and self._clock() - seen <= self._sold_out_memo_s
