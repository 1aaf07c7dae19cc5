"""One behavioural suite for the stock ports (StockStore, SignalStore, the order transaction), run against the
in-memory twin and the DynamoDB adapters (moto)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from infra import wiring
from infra.local.provision import local_name, table_definition
from infra.local.stock_lab import synthetic_order
from ocp.adapters.dynamodb.orders import DynamoOrderStore
from ocp.adapters.dynamodb.signals import DynamoSignalStore
from ocp.adapters.dynamodb.stock import DynamoStockStore, StockTables
from ocp.adapters.memory.inventory import MemoryInventory
from ocp.adapters.memory.orders import MemoryOrderStore
from ocp.domain.inventory.adjustments import plan_adjustment
from ocp.domain.inventory.chunks import all_entry_ids, chunk_commit, intent_commit
from ocp.domain.inventory.commit import BooksRefusal, CounterChange, CountGuard, LimitBreach, OrderCommit, Shortage
from ocp.domain.inventory.policy import SkuPolicy, StockPolicy
from ocp.domain.inventory.reservation import LockStrategy, Reservation, ReservationState, StockAllocation
from ocp.domain.inventory.signals import SignalState
from ocp.domain.inventory.stock import MovementKind, StockHead, StockMovement, ledger_entry
from ocp.domain.order.model import Order, OrderStatus

AT = datetime(2026, 11, 11, 12, 0, tzinfo=UTC)


@dataclass
class Stores:
    stock: Any
    orders: Any
    signals: Any


@pytest.fixture(params=["memory", "dynamodb"])
def stores(request: pytest.FixtureRequest) -> Iterator[Stores]:
    if request.param == "memory":
        inventory = MemoryInventory()
        yield Stores(stock=inventory, orders=MemoryOrderStore(inventory), signals=inventory)
        return
    with mock_aws():
        client = boto3.client("dynamodb")
        for table in (wiring.ORDERS, wiring.STOCK, wiring.STOCK_LEDGER, wiring.INVENTORY):
            client.create_table(**table_definition(table))  # only what these ports touch: fast

        def name(resource_id: str) -> str:
            return local_name(resource_id)

        tables = StockTables(stock=name("stock"), ledger=name("stock-ledger"), inventory=name("inventory"))
        orders = DynamoOrderStore(boto3.resource("dynamodb").Table(name("orders")), stock=tables, client=client)
        yield Stores(stock=DynamoStockStore(client, tables), orders=orders,
                     signals=DynamoSignalStore(client, name("inventory")))


def _push(stores: Stores, sku: str, on_hand: int, *, version: int = 1, shards: int = 1,
          warehouse: str = "WH-GZ", counted_at: datetime | None = None) -> bool:
    head, current = stores.stock.shards(warehouse, sku)
    adjustment = plan_adjustment(
        MovementKind.push, warehouse, sku, current=current, total_on_hand=on_hand,
        head=StockHead(version=version, shards=shards, slots=max(shards, head.slots if head else 1), updated_at=AT,
                       counted_at=counted_at),
        actor="wms", reason="push", at=AT, entry_prefix=f"push#{warehouse}#{version}#{sku}", version_guard=version,
    )
    ok: bool = stores.stock.adjust(adjustment)
    return ok


def _reserve(order: Order, *moves: StockMovement, counters: tuple[CounterChange, ...] = (),
             expected: int | None = None) -> OrderCommit:
    return OrderCommit(
        order=order, expected_revision=expected, movements=moves,
        ledger=tuple(ledger_entry(m, f"order#{order.order_id}#1#reserve#{m.warehouse}#{m.shard}#{m.sku}",
                                  actor="t", reason="r", at=AT, order_id=order.order_id) for m in moves),
        counters=counters,
    )


def test_a_push_creates_shards_and_a_stale_version_or_moved_stock_is_refused(stores: Stores) -> None:
    # Given a first push over 3 shards
    assert _push(stores, "A", 10, shards=3)
    head, shards = stores.stock.shards("WH-GZ", "A")
    assert head.version == 1 and head.shards == 3
    assert [(s.shard, s.on_hand, s.available) for s in shards] == [(0, 4, 4), (1, 3, 3), (2, 3, 3)]
    # When the same version comes again, or a plan made from an old read is applied
    assert not _push(stores, "A", 12, version=1)
    stale_plan = plan_adjustment(
        MovementKind.push, "WH-GZ", "A", current=shards, total_on_hand=5, head=head.model_copy(update={"version": 3}),
        actor="wms", reason="p", at=AT, entry_prefix="push#WH-GZ#3#A", version_guard=3)
    assert _push(stores, "A", 7, version=2, shards=3)
    # Then neither applies, the newer one did, and the registry and levels agree
    assert not stores.stock.adjust(stale_plan)
    assert stores.stock.locations("A") == {"WH-GZ": 3}
    [level] = stores.stock.levels("A")
    assert (level.on_hand, level.available, level.version, level.shards) == (7, 7, 2, 3)
    assert stores.stock.availability("WH-GZ", "A", [1, 2, 7]) == {1: 2, 2: 2, 7: 0}
    assert stores.stock.levels("nothing") == [] and stores.stock.shards("WH-GZ", "nothing") == (None, [])


def test_a_reservation_commits_order_stock_and_ledger_together(stores: Stores) -> None:
    # Given 5 units / When an order reserves 2 / Then order, stock and ledger moved together
    _push(stores, "A", 5)
    order = synthetic_order(1, "A", 2)
    assert stores.orders.commit(_reserve(order, StockMovement.reserve("WH-GZ", "A", 0, 2))) is None
    assert stores.orders.get(order.order_id) == order
    [level] = stores.stock.levels("A")
    assert (level.on_hand, level.reserved, level.available) == (5, 2, 3)
    assert sorted((e.kind.value, e.delta_reserved, e.order_id or "") for e in stores.stock.ledger("A")) == [
        ("push", 0, ""), ("reserve", 2, order.order_id)]


def test_every_failed_condition_is_reported_and_nothing_is_written(stores: Stores) -> None:
    # Given A with 1 left on shard 0, nothing of B, a buyer who already has 2 of a limit of 2, and order 1 stored
    _push(stores, "A", 1)
    stores.orders.commit(_reserve(synthetic_order(1, "A"), counters=(CounterChange("b", "A", 2, 2),)))
    # When an order wants 2 of A, 1 of B (never stocked) and 1 more for the buyer
    rejected = stores.orders.commit(_reserve(
        synthetic_order(2, "A", lines=[("A", 2), ("B", 1)]),
        StockMovement.reserve("WH-GZ", "A", 0, 2), StockMovement.reserve("WH-GZ", "B", 0, 1),
        counters=(CounterChange("b", "A", 1, 2),)))
    # Then each failure comes back, with what the item held, and no part of it happened
    assert rejected is not None and not rejected.order_conflict
    assert set(rejected.shortages) == {Shortage("WH-GZ", "A", 0, 1), Shortage("WH-GZ", "B", 0, 0)}
    assert rejected.over_limit == (LimitBreach("A", 2, 2),)
    assert stores.orders.get("shopify-2") is None
    assert stores.stock.levels("A")[0].reserved == 0
    # and a second create of order 1 is an order conflict
    again = stores.orders.commit(_reserve(synthetic_order(1, "A")))
    assert again is not None and again.order_conflict


def test_release_and_ship_update_at_the_expected_revision_only(stores: Stores) -> None:
    # Given a reservation of 3 / When 2 ship at the read revision, then again at a stale one / Then once
    _push(stores, "A", 5)
    order = synthetic_order(1, "A", 3)
    stores.orders.commit(_reserve(order, StockMovement.reserve("WH-GZ", "A", 0, 3)))
    newer = order.model_copy(update={"revision": order.revision + 1})
    ship = OrderCommit(order=newer, expected_revision=order.revision,
                       movements=(StockMovement.ship("WH-GZ", "A", 0, 2),),
                       ledger=(ledger_entry(StockMovement.ship("WH-GZ", "A", 0, 2), "ship-1", actor="wms",
                                            reason="shipped", at=AT),))
    assert stores.orders.commit(ship) is None
    stale = stores.orders.commit(ship)
    assert stale is not None and stale.order_conflict
    [level] = stores.stock.levels("A")
    assert (level.on_hand, level.reserved, level.available) == (3, 1, 2)


def test_a_commit_writes_the_next_revision_whatever_the_caller_set(stores: Stores) -> None:
    # Given a reserved order / When a change is committed with the revision left as read
    _push(stores, "A", 5)
    order = synthetic_order(1, "A", 3)
    stores.orders.commit(_reserve(order, StockMovement.reserve("WH-GZ", "A", 0, 3)))
    change = OrderCommit(order=order.model_copy(update={"warehouse": "WH-GZ"}), expected_revision=order.revision)
    # Then the commit carries and stores the next revision, and the old one can no longer be written over
    assert change.order.revision == order.revision + 1
    assert stores.orders.commit(change) is None
    stored = stores.orders.get(order.order_id)
    assert stored is not None and stored.revision == order.revision + 1
    again = stores.orders.commit(OrderCommit(order=order, expected_revision=order.revision))
    assert again is not None and again.order_conflict


def test_unpaid_pre_reservations_are_found_by_expiry(stores: Stores) -> None:
    # Given two unpaid pre-reservations and a paid one / When / Then only expired unpaid ones, oldest first
    _push(stores, "A", 5)
    for number, minutes, status in [(1, 5, "pending_payment"), (2, 1, "pending_payment"), (3, 1, "received")]:
        order = synthetic_order(number, "A", status=status)
        reservation = Reservation(seq=1, state=ReservationState.active, strategy=LockStrategy.pre_reserve,
                                  warehouse="WH-GZ", allocations=(StockAllocation(sku="A", quantity=1),),
                                  reserved_at=AT, expires_at=AT + timedelta(minutes=minutes))
        stores.orders.commit(_reserve(order.model_copy(update={"reservation": reservation}),
                                      StockMovement.reserve("WH-GZ", "A", 0, 1)))
    assert stores.orders.expired_reservations(AT + timedelta(minutes=2), 10) == ["shopify-2"]
    assert stores.orders.expired_reservations(AT + timedelta(minutes=9), 10) == ["shopify-2", "shopify-1"]
    paid = stores.orders.get("shopify-1").model_copy(update={"status": OrderStatus.reserved, "revision": 1})
    assert stores.orders.commit(OrderCommit(order=paid, expected_revision=0)) is None
    assert stores.orders.expired_reservations(AT + timedelta(minutes=9), 10) == ["shopify-2"]


def test_the_policy_is_versioned_and_written_only_over_the_version_read(stores: Stores) -> None:
    # Given / When / Then
    assert stores.stock.policy() == StockPolicy()
    policy = StockPolicy(skus={"A": SkuPolicy(shards=4, purchase_limit=2)})
    assert stores.stock.put_policy(policy, expected_version=0)
    assert not stores.stock.put_policy(policy, expected_version=0)
    stored = stores.stock.policy()
    assert stored.version == 1 and stored.skus["A"].shards == 4
    assert stores.stock.put_policy(StockPolicy(), expected_version=1)
    assert stores.stock.policy().version == 2


def test_signal_state_only_moves_forward(stores: Stores) -> None:
    # Given / When / Then: newer as_of wins; the same as_of may only go from stored to published
    assert stores.signals.get("k") is None
    assert stores.signals.put("k", SignalState(value=1, as_of=5, notified=False))
    assert stores.signals.put("k", SignalState(value=1, as_of=5, notified=True))
    assert not stores.signals.put("k", SignalState(value=0, as_of=5, notified=False))
    assert not stores.signals.put("k", SignalState(value=0, as_of=4, notified=False))
    assert stores.signals.put("k", SignalState(value=0, as_of=6, notified=False))
    assert stores.signals.get("k") == SignalState(value=0, as_of=6, notified=False)


# ---- count times and the books' floor ---------------------------------------------------------------------


def _moved(order: Order, *moves: StockMovement, guards: tuple[CountGuard, ...] = ()) -> OrderCommit:
    """The stored `order`'s next revision with `moves` (their ledger entries), at the revision it has."""
    return OrderCommit(
        order=order, expected_revision=order.revision, movements=moves, count_guards=guards,
        ledger=tuple(ledger_entry(m, f"order#{order.order_id}#1#{m.kind.value}#{m.warehouse}#{m.shard}#{m.sku}",
                                  actor="t", reason="r", at=AT, order_id=order.order_id) for m in moves),
    )


