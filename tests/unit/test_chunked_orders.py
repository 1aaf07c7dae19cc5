"""Orders too large for one DynamoDB transaction: reserved, released and shipped in chunks behind an intent, all or
nothing, and finished or undone by whoever finds one a crash left half-written (over the in-memory twins)."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

import pytest

from infra.local.stock_lab import synthetic_order
from ocp.adapters.memory.orders import MemoryOrderStore
from ocp.domain.inventory.chunks import RESUMED
from ocp.domain.inventory.commit import CommitRejected, OrderCommit
from ocp.domain.inventory.policy import SkuPolicy, StockPolicy
from ocp.domain.inventory.reservation import ReservationState
from ocp.domain.operations.held_queue import released
from ocp.domain.order.model import HoldReason, Order, OrderLine, OrderStatus
from ocp.services.decisions.order_path import place
from ocp.services.inventory.expiry import release_expired
from ocp.services.inventory.reservation import RoutePlan, move_reservation
from ocp.services.order.processing import Outcome, ProcessingDeps, store_order
from ocp.services.order.updates import update_order
from tests.unit.test_reservation import T0, World


class Crash(Exception):
    """The process died (a Lambda timeout, a lost container) between two writes."""


class Crashing:
    """The order store of a process that dies on its `writes + 1`-th commit: everything before it landed."""

    def __init__(self, orders: MemoryOrderStore, writes: int) -> None:
        self._orders = orders
        self._left = writes

    def __getattr__(self, name: str) -> Any:
        return getattr(self._orders, name)

    def commit(self, change: OrderCommit) -> CommitRejected | None:
        if self._left == 0:
            raise Crash
        self._left -= 1
        return self._orders.commit(change)


def _lines(count: int, prefix: str = "SKU") -> list[tuple[str, int]]:
    return [(f"{prefix}-{n:03}", 1) for n in range(count)]


def _stocked(count: int, on_hand: int = 5, **short: int) -> tuple[World, list[tuple[str, int]]]:
    world = World()
    lines = _lines(count)
    for sku, _ in lines:
        world.push(sku, short.get(sku.replace("-", "_"), on_hand))
    return world, lines


def _crashing(world: World, writes: int) -> ProcessingDeps:
    store = Crashing(world.orders, writes)
    assert world.processing.stock is not None
    return world.processing._replace(orders=store, stock=world.processing.stock._replace(orders=store))


def _reserved_units(world: World, lines: list[tuple[str, int]]) -> int:
    return sum(world.board(sku)[1] for sku, _ in lines)


def _balanced(world: World, lines: list[tuple[str, int]]) -> bool:
    return all(world.explained(sku) for sku, _ in lines)


def _consistent(world: World, order: Order, lines: list[tuple[str, int]]) -> None:
    """One of the two states the brief allows: reserved with all of its stock, or holding none of it."""
    assert order.reservation_intent is None
    units = _reserved_units(world, lines)
    if order.status == OrderStatus.reserved:
        assert order.reservation is not None and order.reservation.state == ReservationState.active
        assert units == sum(a.quantity for a in order.reservation.allocations) == len(lines)
    else:
        assert units == 0 and (order.reservation is None or order.reservation.state != ReservationState.active)
    assert _balanced(world, lines)


# ---- reserving ------------------------------------------------------------------------------------------------


def test_a_300_line_order_is_reserved_in_seven_chunks_with_no_read() -> None:
    # Given 300 stocked SKUs and a warm configuration cache
    world, lines = _stocked(300)
    world.catalog.policy()
    world.catalog.locations([sku for sku, _ in lines])
    reads, writes = world.inventory.calls, world.inventory.commits
    # When one order wants them all (601 items)
    order = world.store(synthetic_order(1, "x", lines=lines)).order
    # Then it is reserved whole: intent + 7 chunks of at most 99 items + final write, and not a read
    assert order is not None and order.status == OrderStatus.reserved and order.reservation_intent is None
    assert (world.inventory.calls - reads, world.inventory.commits - writes) == (0, 9)
    assert _reserved_units(world, lines) == 300 and _balanced(world, lines)
    stored = world.orders.get("shopify-1")
    assert stored is not None and stored.reservation_intent is None and stored.revision == order.revision == 2
    # And the ledger says which reservation cycle and which intent wrote each entry
    assert Counter(e.kind.value for e in world.inventory.entries.values() if e.order_id) == {"reserve": 300}
    assert all(e.entry_id.endswith("#i1") for e in world.inventory.entries.values() if e.order_id)


def test_a_60_line_order_with_one_sku_short_is_held_and_every_other_sku_is_as_it_was() -> None:
    # Given 60 SKUs, SKU-055 (in the second chunk) sold out
    world, lines = _stocked(60, SKU_055=0)
    # When an order wants one of each
    result = world.store(synthetic_order(1, "x", lines=lines))
    # Then it is held with the usual detail, and the first chunk's reservations were given back
    order = result.order
    assert order is not None and order.status == OrderStatus.held and order.reservation_intent is None
    assert [(h.reason, h.detail) for h in order.holds] == [
        (HoldReason.insufficient_stock, "SKU-055 needs 1, 0 available")]
    assert [world.board(sku) for sku, _ in lines if sku != "SKU-055"] == [(5, 0, 5)] * 59
    assert _balanced(world, lines)
    kinds = Counter(e.kind.value for e in world.inventory.entries.values() if e.order_id)
    assert kinds == {"reserve": 49, "release": 49}  # the first chunk, and its undo
    assert [e.event for e in order.timeline] == ["received", "normalised", "held"]
    # And once the SKU is back, an operator's release (a new attempt, new ledger ids) reserves it whole
    world.push("SKU-055", 3)
    world.now, world.clock_s = T0 + timedelta(minutes=5), 2.0  # past the sold-out memo
    assert world.processing.stock is not None
    again = place(order, released(order, "ops@example.com", world.now, None), world.processing.stock, None)
    assert again is not None and again.status == OrderStatus.reserved
    assert _reserved_units(world, lines) == 60 and _balanced(world, lines)


def test_a_chunked_attempt_refused_in_one_warehouse_is_given_back_and_the_next_warehouse_takes_the_order() -> None:
    # Given WH-BJ (tried first) short of SKU-055, and WH-GZ stocking everything
    world, lines = _stocked(60)
    for sku, _ in lines:
        world.push(sku, 0 if sku == "SKU-055" else 5, warehouse="WH-BJ")
    # When the 60-line order arrives
    order = world.store(synthetic_order(1, "x", lines=lines)).order
    # Then WH-BJ's first chunk was given back and WH-GZ holds the whole order
    assert order is not None and order.status == OrderStatus.reserved and order.warehouse == "WH-GZ"
    assert order.holds == () and [e.event for e in order.timeline][-1] == "reserved"
    levels = {(level.warehouse, level.sku): level.reserved for sku, _ in lines for level in world.inventory.levels(sku)}
    assert {w for (w, _), reserved in levels.items() if reserved} == {"WH-GZ"}
    assert _reserved_units(world, lines) == 60 and _balanced(world, lines)


def test_a_large_reservation_follows_edited_lines_in_chunks_or_is_released_whole() -> None:
    # Given a reserved 60-line order of 2 of each SKU (5 in stock)
    world, lines = _stocked(60)
    before = world.store(synthetic_order(1, "x", lines=[(sku, 2) for sku, _ in lines])).order
    assert before is not None and before.status == OrderStatus.reserved and _reserved_units(world, lines) == 120
    assert world.processing.stock is not None
    route = RoutePlan(candidates=("WH-GZ",))
    # When the channel takes the first 30 lines down to 1 and the last 30 up to 3 (30 releases, 30 reservations)
    edited = _with_lines(before, tuple(line.model_copy(update={"quantity": 1 if i < 30 else 3})
                                       for i, line in enumerate(before.lines)))
    moved = move_reservation(before, edited, world.processing.stock, route=route)
    # Then the reservation follows in chunks, reservations first: every shard moved once, by the difference
    assert moved is not None and moved.status == OrderStatus.reserved and moved.reservation_intent is None
    assert [world.board(sku)[1] for sku, _ in lines] == [1] * 30 + [3] * 30 and _balanced(world, lines)
    cycle_2 = [e for e in world.inventory.entries.values() if e.entry_id.startswith("order#shopify-1#2#")]
    moves = Counter(e.kind.value for e in cycle_2)
    assert moves == {"reserve": 30, "release": 30}
    # When it then wants 6 of SKU-059 (5 on hand) / Then the old reservation is released whole and it is held
    wanting = _with_lines(moved, (*moved.lines[:59], moved.lines[59].model_copy(update={"quantity": 6})))
    short = move_reservation(moved, wanting, world.processing.stock, route=route)
    assert short is not None and short.status == OrderStatus.held and short.reservation is not None
    assert short.holds[-1].reason == HoldReason.insufficient_stock and short.holds[-1].detail.startswith(
        "SKU-059 needs 6")
    assert short.reservation.state == ReservationState.released and short.reservation_intent is None
    assert _reserved_units(world, lines) == 0 and _balanced(world, lines)


def _with_lines(order: Order, lines: tuple[OrderLine, ...]) -> Order:
    """The channel's edit, decided again as the paid order it is (as the order path does)."""
    lines = tuple(line.model_copy(update={"paid": line.unit_price * line.quantity}) for line in lines)
    paid = sum(line.paid for line in lines)
    return order.model_copy(update={"lines": lines, "status": OrderStatus.received, "amounts": order.amounts.model_copy(
        update={"items": paid, "paid": paid})})


