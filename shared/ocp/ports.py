"""The small interfaces the domain's shell talks through. Each has a boto3 adapter and an in-memory twin.

Only protocols: what they carry lives beside its domain (e.g. `ocp.domain.order.inbox`), so a module that names a
port builds no model, and none needs this module at run time.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:  # only the protocols' signatures need these: keeps every cold start light
    from ocp.channels.base import ChannelApi, ChannelCredentials
    from ocp.domain.access.principals import Principal
    from ocp.domain.access.usage_keys import UsageKey
    from ocp.domain.decisions.stored_rules import StoredRules
    from ocp.domain.fulfillment.dispatch import DispatchRequest, WarehouseInstruction
    from ocp.domain.fulfillment.stuck import OrderSummary, SlaPolicy
    from ocp.domain.fulfillment.wms import WmsEndpoint
    from ocp.domain.inventory.adjustments import StockAdjustment
    from ocp.domain.inventory.commit import CommitRejected, OrderCommit
    from ocp.domain.inventory.events import DomainEvent
    from ocp.domain.inventory.policy import StockPolicy
    from ocp.domain.inventory.signals import SignalState
    from ocp.domain.inventory.stock import LedgerEntry, ShardLevel, StockHead, StockLevel
    from ocp.domain.operations.catalog import CatalogItem
    from ocp.domain.operations.warehouses import Warehouse
    from ocp.domain.order.inbox import InboxMessage, QuarantineRecord
    from ocp.domain.order.model import HoldReason, Order, OrderStatus
    from ocp.domain.order.polling import PollCursor
    from ocp.domain.order.replay import ArchivedObject, DeadLetterRedrive, QuarantineEntry, QuarantineState
    from ocp.domain.order.views import ChannelOrderView, OrderPage
    from ocp.domain.returns.carriers import CarrierBooking
    from ocp.domain.returns.model import AfterSale


class OrderStore(Protocol):
    def get(self, order_id: str) -> Order | None: ...

    def find_by_channel_order(self, channel: str, channel_order_id: str) -> Order | None: ...

    def create(self, order: Order) -> None:
        """Store a new order; raise `OrderExists` when one with its id is stored already."""

    def replace(self, order: Order, expected_revision: int) -> Order:
        """Store `order` as revision `expected_revision + 1` if the stored one still has `expected_revision`, else
        `ConcurrentModification`; the order as stored."""


class RawArchive(Protocol):
    def put(self, key: str, content: bytes) -> None: ...

    def get(self, key: str) -> bytes: ...


class Inbox(Protocol):
    def send(self, message: InboxMessage) -> None: ...


class Quarantine(Protocol):
    def put(self, record: QuarantineRecord) -> None: ...


# ---- replay and redrive: the archive by prefix, the quarantine's records, the dead-letter queues -----------


class ArchiveListing(Protocol):
    def list_keys(self, prefix: str, start_after: str | None, limit: int) -> list[ArchivedObject]:
        """The objects under `prefix` whose key sorts after `start_after` (None: from the first), in key order,
        at most `limit`."""


class QuarantineStore(Quarantine, Protocol):
    def get(self, quarantine_id: str) -> QuarantineEntry | None: ...

    def page(self, channel: str | None, state: QuarantineState, limit: int,
             token: str | None) -> tuple[list[QuarantineEntry], str | None]:
        """At most `limit` records (of `channel`, in `state`) from `token` (None: the first page); the token of the
        next page, or None. A page may hold fewer than `limit` records with more to come."""

    def mark_redriven(self, quarantine_id: str, seen_at: str, at: str) -> bool:
        """Mark the record redriven at `at` if it is still open and still the one quarantined at `seen_at`; False
        when it is gone, already redriven, or was quarantined again meanwhile."""


class DeadLetters(Protocol):
    def queues(self) -> list[str]:
        """The queue ids (wiring) whose dead-letter queue may be redriven."""

    def redrive(self, queue: str) -> DeadLetterRedrive:
        """Move every message of `queue`'s dead-letter queue back to `queue`; `DlqRedriveRefused` when SQS refuses
        (e.g. a move task is already running)."""


class CredentialsProvider(Protocol):
    def credentials(self, channel: str) -> ChannelCredentials:
        """Raise `ChannelNotConfigured` when no secret is configured for the channel."""


# ---- channels: pulling orders from the channels' APIs -----------------------------------------


class ChannelApis(Protocol):
    def api(self, channel: str) -> ChannelApi:
        """The channel's API client; `ChannelNotConfigured` when it has no base URL or credentials."""