def test_a_push_keeps_its_count_time_which_a_rebalance_leaves_alone(stores: Stores) -> None:
    # Given a push counted at 12:05 over 2 shards, and a SKU pushed without a count time
    counted = AT + timedelta(minutes=5)
    assert _push(stores, "A", 10, shards=2, counted_at=counted)
    assert _push(stores, "B", 1)
    # When it is read back, and after a rebalance of the shards
    head, shards = stores.stock.shards("WH-GZ", "A")
    rebalance = plan_adjustment(MovementKind.rebalance, "WH-GZ", "A", current=shards, total_on_hand=10,
                                head=head.model_copy(update={"shards": 1}), actor="t", reason="r", at=AT,
                                entry_prefix="rebalance#WH-GZ#1#A")
    assert stores.stock.adjust(rebalance)
    # Then the head, the level and the one-read lookup all say 12:05; none for B or a SKU never stocked
    assert stores.stock.shards("WH-GZ", "A")[0].counted_at == counted
    assert stores.stock.levels("A")[0].counted_at == counted
    assert stores.stock.count_times([("WH-GZ", "A"), ("WH-GZ", "B"), ("WH-SH", "A")]) == {
        ("WH-GZ", "A"): counted, ("WH-GZ", "B"): None, ("WH-SH", "A"): None}
    # and a newer push replaces it
    assert _push(stores, "A", 8, version=2, counted_at=counted + timedelta(minutes=1))
    assert stores.stock.count_times([("WH-GZ", "A")]) == {("WH-GZ", "A"): counted + timedelta(minutes=1)}


