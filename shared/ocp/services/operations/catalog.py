"""The product catalog behind `PUT/GET /catalog/{sku}` and `POST /catalog:bulk`, and a per-process cache of it
for the order processor (the catalog is a rule input: it is read from memory, not per order)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from ocp.base_model import OcpModel
from ocp.domain.clock import iso
from ocp.domain.operations.catalog import (
    MAX_BULK_ITEMS,
    CatalogItem,
    CatalogItemNotFound,
    InvalidBulkRequest,
    InvalidCatalogItem,
    parse_item,
)
from ocp.domain.problems import Problem

if TYPE_CHECKING:
    from ocp.ports import CatalogStore


def put_item(store: CatalogStore, sku: str, body: Any, now: datetime) -> CatalogItem:
    item = parse_item(sku, body, updated_at=iso(now))
    store.put(item)
    return item


def get_item(store: CatalogStore, sku: str) -> CatalogItem:
    item = store.get(sku)
    if item is None:
        raise CatalogItemNotFound(f"no catalog item {sku!r}")
    return item


class BulkItemResult(OcpModel):
    index: int
    sku: str | None
    status: Literal["stored", "rejected"]
    problems: list[dict[str, str]] = []


class BulkResult(OcpModel):
    stored: int
    rejected: int
    results: list[BulkItemResult]


def bulk_put(store: CatalogStore, items: Any, now: datetime) -> BulkResult:
    """Validate every item on its own: the valid ones are stored, each invalid one is reported with all its
    problems (a SKU listed twice is rejected the second time)."""
    if not isinstance(items, list) or not 1 <= len(items) <= MAX_BULK_ITEMS:
        raise InvalidBulkRequest(
            f'give {{"items": [...]}} with 1 to {MAX_BULK_ITEMS} catalog items, each with its "sku"'
        )
    results: list[BulkItemResult] = []
    accepted: list[CatalogItem] = []
    seen: dict[str, int] = {}
    for index, raw in enumerate(items):
        sku = raw.get("sku") if isinstance(raw, dict) else None
        sku_text = sku if isinstance(sku, str) else None
        try:
            if sku_text is None:
                raise InvalidCatalogItem("?", [Problem(path="sku", problem="each item needs its sku (a string)")])
            if sku_text in seen:
                raise InvalidCatalogItem(sku_text, [Problem(path="sku", problem=f"also at items[{seen[sku_text]}]")])
            item = parse_item(sku_text, raw, updated_at=iso(now))
        except InvalidCatalogItem as exc:
            results.append(BulkItemResult(index=index, sku=sku_text, status="rejected",
                                          problems=[p.as_dict() for p in exc.problems]))
            continue
        seen[item.sku] = index
        accepted.append(item)
        results.append(BulkItemResult(index=index, sku=item.sku, status="stored"))
    if accepted:
        store.put_many(accepted)
    return BulkResult(stored=len(accepted), rejected=len(results) - len(accepted), results=results)


class CachedCatalog:
    """Catalog items by SKU, kept `ttl_s` in memory (misses too), so a warm processor reads the store only
    for SKUs it has not seen lately. `get_many` is one batch read for the SKUs not cached."""

    def __init__(self, store: CatalogStore, ttl_s: float = 60.0, max_items: int = 100_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._store = store
        self._ttl_s = ttl_s
        self._max_items = max_items
        self._clock = clock
        self._items: dict[str, tuple[float, CatalogItem | None]] = {}
        self._lock = threading.Lock()

    def get_many(self, skus: Iterable[str]) -> dict[str, CatalogItem]:
        now = self._clock()
        found: dict[str, CatalogItem] = {}
        missing: list[str] = []
        for sku in dict.fromkeys(skus):
            cached = self._items.get(sku)
            if cached is not None and now - cached[0] < self._ttl_s:
                if cached[1] is not None:
                    found[sku] = cached[1]
            else:
                missing.append(sku)
        if missing:
            fetched = self._store.get_many(missing)
            with self._lock:
                if len(self._items) + len(missing) > self._max_items:
                    self._items.clear()
                for sku in missing:
                    self._items[sku] = (now, fetched.get(sku))
            found.update(fetched)
        return found

    def get(self, sku: str) -> CatalogItem | None:
        return self.get_many([sku]).get(sku)
