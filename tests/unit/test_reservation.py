"""Reservation, release, expiry, shipment, pushes and signals, over the in-memory twins (no AWS at all)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from infra.local.stock_lab import synthetic_order
from ocp.adapters.memory.events import MemoryEvents
from ocp.adapters.memory.intake import MemoryQuarantine, MemoryRawArchive
from ocp.adapters.memory.inventory import MemoryInventory
from ocp.adapters.memory.orders import MemoryOrderStore
from ocp.adapters.memory.warehouses import MemoryWarehouses
from ocp.domain.inventory.policy import ChannelPolicy, SkuPolicy, StockPolicy
from ocp.domain.inventory.pushes import StockPush
from ocp.domain.inventory.reservation import LockStrategy, ReservationState
from ocp.domain.inventory.stock import InvalidStockRequest
from ocp.domain.order.ingest import apply_channel_update
from ocp.domain.order.model import Channel, HoldReason, Order, OrderStatus
from ocp.services.inventory.expiry import OrderStockDeps, release_expired
from ocp.services.inventory.reservation import StockDeps
from ocp.services.inventory.signals import SignalDeps, publish_stock_signals
from ocp.services.inventory.stock import InventoryDeps, ledger_view, push_stock, put_policy, stock_board
from ocp.services.inventory.stock_catalog import StockCatalog
from ocp.services.order.processing import Outcome, Processed, ProcessingDeps, store_order
from ocp.services.order.updates import update_order

T0 = datetime(2026, 11, 11, 12, 0, tzinfo=UTC)


@dataclass
class World:
    now: datetime = T0
    inventory: MemoryInventory = field(default_factory=MemoryInventory)
    events: MemoryEvents = field(default_factory=MemoryEvents)
    clock_s: float = 0.0

    def __post_init__(self) -> None:
        self.orders = MemoryOrderStore(self.inventory)
        self.catalog = StockCatalog(self.inventory, clock=lambda: self.clock_s)
        self.stock = InventoryDeps(stock=self.inventory, warehouses=MemoryWarehouses({"WH-GZ", "WH-SH", "WH-BJ"}),
                                   now=lambda: self.now)
        self.processing = ProcessingDeps(
            orders=self.orders, archive=MemoryRawArchive(), quarantine=MemoryQuarantine(), now=lambda: self.now,
            stock=StockDeps(orders=self.orders, catalog=self.catalog, now=lambda: self.now, peek=self.inventory),
        )
        self.order_stock = OrderStockDeps(orders=self.orders, now=lambda: self.now)
        self.signals = SignalDeps(stock=self.inventory, signals=self.inventory, events=self.events,
                                  notifier=self.events)
        self.versions: Counter[tuple[str, str]] = Counter()

    def push(self, sku: str, on_hand: int, warehouse: str = "WH-GZ", safety_stock: int | None = None) -> None:
        self.versions[(warehouse, sku)] += 1
        push_stock(warehouse, sku, StockPush(on_hand=on_hand, version=self.versions[(warehouse, sku)],
                                             safety_stock=safety_stock), self.stock)

    def policy(self, policy: StockPolicy) -> None:
        put_policy(policy, self.stock)
        self.catalog.forget()

    def store(self, order: Order) -> Processed:
        return store_order(order, self.now, self.processing)

    def change_status(self, order_id: str, status: OrderStatus) -> Order:
        """A status change as the fulfilment services write it (the stock effect in the same commit)."""
        changed, _ = update_order(self.orders, order_id, lambda o: o.model_copy(update={"status": status}),
                                  actor="wms", at=self.now)
        return changed

    def board(self, sku: str) -> tuple[int, int, int]:
        totals = stock_board(sku, self.stock).totals
        return totals.on_hand, totals.reserved, totals.available

    def explained(self, sku: str) -> bool:
        return all(w.explains_board for w in ledger_view(sku, self.stock).warehouses)


def test_a_paid_order_reserves_in_one_write_and_the_ledger_explains_the_board() -> None:
    # Given 5 units stocked and a warm configuration cache
    world = World()
    world.push("TEA", 5)
    world.store(synthetic_order(1, "TEA"))
    calls = world.inventory.calls
    # When a paid order for 2 arrives
    result = world.store(synthetic_order(2, "TEA", 2))
    # Then it is reserved at WH-GZ, nothing was read for it, and the numbers add up
    assert result.outcome == Outcome.created
    order = result.order
    assert order is not None and order.status == OrderStatus.reserved and order.warehouse == "WH-GZ"
    assert order.reservation is not None and order.reservation.strategy == LockStrategy.reserve_on_order
    assert [e.event for e in order.timeline][-1] == "reserved"
    assert world.inventory.calls == calls
    assert world.board("TEA") == (5, 3, 2)
    assert world.explained("TEA")


def test_no_stock_holds_the_order_with_the_contract_detail() -> None:
    # Given 1 unit / When an order wants 3 / Then it is held with the API.md detail and nothing moved
    world = World()
    world.push("TEA", 1)
    result = world.store(synthetic_order(1, "TEA", 3))
    assert result.order is not None and result.order.status == OrderStatus.held
    [hold] = result.order.holds
    assert (hold.reason, hold.detail) == (HoldReason.insufficient_stock, "TEA needs 3, 1 available")
    assert world.board("TEA") == (1, 0, 1)


def test_a_redelivered_order_reserves_nothing_more() -> None:
    # Given / When the same order arrives twice / Then it reserved once
    world = World()
    world.push("TEA", 5)
    first = world.store(synthetic_order(1, "TEA", 2))
    again = world.store(synthetic_order(1, "TEA", 2))
    assert (first.outcome, again.outcome) == (Outcome.created, Outcome.duplicate)
    assert world.board("TEA") == (5, 2, 3)


def test_the_next_candidate_warehouse_takes_what_the_first_cannot() -> None:
    # Given WH-BJ (first in order) has 1, WH-GZ has 10
    world = World()
    world.push("TEA", 1, warehouse="WH-BJ")
    world.push("TEA", 10, warehouse="WH-GZ")
    # When an order for 3 arrives / Then WH-GZ reserves it
    order = world.store(synthetic_order(1, "TEA", 3)).order
    assert order is not None and order.warehouse == "WH-GZ"
    assert [(w.warehouse, w.reserved) for w in stock_board("TEA", world.stock).warehouses] == [
        ("WH-BJ", 0), ("WH-GZ", 3)]


def test_a_warehouse_stocked_after_the_cache_was_filled_is_found_before_holding() -> None:
    # Given the processor cached "TEA is nowhere" a while ago
    world = World()
    world.store(synthetic_order(1, "TEA"))
    world.clock_s = 10.0
    world.push("TEA", 4)
    # When the next order arrives / Then it rechecks once and reserves instead of holding
    order = world.store(synthetic_order(2, "TEA")).order
    assert order is not None and order.status == OrderStatus.reserved


def test_purchase_limit_holds_orders_over_it_and_counts_only_live_reservations() -> None:
    # Given a limit of 2 per buyer
    world = World()
    world.policy(StockPolicy(skus={"HOT": SkuPolicy(purchase_limit=2)}))
    world.push("HOT", 10)
    too_big = world.store(synthetic_order(1, "HOT", 3, buyer_id="b1")).order
    assert too_big is not None and too_big.holds[-1].reason == HoldReason.purchase_limit_exceeded
    assert world.store(synthetic_order(2, "HOT", 2, buyer_id="b1")).order.status == OrderStatus.reserved  # type: ignore[union-attr]
    over = world.store(synthetic_order(3, "HOT", 1, buyer_id="b1")).order
    assert over is not None and over.holds[-1].detail == "HOT: limit 2 per buyer, 2 already bought, this order wants 1"
    # When the reserved order is cancelled, the buyer may buy again
    world.change_status("shopify-2", OrderStatus.cancelled)
    assert world.inventory.counters[("HOT", "b1")] == 0
    assert world.store(synthetic_order(4, "HOT", 2, buyer_id="b1")).order.status == OrderStatus.reserved  # type: ignore[union-attr]


def test_pre_reservation_expires_unpaid_and_reserves_again_on_payment() -> None:
    # Given douyin pre-reserves for 15 minutes
    world = World()
    world.policy(StockPolicy(channels={Channel.douyin: ChannelPolicy(strategy=LockStrategy.pre_reserve,
                                                                     expiry_minutes=15)}))
    world.push("HOT", 3)
    unpaid = synthetic_order(1, "HOT", 2, channel="douyin", status="pending_payment")
    stored = world.store(unpaid).order
    assert stored is not None and stored.status == OrderStatus.pending_payment
    assert stored.reservation is not None and stored.reservation.expires_at == T0 + timedelta(minutes=15)
    assert world.board("HOT") == (3, 2, 1)
    # When the sweeper runs before and after the expiry
    assert release_expired(world.orders, world.order_stock).released == []
    world.now = T0 + timedelta(minutes=16)
    report = release_expired(world.orders, world.order_stock)
    # Then the stock is back on sale and the order says why
    assert report.released == ["douyin-1"]
    assert world.board("HOT") == (3, 0, 3)
    released = world.orders.get("douyin-1")
    assert released is not None and released.reservation is not None
    assert released.reservation.state == ReservationState.released
    assert released.timeline[-1].detail == "unpaid after 15 min: stock released"
    assert release_expired(world.orders, world.order_stock).released == []
    # When it is paid after all, it reserves again (a second reservation cycle)
    paid = unpaid.model_copy(update={"status": OrderStatus.received, "paid_at": world.now,
                                     "channel_updated_at": world.now})
    again = world.store(paid).order
    assert again is not None and again.status == OrderStatus.reserved and again.reservation is not None
    assert again.reservation.seq == 2 and again.reservation.expires_at is None
    assert world.board("HOT") == (3, 2, 1)
    assert world.explained("HOT")


def test_an_unpaid_order_reserved_on_order_releases_its_stock_after_the_unpaid_expiry() -> None:
    # Given the default policy (reserve on order, unpaid reservations last 60 minutes) and stock
    world = World()
    world.push("TEA", 3)
    unpaid = synthetic_order(1, "TEA", 2, status="pending_payment")
    stored = world.store(unpaid).order
    assert stored is not None and stored.reservation is not None
    assert stored.reservation.expires_at == T0 + timedelta(minutes=60) and world.board("TEA") == (3, 2, 1)
    # When the buyer has not paid an hour later and the sweeper runs
    world.now = T0 + timedelta(minutes=61)
    assert release_expired(world.orders, world.order_stock).released == ["shopify-1"]
    # Then the units are back on sale, the order still waits for payment, and payment reserves again
    waiting = world.orders.get("shopify-1")
    assert waiting is not None and waiting.status == OrderStatus.pending_payment and world.board("TEA") == (3, 0, 3)
    paid = unpaid.model_copy(update={"status": OrderStatus.received, "paid_at": world.now,
                                     "channel_updated_at": world.now})
    again = world.store(paid).order
    assert again is not None and again.status == OrderStatus.reserved and again.reservation is not None
    assert again.reservation.seq == 2 and world.board("TEA") == (3, 2, 1) and world.explained("TEA")


def test_an_unpaid_order_short_of_stock_waits_for_payment_outside_the_held_queue() -> None:
    # Given one unit / When an unpaid order wants two
    world = World()
    world.push("TEA", 1)
    unpaid = synthetic_order(1, "TEA", 2, status="pending_payment")
    stored = world.store(unpaid).order
    # Then it waits in pending_payment with no hold (nobody can act before payment), saying why
    assert stored is not None and (stored.status, stored.holds, stored.reservation) == (
        OrderStatus.pending_payment, (), None)
    assert stored.timeline[-1].event == "reservation_waiting"
    # And once stock arrived and it is paid, it reserves
    world.push("TEA", 5)
    world.now = T0 + timedelta(minutes=5)
    paid = unpaid.model_copy(update={"status": OrderStatus.received, "paid_at": world.now,
                                     "channel_updated_at": world.now})
    again = world.store(paid).order
    assert again is not None and again.status == OrderStatus.reserved


def test_payment_confirms_a_pre_reservation_without_moving_stock() -> None:
    world = World()
    world.policy(StockPolicy(default_strategy=LockStrategy.pre_reserve))
    world.push("HOT", 3)
    unpaid = synthetic_order(1, "HOT", 1, status="pending_payment")
    world.store(unpaid)
    entries = len(world.inventory.entries)
    paid = unpaid.model_copy(update={"status": OrderStatus.received, "channel_updated_at": T0 + timedelta(seconds=5)})
    confirmed = world.store(paid).order
    assert confirmed is not None and confirmed.status == OrderStatus.reserved
    assert confirmed.reservation is not None and confirmed.reservation.expires_at is None
    assert [e.event for e in confirmed.timeline][-2:] == ["paid", "reservation_confirmed"]
    assert len(world.inventory.entries) == entries
    assert world.orders.expired_reservations(T0 + timedelta(days=1), 10) == []


def test_reserve_on_payment_waits_for_payment() -> None:
    # Given reserve_on_payment / When an unpaid order, then its payment, arrive / Then it reserves on payment
    world = World()
    world.policy(StockPolicy(default_strategy=LockStrategy.reserve_on_payment))
    world.push("TEA", 3)
    unpaid = synthetic_order(1, "TEA", 1, status="pending_payment")
    assert world.store(unpaid).order.reservation is None  # type: ignore[union-attr]
    assert world.board("TEA") == (3, 0, 3)
    paid = unpaid.model_copy(update={"status": OrderStatus.received, "channel_updated_at": T0 + timedelta(seconds=5)})
    assert world.store(paid).order.status == OrderStatus.reserved  # type: ignore[union-attr]
    assert world.board("TEA") == (3, 1, 2)


def test_channel_cancel_releases_and_shipment_deducts_both() -> None:
    world = World()
    world.push("TEA", 10)
    world.store(synthetic_order(1, "TEA", 2))
    world.store(synthetic_order(2, "TEA", 3))
    # When the channel cancels order 1 (a newer channel view)
    stored = world.orders.get("shopify-1")
    assert stored is not None
    cancelled = synthetic_order(1, "TEA", 2).model_copy(update={
        "status": OrderStatus.cancelled, "cancelled_at": T0, "channel_updated_at": T0 + timedelta(minutes=1)})
    assert apply_channel_update(stored, cancelled, T0) is not None
    assert world.store(cancelled).order.status == OrderStatus.cancelled  # type: ignore[union-attr]
    assert world.board("TEA") == (10, 3, 7)
    # And the warehouse ships order 2
    shipped = world.change_status("shopify-2", OrderStatus.shipped)
    assert shipped.status == OrderStatus.shipped
    assert world.board("TEA") == (7, 0, 7)
    assert world.explained("TEA")
    kinds = Counter(e.kind.value for e in world.inventory.entries.values())
    assert kinds == Counter({"push": 1, "reserve": 2, "release": 1, "ship": 1})
    # And a repeated shipment moves no stock again
    world.change_status("shopify-2", OrderStatus.shipped)
    assert world.board("TEA") == (7, 0, 7)


def test_an_order_too_big_for_one_transaction_is_reserved_in_chunks_and_a_small_one_still_in_one_write() -> None:
    # Given 60 stocked SKUs and a warm configuration cache
    world = World()
    lines = [(f"SKU-{n:02}", 1) for n in range(60)]
    for sku, _ in lines:
        world.push(sku, 5)
    world.store(synthetic_order(1, "SKU-00"))
    world.catalog.locations([sku for sku, _ in lines])
    reads, writes = world.inventory.calls, world.inventory.commits
    # When a one-line order arrives / Then it takes one write and no read, as before
    assert world.store(synthetic_order(2, "SKU-01")).order.status == OrderStatus.reserved  # type: ignore[union-attr]
    assert (world.inventory.calls - reads, world.inventory.commits - writes) == (0, 1)
    # When a 60-line order arrives (121 items: more than one transaction's 100)
    writes = world.inventory.commits
    order = world.store(synthetic_order(3, "SKU-00", lines=lines)).order
    # Then it is reserved whole: intent, 2 chunks, final write; still no read; nothing left pending
    assert order is not None and order.status == OrderStatus.reserved and order.reservation_intent is None
    assert order.reservation is not None and len(order.reservation.allocations) == 60
    assert (world.inventory.calls - reads, world.inventory.commits - writes) == (0, 4)
    assert [world.board(sku) for sku, _ in lines[2:]] == [(5, 1, 4)] * 58
    assert all(world.explained(sku) for sku, _ in lines)


def test_wms_pushes_apply_newer_versions_only_and_create_unknown_skus() -> None:
    # Given / When the WMS pushes a new SKU, repeats and back-dates it, then pushes below what is reserved
    world = World()
    created = push_stock("WH-SH", "NEW", StockPush(on_hand=4, version=7), world.stock)
    assert created.applied and created.created and "created NEW at WH-SH" in created.message
    repeated = push_stock("WH-SH", "NEW", StockPush(on_hand=9, version=7), world.stock)
    stale = push_stock("WH-SH", "NEW", StockPush(on_hand=9, version=6), world.stock)
    assert (repeated.applied, repeated.reason, stale.reason) == (False, "repeated_version", "stale_version")
    world.store(synthetic_order(1, "NEW", 3))
    newer = push_stock("WH-SH", "NEW", StockPush(on_hand=2, version=8, safety_stock=1), world.stock)
    # Then available is recomputed against what is reserved (2 on hand, 3 reserved: -1)
    assert newer.level is not None
    assert (newer.level.on_hand, newer.level.reserved, newer.level.available, newer.level.safety_stock) == (
        2, 3, -1, 1)
    assert world.explained("NEW")
    with pytest.raises(InvalidStockRequest, match="unknown warehouse"):
        push_stock("WH-XX", "NEW", StockPush(on_hand=1, version=1), world.stock)


def test_signals_fire_once_per_crossing_and_listings_coalesce() -> None:
    # Given 5 units with safety stock 3
    world = World()
    world.push("HOT", 5, safety_stock=3)
    publish_stock_signals(["HOT"], world.signals)
    assert [e.detail_type for e in world.events.events] == ["listing.update"] * 4
    world.events.events.clear()
    # When orders take it below the safety stock, then a batch repeats the same view
    for n in range(1, 4):
        world.store(synthetic_order(n, "HOT"))
    first = publish_stock_signals(["HOT"], world.signals)
    again = publish_stock_signals(["HOT", "HOT"], world.signals)
    # Then one alert, one coupon suspension, one listing update per channel, one SNS message; nothing again
    assert Counter(first.published) == Counter({"stock.low": 1, "coupon.suspend": 1, "listing.update": 4})
    assert first.notified == 1 and again.published == []
    assert [e.detail["quantity"] for e in world.events.events if e.detail_type == "listing.update"] == [2] * 4
    # When more orders stay below, nothing but the listing changes; a push back above resumes coupons
    world.store(synthetic_order(9, "HOT"))
    assert publish_stock_signals(["HOT"], world.signals).published == ["listing.update"] * 4
    world.push("HOT", 20)
    assert Counter(publish_stock_signals(["HOT"], world.signals).published) == Counter(
        {"stock.recovered": 1, "coupon.resume": 1, "listing.update": 4})


def test_any_later_status_change_commits_its_stock_effect() -> None:
    from ocp.domain.inventory.planning import status_change_commit

    # Given a reserved order of 2
    world = World()
    world.push("TEA", 5)
    reserved = world.store(synthetic_order(1, "TEA", 2)).order
    assert reserved is not None
    # When a fulfilment callback marks it shipped (one commit at the revision it read)
    shipped = reserved.model_copy(update={"status": OrderStatus.shipped, "revision": reserved.revision + 1})
    change = status_change_commit(reserved, shipped, actor="fulfillment_callback", at=T0)
    assert world.orders.commit(change) is None
    # Then on_hand and reserved dropped together; a plain status change moves no stock
    assert world.board("TEA") == (3, 0, 3)
    stored = world.orders.get("shopify-1")
    assert stored is not None and stored.reservation is not None
    assert stored.reservation.state == ReservationState.shipped
    delivered = stored.model_copy(update={"status": OrderStatus.delivered, "revision": stored.revision + 1})
    assert status_change_commit(stored, delivered, actor="t", at=T0).movements == ()


def test_the_sweeper_rebalances_skewed_shards_and_drains_retired_ones() -> None:
    from ocp.services.inventory.shards import rebalance_sharded

    # Given 4 shards of 3 units, and orders that drained some shards more than others
    world = World()
    world.policy(StockPolicy(skus={"HOT": SkuPolicy(shards=4)}))
    world.push("HOT", 12)
    for n in range(1, 6):
        world.store(synthetic_order(n, "HOT"))

    def shards() -> list[int]:
        head, levels = world.inventory.shards("WH-GZ", "HOT")
        return [s.available for s in levels]

    assert max(shards()) - min(shards()) > 1
    # When the sweeper rebalances
    assert rebalance_sharded(world.stock) == 1
    # Then available is even again, nothing was created or lost, and the ledger still explains the board
    assert sorted(shards()) == [1, 2, 2, 2] and world.board("HOT") == (12, 5, 7)
    assert rebalance_sharded(world.stock) == 0
    # When the policy shrinks the SKU to 2 shards / Then the retired shards give up what they can sell
    world.policy(StockPolicy(skus={"HOT": SkuPolicy(shards=2)}))
    assert rebalance_sharded(world.stock) == 1
    assert shards()[2:] == [0, 0] and sum(shards()) == 7 and world.board("HOT") == (12, 5, 7)
    assert world.inventory.locations("HOT") == {"WH-GZ": 2}
    assert world.explained("HOT")