def test_a_purchase_limit_refused_in_a_chunk_holds_the_order_and_gives_every_claim_back() -> None:
    # Given SKU-059 limited to 1 per buyer, who bought 1 already
    world, lines = _stocked(60)
    world.policy(StockPolicy(skus={"SKU-059": SkuPolicy(purchase_limit=1)}))
    world.store(synthetic_order(1, "SKU-059", buyer_id="b1"))
    # When the buyer orders all 60 / Then it is held for the limit with nothing of it reserved or counted
    order = world.store(synthetic_order(2, "x", lines=lines, buyer_id="b1")).order
    assert order is not None and order.status == OrderStatus.held
    assert order.holds[-1].detail == "SKU-059: limit 1 per buyer, 1 already bought, this order wants 1"
    assert _reserved_units(world, lines) == 1 and world.inventory.counters[("SKU-059", "b1")] == 1
    assert _balanced(world, lines)


def test_an_order_over_the_stock_line_limit_is_held_unroutable() -> None:
    world, lines = _stocked(1001, on_hand=1)
    order = world.store(synthetic_order(1, "x", lines=lines)).order
    assert order is not None and order.status == OrderStatus.held and order.holds[-1].reason == HoldReason.unroutable
    assert "at most 1000 per order" in order.holds[-1].detail and _reserved_units(world, lines) == 0


