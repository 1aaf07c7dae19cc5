"""The authenticated principal behind the writes of one API call.

Every API handler runs inside `acting_as(principal)` (the `ocp.api.operators.attribute_writes` middleware). The
order writes (`ocp.services.order.updates.update_order`, the held queue's commits), the stock push and the
after-sale writes stamp that principal on the timeline entries, ledger entries and after-sale steps the call adds.
Services keep their `actor` (the person or the OCP function) unchanged, and writes outside any API call (queues,
schedules) carry no principal. A context variable is per thread and per task, so concurrent requests in one
process (the local runtime) never see each other's principal.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ocp.domain.inventory.commit import CommitRejected, OrderCommit
    from ocp.domain.inventory.stock import LedgerEntry
    from ocp.domain.order.model import Order
    from ocp.domain.returns.model import AfterSale
    from ocp.ports import TransactionalOrderStore

_principal: ContextVar[str | None] = ContextVar("ocp_principal", default=None)


@contextmanager
def acting_as(principal: str) -> Iterator[None]:
    token = _principal.set(principal)
    try:
        yield
    finally:
        _principal.reset(token)


def current_principal() -> str | None:
    return _principal.get()


def stamp_order(before: Order | None, after: Order) -> Order:
    """`after` with the current principal on each timeline entry the change added (none outside an API call)."""
    principal = _principal.get()
    if principal is None:
        return after
    known = list(before.timeline) if before else []
    if not any(e.principal is None and e not in known for e in after.timeline):
        return after
    timeline = tuple(e if e.principal is not None or e in known else e.model_copy(update={"principal": principal})
                     for e in after.timeline)
    return after.model_copy(update={"timeline": timeline})


def stamp_ledger(entries: Iterable[LedgerEntry]) -> tuple[LedgerEntry, ...]:
    principal = _principal.get()
    return tuple(e if principal is None or e.principal else e.model_copy(update={"principal": principal})
                 for e in entries)


def stamp_commit(before: Order | None, commit: OrderCommit) -> OrderCommit:
    """The commit with the current principal on the timeline and ledger entries it adds to `before`."""
    if _principal.get() is None:
        return commit
    return replace(commit, order=stamp_order(before, commit.order), ledger=stamp_ledger(commit.ledger))


def stamp_steps(before: AfterSale | None, after: AfterSale) -> AfterSale:
    """`after` with the current principal on each after-sale step the change added."""
    principal = _principal.get()
    known = len(before.steps) if before else 0
    if principal is None or known >= len(after.steps):
        return after
    added = tuple(s if s.principal else s.model_copy(update={"principal": principal}) for s in after.steps[known:])
    return after.model_copy(update={"steps": (*after.steps[:known], *added)})


class StampingOrders:
    """An order store whose writes carry the current principal on what they add to `before` (the order as the API
    call read it): for use cases that write through the order path (`place`, the chunked commits), which knows
    nothing of principals."""

    def __init__(self, inner: TransactionalOrderStore, before: Order) -> None:
        self._inner = inner
        self._before = before

    @property
    def transaction_items(self) -> int:
        return self._inner.transaction_items

    def get(self, order_id: str) -> Order | None:
        return self._inner.get(order_id)

    def find_by_channel_order(self, channel: str, channel_order_id: str) -> Order | None:
        return self._inner.find_by_channel_order(channel, channel_order_id)

    def create(self, order: Order) -> None:
        self._inner.create(stamp_order(None, order))

    def replace(self, order: Order, expected_revision: int) -> Order:
        return self._inner.replace(stamp_order(self._before, order), expected_revision)

    def commit(self, change: OrderCommit) -> CommitRejected | None:
        return self._inner.commit(stamp_commit(self._before, change))

    def recorded(self, entry_ids: Sequence[str]) -> set[str]:
        return self._inner.recorded(entry_ids)