class CursorStore(Protocol):
    def get(self, channel: str) -> PollCursor | None: ...

    def put(self, cursor: PollCursor, expected_version: int) -> None:
        """Store `cursor` (with version `expected_version + 1`) if the stored one still has `expected_version`
        (0: none stored yet); else `ConcurrentModification` — another poller run moved it meanwhile."""


# ---- inventory ----------------------------------------------------------------------------------


class TransactionalOrderStore(OrderStore, Protocol):
    def commit(self, change: OrderCommit) -> CommitRejected | None:
        """Write the order and its stock movements, ledger entries and purchase counters all at once, or
        nothing: None when written, else what failed (`order_conflict`, `shortages`, `over_limit`, `refused`,
        `stale_count`). Raises `StockContention` when transaction conflicts or throttling outlast the retries."""

    @property
    def transaction_items(self) -> int:
        """The most items one `commit` may hold (DynamoDB: 100); a larger change is written in chunks
        (`ocp.services.inventory.chunked`)."""

    def recorded(self, entry_ids: Sequence[str]) -> set[str]:
        """Which of these stock-ledger entries exist, read consistently: which chunks of an interrupted chunked
        change landed (only ever read on that path)."""


class CountTimes(Protocol):
    def count_times(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], datetime | None]:
        """(warehouse, SKU) → when the WMS counted the on_hand it last pushed (None: no push said), read
        consistently in one request."""


class StockStore(CountTimes, Protocol):
    def shards(self, warehouse: str, sku: str) -> tuple[StockHead | None, list[ShardLevel]]:
        """The head (None: this warehouse has never stocked the SKU) and every shard, read consistently."""

    def adjust(self, adjustment: StockAdjustment) -> bool:
        """Apply a push or rebalance atomically; False when a guard failed (version, on-hand or available)."""

    def locations(self, sku: str) -> dict[str, int]:
        """Warehouse → active shard count, for every warehouse that has stocked the SKU."""

    def availability(self, warehouse: str, sku: str, shards: list[int]) -> dict[int, int]:
        """Shard → available right now (a missing shard is 0); a hint, read without consistency guarantees."""

    def levels(self, sku: str) -> list[StockLevel]:
        """The SKU in every warehouse, its shards summed (ordered by warehouse)."""

    def ledger(self, sku: str) -> list[LedgerEntry]:
        """Every movement of the SKU in every warehouse, oldest first within each shard."""

    def policy(self) -> StockPolicy: ...

    def put_policy(self, policy: StockPolicy, expected_version: int) -> bool:
        """Store `policy` (its version is `expected_version + 1`) if the stored one is still at `expected_version`."""


class WarehouseRegistry(Protocol):
    def known(self, warehouse: str) -> bool: ...


class SignalStore(Protocol):
    """Last published state of each stock signal (alert, coupon, listing), so each change is published once."""

    def get(self, key: str) -> SignalState | None: ...

    def put(self, key: str, state: SignalState) -> bool:
        """Store `state` unless a state with an `as_of` at least as new is stored; False when not stored."""


class EventPublisher(Protocol):
    def publish(self, events: list[DomainEvent]) -> None: ...


class Notifier(Protocol):
    def notify(self, subject: str, message: str) -> None: ...


# ---- fulfillment: warehouse hand-over, stuck-order queries, SLA, channel write-back ------------


class WmsAdapter(Protocol):
    def send(self, instruction: WarehouseInstruction) -> str:
        """Hand the instruction to its warehouse's WMS durably; a receipt for the timeline (message id, reference).

        The idempotency key `instruction.idempotency_key` travels with it, so a resend is one instruction to the
        WMS. Raise `WmsUnavailable` when a retry may succeed, `WmsRejected` when it will not."""