# ---- crashes ----------------------------------------------------------------------------------------------------

CHUNKED_WRITES = 6
"""150 lines: intent, 4 chunks (49 + 49 + 49 + 3 lines), final."""


@pytest.mark.parametrize("writes", range(1, CHUNKED_WRITES))
def test_a_crash_between_chunks_is_finished_by_the_redelivered_message(writes: int) -> None:
    # Given 150 stocked SKUs and a processor that dies after `writes` writes of the order's reservation
    world, lines = _stocked(150)
    order = synthetic_order(1, "x", lines=lines)
    with pytest.raises(Crash):
        store_order(order, world.now, _crashing(world, writes))
    stuck = world.orders.get("shopify-1")
    assert stuck is not None and stuck.reservation_intent is not None and stuck.status == OrderStatus.received
    assert _reserved_units(world, lines) == min(49 * (writes - 1), 150) and _balanced(world, lines)
    # When SQS delivers the message again
    result = world.store(order)
    # Then the reservation is finished, once, and the order says it was
    stored = result.order
    assert result.outcome == Outcome.duplicate and stored is not None and stored.status == OrderStatus.reserved
    _consistent(world, stored, lines)
    assert stored.timeline[-1].event == RESUMED and stored.timeline[-2].event == "reserved"
    assert world.store(order).outcome == Outcome.duplicate and _reserved_units(world, lines) == 150


@pytest.mark.parametrize("writes", range(1, CHUNKED_WRITES))
def test_a_crash_between_chunks_is_finished_by_the_sweeper_after_the_grace(writes: int) -> None:
    world, lines = _stocked(150)
    with pytest.raises(Crash):
        store_order(synthetic_order(1, "x", lines=lines), world.now, _crashing(world, writes))
    # When the sweeper runs within the grace / Then it leaves the order to its process
    world.now = T0 + timedelta(minutes=1)
    assert release_expired(world.orders, world.order_stock).settled == []
    # When it runs after the grace / Then it finishes the reservation
    world.now = T0 + timedelta(minutes=3)
    report = release_expired(world.orders, world.order_stock)
    stored = world.orders.get("shopify-1")
    assert report.settled == ["shopify-1"] and stored is not None and stored.status == OrderStatus.reserved
    _consistent(world, stored, lines)
    assert release_expired(world.orders, world.order_stock).settled == []


