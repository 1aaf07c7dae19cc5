"""One order write and the stock it moves, as a single all-or-nothing change (pure description).

The adapter turns an `OrderCommit` into one DynamoDB `TransactWriteItems`: the order item (absent, or at the
expected revision), one conditional update per stock shard, one conditional ledger put per movement and one
conditional purchase-counter update per limited SKU. Either all of it happens or none of it; a condition that
fails comes back as a `CommitRejected` naming what failed, never as a generic error.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from ocp.domain.inventory.stock import LedgerEntry, MovementKind, StockMovement
    from ocp.domain.order.model import Order


class CounterChange(NamedTuple):
    """Move a buyer's purchase counter for a SKU by `delta`; a claim (delta > 0) must stay within `limit`."""

    buyer_id: str
    sku: str
    delta: int
    limit: int | None = None


class FingerprintClaim(NamedTuple):
    """Remember the order under a duplicate-check key in the same transaction. With `guard`, only if no
    other order holds the key with a `created_at` within [since, until]; else the commit is rejected with that
    order (`CommitRejected.duplicates`), and nothing is written. The record expires (TTL) at `expires_at`."""

    key: str
    order_id: str
    created_at: datetime
    since: datetime
    until: datetime
    expires_at: datetime
    guard: bool = True


class FingerprintHit(NamedTuple):
    """Another order holds the key: the same buyer (or phone), address and items within the window."""

    key: str
    order_id: str
    created_at: datetime | None


class CountGuard(NamedTuple):
    """The (warehouse, SKU)'s last applied push is still the one whose count time was read (`counted_at`; None:
    no push stored one): a push landing between that read and the commit rejects it (`stale_count`), so a
    shipment is never judged against a count that is no longer the stock's."""

    warehouse: str
    sku: str
    counted_at: datetime | None


@dataclass(frozen=True)
class OrderCommit:
    order: Order
    expected_revision: int | None
    """None: the order must not exist yet. Otherwise the stored order must still have this revision, and the order
    is written as the next one (`expected_revision + 1`, set here: callers never count revisions themselves)."""
    movements: tuple[StockMovement, ...] = ()
    ledger: tuple[LedgerEntry, ...] = ()
    counters: tuple[CounterChange, ...] = ()
    fingerprints: tuple[FingerprintClaim, ...] = ()
    count_guards: tuple[CountGuard, ...] = ()
    intent_check: int | None = None
    """A chunk of a change too large for one transaction (`ocp.domain.inventory.chunks`): the order is not written,
    only checked to still carry the intent written at this revision (else `order_conflict`)."""

    def __post_init__(self) -> None:
        if self.expected_revision is not None and self.order.revision != self.expected_revision + 1:
            object.__setattr__(self, "order", self.order.model_copy(update={"revision": self.expected_revision + 1}))
        if len(self.movements) != len(self.ledger):
            raise ValueError("every stock movement needs exactly one ledger entry")
        ids = [m.stock_id for m in self.movements]
        if len(ids) != len(set(ids)):
            raise ValueError("a transaction may touch each stock shard only once")

    @property
    def item_count(self) -> int:
        return (1 + len(self.movements) + len(self.ledger) + len(self.counters) + len(self.fingerprints)
                + len(self.count_guards))


class Shortage(NamedTuple):
    """A reservation's condition failed: the shard had only `available` (0 when it does not exist)."""

    warehouse: str
    sku: str
    shard: int
    available: int


class LimitBreach(NamedTuple):
    sku: str
    bought: int
    limit: int | None


class BooksRefusal(NamedTuple):
    """A release or shipment would have taken a shard's `on_hand` or `reserved` below zero (or the shard is
    missing: both None); the shard's numbers when it was refused."""

    warehouse: str
    sku: str
    shard: int
    kind: MovementKind
    on_hand: int | None
    reserved: int | None


class CommitRejected(NamedTuple):
    """Why a commit did not happen. Nothing was written."""

    order_conflict: bool = False
    """The order exists already (create) or changed since the expected revision (update)."""
    shortages: tuple[Shortage, ...] = ()
    over_limit: tuple[LimitBreach, ...] = ()
    duplicates: tuple[FingerprintHit, ...] = ()
    refused: tuple[BooksRefusal, ...] = ()
    """Releases or shipments the stock books could not take (see `BooksRefusal`)."""
    stale_count: bool = False
    """A `CountGuard` failed: a push landed meanwhile; re-read and decide again."""