def test_release_and_ship_never_take_on_hand_or_reserved_below_zero(stores: Stores) -> None:
    # Given 2 reserved out of 5, then a count of 1 on the shelf (available -1)
    _push(stores, "A", 5)
    order = synthetic_order(1, "A", 2)
    stores.orders.commit(_reserve(order, StockMovement.reserve("WH-GZ", "A", 0, 2)))
    _push(stores, "A", 1, version=2)
    stored = stores.orders.get(order.order_id)
    # When 2 ship (on_hand would be -1), 3 are released (reserved would be -1), or a shard that is not there moves
    ship = stores.orders.commit(_moved(stored, StockMovement.ship("WH-GZ", "A", 0, 2)))
    release = stores.orders.commit(_moved(stored, StockMovement.release("WH-GZ", "A", 0, 3)))
    missing = stores.orders.commit(_moved(stored, StockMovement.release("WH-GZ", "A", 1, 1)))
    # Then each is refused with what the shard had, and nothing was written
    assert ship is not None and ship.refused == (BooksRefusal("WH-GZ", "A", 0, MovementKind.ship, 1, 2),)
    assert release is not None and release.refused == (BooksRefusal("WH-GZ", "A", 0, MovementKind.release, 1, 2),)
    assert missing is not None and missing.refused == (BooksRefusal("WH-GZ", "A", 1, MovementKind.release, None,
                                                                    None),)
    assert not (ship.order_conflict or ship.stale_count)
    [level] = stores.stock.levels("A")
    assert (level.on_hand, level.reserved, level.available) == (1, 2, -1)
    assert stores.orders.get(order.order_id) == stored
    # while what the books can take goes through: the reservation given back, on_hand untouched
    counted = StockMovement.ship("WH-GZ", "A", 0, 2, counted=2)
    assert (counted.kind, counted.delta_on_hand, counted.delta_reserved, counted.delta_available) == (
        MovementKind.ship_counted, 0, -2, 2)
    assert stores.orders.commit(_moved(stored, counted)) is None
    [level] = stores.stock.levels("A")
    assert (level.on_hand, level.reserved, level.available) == (1, 0, 1)