class WmsDirectory(Protocol):
    """The WMS each warehouse registered with `PUT /warehouses` (the per-process warehouses cache)."""

    def wms(self, warehouse: str, *, recheck: bool = False) -> WmsEndpoint | None:
        """The warehouse's registered WMS, or None. `recheck`: read the registry again unless it was read within
        the last second (the warehouse may have been registered since the cache was loaded)."""


class DispatchQueue(Protocol):
    def send(self, requests: Sequence[DispatchRequest]) -> None:
        """Enqueue dispatch requests for the dispatcher; all of them or raise."""


class MergeGroups(Protocol):
    """Orders waiting to leave as one parcel (`ocp.domain.fulfillment.merge_window`): two sparse indexes, one
    write."""

    def due(self, until: datetime, limit: int) -> list[str]:
        """Orders whose merge run is due by `until` (window ended, or a formed group's hand-over still owed),
        earliest first, at most `limit`."""

    def waiting_with(self, key: str, limit: int) -> list[str]:
        """Orders still waiting whose merge key is `key`, earliest window first, at most `limit`."""

    def claim(self, changes: Sequence[tuple[Order, int]]) -> bool:
        """Store each order (as revision `expected + 1`) if the stored one is still at `expected`, all of them or
        none: False when any changed meanwhile."""


class OrderQueries(Protocol):
    """Read-only views over many orders (the stuck report); `OrderStore` stays about one order."""

    def in_status(self, status: OrderStatus, until: datetime) -> Iterator[OrderSummary]:
        """Orders in `status` whose `status_since` <= `until`, oldest first, every page."""

    def writeback_pending(self, until: datetime) -> Iterator[OrderSummary]:
        """Orders with a shipment the channel has not acknowledged since <= `until`, oldest first."""

    def in_status_after(self, status: OrderStatus, after: tuple[datetime, str] | None) -> Iterator[OrderSummary]:
        """Orders in `status` after the position `after` = (status_since, order_id) of one seen before (None: from
        the oldest), in index order, read page by page as the caller iterates: reconciliation walks them in bounded
        slices from a checkpoint. The position need not still be in the index (that order may have moved on)."""


class SlaSource(Protocol):
    def current(self) -> SlaPolicy:
        """The `sla` rule document in force (the built-in default until one is stored)."""


class WatchdogState(Protocol):
    def last_counts(self, check: str) -> dict[str, int]:
        """The counts the previous run saved for `check` ({} before the first run)."""

    def save_counts(self, check: str, counts: Mapping[str, int], at: datetime) -> None: ...


class ChannelWriteback(Protocol):
    """Confirms a shipment on the order's channel (Taobao/JD/Douyin ship-confirm, Shopify fulfillment)."""

    def confirm_shipment(self, order: Order, tracking_no: str, carrier: str) -> None:
        """Return once the channel acknowledged the parcel; the parcel's lines are the shipment in
        `order.fulfillment.shipments` with this `tracking_no`. An already-confirmed parcel counts as acknowledged.
        Raise `WritebackUnavailable` when a retry may succeed, `WritebackRejected` when it will not."""


class WritebackQueue(Protocol):
    def send(self, order_ids: Sequence[str]) -> None:
        """Ask the `channel_writeback` function to confirm these orders' due shipments on their channels."""


class ChannelOrders(Protocol):
    def view(self, channel: str, channel_order_id: str) -> ChannelOrderView:
        """The channel's current view of the order; `ChannelApiUnavailable` (retry later), `ChannelApiRejected`
        (e.g. no such order), `ChannelNotConfigured` (no API for the channel)."""


class Checkpoints(Protocol):
    """Where a scheduled job resumes: small named positions, last write wins."""

    def get(self, name: str) -> dict[str, str]: ...

    def put(self, name: str, positions: Mapping[str, str], at: datetime) -> None: ...


# ---- rules and catalog ---------------------------------------------------------------------------


