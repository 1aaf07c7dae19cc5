"""Orders held for stock alone are retried when their SKU is restocked, with no person: through the release path,
oldest first, bounded, quietly when still short, and never twice (over the in-memory twins)."""

from __future__ import annotations

from datetime import timedelta

from ocp.adapters.memory.warehouses import MemoryWarehouses
from ocp.domain.inventory.pushes import StockPush
from ocp.domain.order.model import Hold, HoldReason, Order, OrderStatus
from ocp.services.inventory.stock import InventoryDeps, push_stock
from ocp.services.operations.restock import RestockDeps, RestockReport, retry_held_for_stock
from tests.held_support import RulesWorld, paid_order
from tests.rules_support import line


def _held_for_stock(world: RulesWorld, number: int, lines: list[dict[str, object]] | None = None) -> Order:
    order_id = f"taobao-{number}"
    world.store(paid_order(order_id, lines=lines or [line("TEA-1", 1, 19900)], buyer_id=f"buyer-{number}"))
    held = world.order(order_id)
    assert held.status == OrderStatus.held and [h.reason for h in held.holds] == [HoldReason.insufficient_stock]
    world.now += timedelta(minutes=1)  # the held queue is oldest first
    return held


def _restock(world: RulesWorld, sku: str = "TEA-1", **bounds: int) -> RestockReport:
    return retry_held_for_stock(sku, RestockDeps(held=world.held, stock=world.inventory), **bounds)


def _empty_world(*skus: str) -> RulesWorld:
    world = RulesWorld()
    for sku in skus:
        world.push(sku, 0)
    return world


def test_an_order_held_for_stock_is_reserved_and_dispatched_once_stock_arrives_with_no_person() -> None:
    # Given an order held because TEA-1 was sold out
    world = _empty_world("TEA-1")
    _held_for_stock(world, 1)
    # When the WMS pushes 3 units and the restock retry runs
    world.push("TEA-1", 3)
    report = _restock(world)
    # Then the order is reserved, handed to dispatch, and its timeline says OCP released it, and why
    order = world.order("taobao-1")
    assert report.reserved == ["taobao-1"] and not report.more
    assert (order.status, order.holds, order.warehouse) == (OrderStatus.reserved, (), "WH-GZ")
    assert [r.order_id for r in world.dispatch.requests] == ["taobao-1"]
    [released] = [e for e in order.timeline if e.event == "released"]
    assert (released.actor, released.source, released.detail) == (
        "ocp", "ocp", "released automatically: stock arrived for TEA-1")
    assert world.available("TEA-1") == 2


def test_what_this_process_saw_sold_out_a_moment_ago_does_not_stop_the_retry() -> None:
    # Given an order just held for stock (the process remembers TEA-1 sold out for a second)
    world = _empty_world("TEA-1")
    _held_for_stock(world, 1)
    # When the push lands within that second, with the caches as they are, and the retry runs
    deps = InventoryDeps(stock=world.inventory, warehouses=MemoryWarehouses({"WH-GZ"}), now=lambda: world.now)
    push_stock("WH-GZ", "TEA-1", StockPush(on_hand=3, version=99), deps)
    # Then the retry tries the stock anyway, and reserves
    assert _restock(world).reserved == ["taobao-1"]


def test_a_redelivered_restock_reserves_nothing_twice() -> None:
    # Given an order retried and reserved on a restock
    world = _empty_world("TEA-1")
    _held_for_stock(world, 1)
    world.push("TEA-1", 3)
    _restock(world)
    revision = world.order("taobao-1").revision
    # When the same stream records come again / Then nothing more is reserved or written
    again = _restock(world)
    assert again.retried == 0 and world.available("TEA-1") == 2
    assert world.order("taobao-1").revision == revision


def test_an_order_with_another_hold_too_stays_held_untouched() -> None:
    # Given an order held for stock and for its address (a person must look at it)
    world = _empty_world("TEA-1")
    held = _held_for_stock(world, 1)
    also = Hold(reason=HoldReason.address_unresolved, detail="no such district")
    world.orders.put_unchecked(held.model_copy(update={"holds": (*held.holds, also)}))
    # When stock arrives / Then it is not retried
    world.push("TEA-1", 3)
    report = _restock(world)
    order = world.order("taobao-1")
    assert report.retried == 0 and report.scanned == 1
    assert order.status == OrderStatus.held and len(order.holds) == 2 and world.available("TEA-1") == 3