def test_a_count_guard_holds_only_while_no_newer_push_landed(stores: Stores) -> None:
    # Given 2 of A reserved on shard 1 of 2 (the head is not moved) and 1 of B on its head, both counted at 12:00
    _push(stores, "A", 10, shards=2, counted_at=AT)
    _push(stores, "B", 5, counted_at=AT)
    order = synthetic_order(1, "A", lines=[("A", 2), ("B", 1)])
    stores.orders.commit(_reserve(order, StockMovement.reserve("WH-GZ", "A", 1, 2),
                                  StockMovement.reserve("WH-GZ", "B", 0, 1)))
    stored = stores.orders.get(order.order_id)
    moves = (StockMovement.ship("WH-GZ", "A", 1, 2), StockMovement.ship("WH-GZ", "B", 0, 1))
    read = (CountGuard("WH-GZ", "A", AT), CountGuard("WH-GZ", "B", AT))
    # When a push lands on either head after the count times were read
    _push(stores, "A", 10, version=2, shards=2, counted_at=AT + timedelta(minutes=1))
    stale_a = stores.orders.commit(_moved(stored, *moves, guards=read))
    _push(stores, "B", 5, version=2, counted_at=AT + timedelta(minutes=1))
    stale_b = stores.orders.commit(_moved(stored, *moves, guards=(read[0], CountGuard("WH-GZ", "B", AT))))
    # Then the commit is refused as stale and nothing moved; with the count times as they are now it goes through
    assert stale_a is not None and stale_a.stale_count and not stale_a.refused and not stale_a.order_conflict
    assert stale_b is not None and stale_b.stale_count and not stale_b.refused
    assert [lv.reserved for lv in stores.stock.levels("A") + stores.stock.levels("B")] == [2, 1]
    fresh = (CountGuard("WH-GZ", "A", AT + timedelta(minutes=1)), CountGuard("WH-GZ", "B", AT + timedelta(minutes=1)))
    assert stores.orders.commit(_moved(stored, *moves, guards=fresh)) is None
    assert [lv.reserved for lv in stores.stock.levels("A") + stores.stock.levels("B")] == [0, 0]
    # and a guard that no push ever stored a count time for holds as None
    _push(stores, "C", 3)
    assert stores.stock.count_times([("WH-GZ", "C")]) == {("WH-GZ", "C"): None}