class RulesStore(Protocol):
    def latest_version(self, kind: str) -> int:
        """The newest stored version of `kind` (0: none stored). One small read: the cache's freshness probe."""

    def get(self, kind: str, version: int) -> StoredRules | None: ...

    def latest(self, kind: str) -> StoredRules | None: ...

    def put(self, rules: StoredRules) -> None:
        """Store a new version; `RulesVersionConflict` when that version of that kind exists already (another
        writer got there first: versions are never overwritten)."""


class CatalogStore(Protocol):
    def get(self, sku: str) -> CatalogItem | None: ...

    def get_many(self, skus: Iterable[str]) -> dict[str, CatalogItem]:
        """The stored items among `skus` (missing ones left out)."""

    def put(self, item: CatalogItem) -> None: ...

    def put_many(self, items: Sequence[CatalogItem]) -> None: ...


# ---- warehouses and the held queue --------------------------------------------------------


class WarehouseStore(Protocol):
    """The `warehouses` table: one item per registered warehouse or supplier."""

    def get(self, warehouse_id: str) -> Warehouse | None: ...

    def put(self, warehouse: Warehouse) -> None: ...

    def all(self) -> list[Warehouse]:
        """Every registered warehouse, by id (the table is small: a scan)."""


class HeldQueueQueries(Protocol):
    def page(self, status: OrderStatus, reason: HoldReason | None, limit: int,
             start: Mapping[str, str] | None = None) -> OrderPage:
        """Orders in `status` (with a hold of `reason`), oldest status first: at most `limit`, from `start`."""

    def release_due(self, until: datetime, limit: int) -> list[str]:
        """Held orders whose timed hold (pre-sale) ends by `until`, earliest first, at most `limit`."""


# ---- returns ---------------------------------------------------------------------------------------------


class ReturnStore(Protocol):
    def get(self, return_id: str) -> AfterSale | None: ...

    def create(self, after_sale: AfterSale) -> bool:
        """Store a new after-sale (revision 0); False when one with its id exists already."""

    def replace(self, after_sale: AfterSale, expected_revision: int) -> AfterSale:
        """Store the next revision (`expected_revision` + 1, set here) and answer it; `ConcurrentModification`
        when the stored revision is not `expected_revision`."""

    def of_order(self, order_id: str) -> list[AfterSale]:
        """Every after-sale of the order, oldest first."""

    def page(self, status: str | None, channel: str | None, order_id: str | None, limit: int,
             token: str | None) -> tuple[list[AfterSale], str | None]:
        """At most `limit` after-sales, newest first (oldest first in a status), filtered by at most one of
        `order_id`, `status`, `channel` (in that order of preference; the rest are applied after reading);
        the token for the next page, or None."""


class Workflows(Protocol):
    """The returns state machine: one execution per after-sale, resumed through its task tokens."""

    def start(self, name: str, payload: Mapping[str, Any]) -> bool:
        """Start an execution named `name` (idempotent: False when one of that name exists already)."""

    def resume(self, token: str, output: Mapping[str, Any]) -> bool:
        """Complete the paused task `token` with `output`; False when the token is no longer waiting."""


class Carriers(Protocol):
    """Return pickups and e-waybills (Cainiao, SF, JD Logistics, Douyin), behind one interface."""

    def book_return(self, reference: str, sender: Mapping[str, str], receiver: Mapping[str, str],
                    parcels: int) -> CarrierBooking:
        """Book a pickup of the buyer's parcel back to the warehouse; `reference` is the idempotency key (a repeat
        answers the first booking)."""


# ---- access: principals and their throttle keys ----------------------------------------------------------------


class PrincipalStore(Protocol):
    """Principals by name and by the hash of their key; the key itself is never given to the store."""

    def create(self, principal: Principal, key_hash: str) -> None:
        """Store both ways in, or neither; `PrincipalExists` when the name (or hash) is taken."""

    def get(self, name: str) -> Principal | None: ...

    def by_key_hash(self, key_hash: str) -> Principal | None: ...

    def delete(self, name: str) -> Principal | None:
        """Remove the principal and its key at once; the removed principal, None when there was none."""

    def list(self) -> list[Principal]: ...


class UsageKeys(Protocol):
    def create(self, principal: str, kind: str) -> UsageKey: ...

    def delete(self, key_id: str) -> None:
        """Idempotent: a key already gone is fine."""