def test_oldest_first_until_the_stock_is_used_and_a_bigger_order_does_not_block_the_rest() -> None:
    # Given, oldest first: an order for 5, then three orders for 1
    world = _empty_world("TEA-1")
    _held_for_stock(world, 1, [line("TEA-1", 5, 19900)])
    for number in (2, 3, 4):
        _held_for_stock(world, number)
    # When 2 units arrive
    world.push("TEA-1", 2)
    report = _restock(world)
    # Then the two oldest orders that fit are reserved; the order for 5 and the youngest wait, as they were
    assert report.reserved == ["taobao-2", "taobao-3"]
    statuses = {n: world.order(f"taobao-{n}").status for n in (1, 2, 3, 4)}
    assert statuses == {1: OrderStatus.held, 2: OrderStatus.reserved, 3: OrderStatus.reserved, 4: OrderStatus.held}
    assert world.available("TEA-1") == 0


def test_the_retries_are_bounded_per_restock_and_the_rest_go_next_time() -> None:
    # Given five orders held for stock
    world = _empty_world("TEA-1")
    for number in range(1, 6):
        _held_for_stock(world, number)
    world.push("TEA-1", 10)
    # When a restock may retry three
    first = _restock(world, retries=3)
    # Then the three oldest are reserved and it says there is more; the next restock takes the rest
    assert first.reserved == ["taobao-1", "taobao-2", "taobao-3"] and first.more
    second = _restock(world, retries=3)
    assert second.reserved == ["taobao-4", "taobao-5"] and not second.more
    # and the number of held orders read is bounded too
    world.push("TEA-1", 0)
    for number in range(6, 10):
        _held_for_stock(world, number)
    world.push("TEA-1", 10)
    scanned = _restock(world, scan=2)
    assert scanned.scanned == 2 and scanned.more and scanned.reserved == ["taobao-6", "taobao-7"]


def test_an_order_short_of_another_sku_is_passed_over_without_a_write() -> None:
    # Given an order for TEA-1 and CUP-1, both sold out
    world = _empty_world("TEA-1", "CUP-1")
    held = _held_for_stock(world, 1, [line("TEA-1", 1, 19900), line("CUP-1", 1, 5000)])
    # When only TEA-1 arrives / Then the order is read but not retried: CUP-1 has nothing to give
    world.push("TEA-1", 3)
    report = _restock(world)
    assert (report.scanned, report.retried) == (1, 0)
    assert world.order("taobao-1") == held


def test_an_order_still_short_after_its_retry_stays_held_quietly_with_its_detail_updated() -> None:
    # Given an order for TEA-1 and CUP-1, both sold out at WH-GZ (routing sends it there: only WH-GZ has both)
    world = _empty_world("TEA-1", "CUP-1")
    held = _held_for_stock(world, 1, [line("TEA-1", 1, 19900), line("CUP-1", 1, 5000)])
    # When TEA-1 arrives at WH-GZ and CUP-1 only at WH-SH (no rule splits the order)
    world.push("CUP-1", 3, warehouse="WH-SH")
    world.push("TEA-1", 3)
    report = _restock(world)
    # Then it is held as before: same timeline, same place in the queue, the detail naming what is still short
    order = world.order("taobao-1")
    assert report.held == ["taobao-1"] and report.reserved == []
    assert order.status == OrderStatus.held and order.status_since == held.status_since
    assert order.timeline == held.timeline
    assert [(h.reason, h.detail) for h in order.holds] == [
        (HoldReason.insufficient_stock, "CUP-1 needs 1, 0 available")]
    assert world.available("TEA-1") == 3
    # and a second restock with nothing new writes nothing
    revision = order.revision
    _restock(world)
    assert world.order("taobao-1").revision == revision


def test_no_stock_left_means_no_read_of_the_queue() -> None:
    # Given an order held for stock and a SKU whose stock is all reserved / When / Then nothing is retried
    world = _empty_world("TEA-1")
    _held_for_stock(world, 1)
    report = _restock(world)
    assert (report.scanned, report.retried) == (0, 0)
