"""In-memory twins of the rules store and the catalog; `tests/contracts` holds them to the DynamoDB adapters."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from ocp.domain.decisions.rules.errors import RulesVersionConflict

if TYPE_CHECKING:
    from ocp.domain.decisions.stored_rules import StoredRules
    from ocp.domain.operations.catalog import CatalogItem


class MemoryRulesStore:
    def __init__(self) -> None:
        self._versions: dict[tuple[str, int], StoredRules] = {}
        self._lock = threading.Lock()
        self.reads = 0
        """Reads served (tests assert the cache spares the store)."""

    def latest_version(self, kind: str) -> int:
        self.reads += 1
        return max((v for k, v in self._versions if k == kind), default=0)

    def get(self, kind: str, version: int) -> StoredRules | None:
        self.reads += 1
        return self._versions.get((kind, version))

    def latest(self, kind: str) -> StoredRules | None:
        version = self.latest_version(kind)
        return self._versions.get((kind, version)) if version else None

    def put(self, rules: StoredRules) -> None:
        with self._lock:
            key = (rules.kind, rules.version)
            if key in self._versions:
                raise RulesVersionConflict(f"{rules.kind} version {rules.version} exists already")
            self._versions[key] = rules


class MemoryCatalogStore:
    def __init__(self, items: Iterable[CatalogItem] = ()) -> None:
        self._items = {item.sku: item for item in items}

    def get(self, sku: str) -> CatalogItem | None:
        return self._items.get(sku)

    def get_many(self, skus: Iterable[str]) -> dict[str, CatalogItem]:
        return {sku: self._items[sku] for sku in dict.fromkeys(skus) if sku in self._items}

    def put(self, item: CatalogItem) -> None:
        self._items[item.sku] = item

    def put_many(self, items: Sequence[CatalogItem]) -> None:
        for item in items:
            self._items[item.sku] = item