def test_a_chunk_lands_only_while_the_order_carries_its_intent_and_the_ledger_tells_which_landed(
        stores: Stores) -> None:
    # Given A and B stocked, and the intent of a two-chunk reservation written with the new order
    _push(stores, "A", 5)
    _push(stores, "B", 5)
    order = synthetic_order(1, "A", lines=[("A", 1), ("B", 1)])
    change = _reserve(order, StockMovement.reserve("WH-GZ", "A", 0, 1), StockMovement.reserve("WH-GZ", "B", 0, 1))
    first = intent_commit(change, order, limit=3, started_at=AT)  # room for one movement per chunk
    assert stores.orders.transaction_items == 100 and stores.orders.commit(first) is None
    stored = stores.orders.get(order.order_id)
    intent = stored.reservation_intent
    assert stored == first.order and intent is not None and len(intent.chunks) == 2  # the intent round-trips
    # When its first chunk is written, and written again
    chunk = chunk_commit(stored, intent, 0)
    assert stores.orders.commit(chunk) is None
    assert stores.orders.commit(chunk).order_conflict
    # Then it moved the stock once, left the order item alone, and the ledger says which chunk landed
    assert [(lv.sku, lv.reserved) for sku in "AB" for lv in stores.stock.levels(sku)] == [("A", 1), ("B", 0)]
    assert stores.orders.get(order.order_id) == stored
    ids = all_entry_ids(order.order_id, intent)
    assert stores.orders.recorded(ids) == {ids[0]} and ids[0].endswith(f"#i{intent.revision}")
    # And a chunk of another intent is refused on the order's check, moving nothing
    stale = chunk_commit(stored, intent.model_copy(update={"revision": 7}), 1)
    assert stores.orders.commit(stale).order_conflict
    assert [lv.reserved for lv in stores.stock.levels("B")] == [0]
    # And the sweeper's index lists the order once the intent is older than the grace
    assert stores.orders.expired_reservations(AT + timedelta(minutes=1), 10) == []
    assert stores.orders.expired_reservations(AT + timedelta(minutes=3), 10) == [order.order_id]