def test_the_sweeper_undoes_and_holds_an_abandoned_reservation_whose_stock_went_meanwhile() -> None:
    # Given a processor died after the intent and one chunk of a 150-line order
    world, lines = _stocked(150, on_hand=1)
    with pytest.raises(Crash):
        store_order(synthetic_order(1, "x", lines=lines), world.now, _crashing(world, 2))
    # And another order took the last unit of SKU-120 (in a chunk not yet written)
    assert world.store(synthetic_order(2, "SKU-120")).order.status == OrderStatus.reserved  # type: ignore[union-attr]
    # When the sweeper finds it
    world.now = T0 + timedelta(minutes=3)
    assert release_expired(world.orders, world.order_stock).settled == ["shopify-1"]
    # Then the chunks in are given back and the order is held for the stock, as the live path would
    stored = world.orders.get("shopify-1")
    assert stored is not None and stored.status == OrderStatus.held and stored.reservation_intent is None
    assert [(h.reason, h.detail) for h in stored.holds] == [(HoldReason.insufficient_stock,
                                                             "SKU-120 needs 1, 0 available")]
    assert _reserved_units(world, lines) == 1 and _balanced(world, lines)  # order 2's unit only
    assert stored.timeline[-1].event == RESUMED


def test_a_crash_while_undoing_is_finished_by_the_redelivery() -> None:
    # Given the order's reservation ran short and the process died giving its first chunk back
    world, lines = _stocked(150, SKU_140=0)
    order = synthetic_order(1, "x", lines=lines)
    with pytest.raises(Crash):  # intent, 2 chunks, the short 3rd, the undo intent, 1 of 2 given back: dies
        store_order(order, world.now, _crashing(world, 6))
    stuck = world.orders.get("shopify-1")
    assert stuck is not None and stuck.reservation_intent is not None and stuck.reservation_intent.undo
    # When the message comes again / Then the undo is finished and the order keeps nothing
    stored = world.store(order).order
    assert stored is not None and stored.reservation_intent is None and stored.status != OrderStatus.reserved
    assert _reserved_units(world, lines) == 0 and _balanced(world, lines)


# ---- release and ship ---------------------------------------------------------------------------------------------


def test_a_300_line_order_ships_in_chunks() -> None:
    world, lines = _stocked(300)
    world.store(synthetic_order(1, "x", lines=lines))
    writes = world.inventory.commits
    shipped = world.change_status("shopify-1", OrderStatus.shipped)
    assert shipped.status == OrderStatus.shipped and shipped.reservation is not None
    assert shipped.reservation.state == ReservationState.shipped and shipped.reservation_intent is None
    assert world.inventory.commits - writes == 9
    assert [world.board(sku) for sku, _ in lines] == [(4, 0, 4)] * 300 and _balanced(world, lines)
    # And a repeated shipped callback moves nothing again
    world.change_status("shopify-1", OrderStatus.shipped)
    assert [world.board(sku) for sku, _ in lines] == [(4, 0, 4)] * 300


def test_a_300_line_order_cancelled_by_the_channel_releases_in_chunks() -> None:
    world, lines = _stocked(300)
    order = synthetic_order(1, "x", lines=lines)
    world.store(order)
    cancelled = order.model_copy(update={"status": OrderStatus.cancelled, "cancelled_at": T0,
                                         "channel_updated_at": T0 + timedelta(minutes=1)})
    stored = world.store(cancelled).order
    assert stored is not None and stored.status == OrderStatus.cancelled and stored.reservation is not None
    assert stored.reservation.state == ReservationState.released
    assert _reserved_units(world, lines) == 0 and _balanced(world, lines)


def test_a_shipment_interrupted_between_chunks_goes_forward_when_settled() -> None:
    # Given a reserved 300-line order whose shipped callback died after 3 of its writes
    world, lines = _stocked(300)
    world.store(synthetic_order(1, "x", lines=lines))
    with pytest.raises(Crash):
        update_order(Crashing(world.orders, 3), "shopify-1",  # type: ignore[arg-type]
                     lambda o: o.model_copy(update={"status": OrderStatus.shipped}), actor="wms", at=world.now)
    # When the sweeper finds it / Then the shipment is finished (units that left cannot come back)
    world.now = T0 + timedelta(minutes=3)
    assert release_expired(world.orders, world.order_stock).settled == ["shopify-1"]
    stored = world.orders.get("shopify-1")
    assert stored is not None and stored.status == OrderStatus.shipped and stored.reservation_intent is None
    assert [world.board(sku) for sku, _ in lines] == [(4, 0, 4)] * 300 and _balanced(world, lines)


def test_a_large_unpaid_reservation_expires_in_chunks() -> None:
    world, lines = _stocked(120)
    world.store(synthetic_order(1, "x", lines=lines, status="pending_payment"))
    assert _reserved_units(world, lines) == 120
    world.now = T0 + timedelta(minutes=61)
    assert release_expired(world.orders, world.order_stock).released == ["shopify-1"]
    stored = world.orders.get("shopify-1")
    assert stored is not None and stored.status == OrderStatus.pending_payment and stored.reservation is not None
    assert stored.reservation.state == ReservationState.released
    assert _reserved_units(world, lines) == 0 and _balanced(world, lines)
