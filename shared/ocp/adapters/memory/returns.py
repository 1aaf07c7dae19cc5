"""In-memory twin of the after-sales store; `tests/contracts` holds it to the DynamoDB adapter's behaviour. It pages
by the adapter's own query plan and tokens (index positions compared as stored: ISO text, seconds)."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from ocp.adapters.dynamodb.returns import (
    ReturnsQuery,
    check_limit,
    decode_token,
    encode_token,
    position,
    returns_query,
)
from ocp.domain.errors import ConcurrentModification

if TYPE_CHECKING:
    from ocp.domain.returns.model import AfterSale


class MemoryReturnStore:
    def __init__(self) -> None:
        self._returns: dict[str, AfterSale] = {}
        self._lock = threading.Lock()

    def get(self, return_id: str) -> AfterSale | None:
        return self._returns.get(return_id)

    def create(self, after_sale: AfterSale) -> bool:
        with self._lock:
            if after_sale.return_id in self._returns:
                return False
            self._returns[after_sale.return_id] = after_sale
        return True

    def replace(self, after_sale: AfterSale, expected_revision: int) -> AfterSale:
        stored = after_sale.model_copy(update={"revision": expected_revision + 1})
        with self._lock:
            current = self._returns.get(after_sale.return_id)
            if current is None or current.revision != expected_revision:
                raise ConcurrentModification(
                    f"after-sale {after_sale.return_id} changed since revision {expected_revision}")
            self._returns[after_sale.return_id] = stored
        return stored

    def of_order(self, order_id: str) -> list[AfterSale]:
        plan = returns_query(None, None, order_id)
        return [a for _, a in sorted(_indexed(self._all(), plan), key=lambda entry: entry[0])]

    def page(self, status: str | None, channel: str | None, order_id: str | None, limit: int,
             token: str | None) -> tuple[list[AfterSale], str | None]:
        check_limit(limit)
        plan = returns_query(status, channel, order_id)
        start = decode_token(token, plan) if token else None
        entries = sorted(_indexed(self._all(), plan), key=lambda entry: entry[0], reverse=plan.newest_first)
        if start is not None:
            after = _sort_key(start, plan)
            entries = [e for e in entries if (e[0] < after if plan.newest_first else e[0] > after)]
        found = [a for _, a in entries if all(_field(a, name) == value for name, value in plan.filters.items())]
        if len(found) <= limit:
            return found, None
        taken = found[:limit]
        return taken, encode_token(position(taken[-1].model_dump(mode="json"), plan))

    def _all(self) -> list[AfterSale]:
        with self._lock:
            return list(self._returns.values())


def _indexed(after_sales: list[AfterSale], plan: ReturnsQuery) -> list[tuple[tuple[str, ...], AfterSale]]:
    """The after-sales in the plan's index (its partition), each with its position there."""
    entries = []
    for after_sale in after_sales:
        document = after_sale.model_dump(mode="json")
        if plan.partition is None or document[plan.partition] == plan.value:
            entries.append((_sort_key(position(document, plan), plan), after_sale))
    return entries


def _sort_key(key: dict[str, str], plan: ReturnsQuery) -> tuple[str, ...]:
    # Ties on the index's sort key fall back to the table key (DynamoDB leaves their order unspecified).
    return (key[plan.sort], key["return_id"]) if plan.sort is not None else (key["return_id"],)


def _field(after_sale: AfterSale, name: str) -> Any:
    return after_sale.model_dump(mode="json", include={name})[name]
