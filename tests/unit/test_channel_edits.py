"""Channel edits of orders that hold stock, over the in-memory twins: the reservation follows the lines in the same
write, OCP's gift lines survive updates that do not change what was sold, and an edit after the warehouse has the
order is flagged for a person."""

from __future__ import annotations

from datetime import timedelta

from ocp.domain.fulfillment.state import IssueKind
from ocp.domain.order.model import HoldReason, Order, OrderStatus
from ocp.services.inventory.stock import ledger_view
from tests.held_support import RulesWorld, paid_order
from tests.rules_support import line

CUP_WITH_TWO = {"rules": [{"id": "cup", "priority": 1,
                           "when": {"field": "lines.quantity", "gte": 2},
                           "then": {"gift_sku": "CUP-GIFT"}}]}


def _edit(world: RulesWorld, quantity: int, minutes: int = 5, **changes: object) -> Order:
    """The channel's next view of order 1001: the tea at `quantity`, modified `minutes` after the first."""
    later = world.now + timedelta(minutes=minutes)
    world.store(paid_order(lines=[line("TEA-1", quantity, 19900)], channel_updated_at=later, **changes))
    return world.order()


def _reserved(world: RulesWorld, sku: str, warehouse: str = "WH-GZ") -> int:
    return sum(level.reserved for level in world.inventory.levels(sku) if level.warehouse == warehouse)


def _books_balance(world: RulesWorld, *skus: str) -> bool:
    return all(w.explains_board for sku in skus for w in ledger_view(sku, world._inventory_deps).warehouses)


def test_a_quantity_edit_moves_the_reservation_in_one_write() -> None:
    # Given a reserved order of 2 and 5 in stock
    world = RulesWorld()
    world.push("TEA-1", 5)
    world.store(paid_order(lines=[line("TEA-1", 2, 19900)]))
    before = world.order()
    assert (before.status, _reserved(world, "TEA-1")) == (OrderStatus.reserved, 2)
    # When the seller changes the quantity to 3 on the channel
    after = _edit(world, 3)
    # Then the order is reserved for 3 in one write, at the same warehouse, and the books balance
    assert (after.status, after.warehouse, after.revision) == (OrderStatus.reserved, "WH-GZ", before.revision + 1)
    assert after.reservation is not None and after.reservation.quantity("TEA-1") == 3
    assert after.reservation.seq == before.reservation.seq + 1  # type: ignore[union-attr]
    assert (_reserved(world, "TEA-1"), world.available("TEA-1")) == (3, 2)
    assert _books_balance(world, "TEA-1")
    # And back down to 1 releases the difference
    _edit(world, 1, minutes=10)
    assert (_reserved(world, "TEA-1"), world.available("TEA-1")) == (1, 4) and _books_balance(world, "TEA-1")


def test_an_edit_the_stock_cannot_cover_releases_the_old_reservation_and_holds_the_order() -> None:
    # Given a reserved order of 2 and 3 in stock
    world = RulesWorld()
    world.push("TEA-1", 3)
    world.store(paid_order(lines=[line("TEA-1", 2, 19900)]))
    # When the quantity goes to 4
    after = _edit(world, 4)
    # Then it is held insufficient_stock and holds nothing: no unit ships that was never reserved
    assert after.status == OrderStatus.held and [h.reason for h in after.holds] == [HoldReason.insufficient_stock]
    assert after.reservation is not None and after.reservation.state.value == "released"
    assert (_reserved(world, "TEA-1"), world.available("TEA-1")) == (0, 3) and _books_balance(world, "TEA-1")


def test_gift_lines_survive_an_address_fix_and_follow_a_quantity_change() -> None:
    # Given a cup with every order of two teas, and stock of both
    world = RulesWorld()
    world.put_rules("gift", CUP_WITH_TWO)
    world.push("TEA-1", 5)
    world.push("CUP-GIFT", 5)
    world.store(paid_order(lines=[line("TEA-1", 2, 19900)]))
    assert [ln.sku for ln in world.order().lines] == ["TEA-1", "CUP-GIFT"] and _reserved(world, "CUP-GIFT") == 1
    # When the buyer fixes the address on the channel
    fixed = _edit(world, 2, address={"detail": "天河路386号"})
    # Then the cup stays, still reserved
    assert [ln.sku for ln in fixed.lines] == ["TEA-1", "CUP-GIFT"] and _reserved(world, "CUP-GIFT") == 1
    # When the quantity drops to one tea
    fewer = _edit(world, 1, minutes=10)
    # Then the gift rule no longer gives the cup, and its unit goes back on sale in the same write
    assert [ln.sku for ln in fewer.lines] == ["TEA-1"]
    assert (_reserved(world, "CUP-GIFT"), _reserved(world, "TEA-1")) == (0, 1)
    assert _books_balance(world, "TEA-1", "CUP-GIFT")


def test_a_paid_order_held_for_a_note_keeps_following_its_lines() -> None:
    # Given a paid order held for its note, keeping its 2 units
    world = RulesWorld()
    world.push("TEA-1", 5)
    world.store(paid_order(lines=[line("TEA-1", 2, 19900)], buyer_note="请开发票"))
    assert world.order().status == OrderStatus.held and _reserved(world, "TEA-1") == 2
    # When the channel changes the quantity to 3
    after = _edit(world, 3, buyer_note="请开发票")
    # Then it is still held for the note, now holding 3
    assert (after.status, [h.reason for h in after.holds]) == (OrderStatus.held, [HoldReason.buyer_note])
    assert _reserved(world, "TEA-1") == 3 and _books_balance(world, "TEA-1")


def test_an_edit_after_the_warehouse_has_the_order_is_flagged_for_a_person() -> None:
    # Given an order the warehouse accepted
    world = RulesWorld()
    world.push("TEA-1", 5)
    world.store(paid_order(lines=[line("TEA-1", 2, 19900)]))
    accepted = world.order().model_copy(update={"status": OrderStatus.accepted})
    world.orders.put_unchecked(accepted)
    # When the channel changes the quantity
    after = _edit(world, 3)
    # Then the reservation is what the warehouse was told; the order carries the hold and the issue
    assert after.status == OrderStatus.accepted and _reserved(world, "TEA-1") == 2
    assert [h.reason for h in after.holds] == [HoldReason.channel_edit_after_accept]
    assert [i.kind for i in after.fulfillment.issues] == [IssueKind.channel_edit_after_accept]


def test_a_cancellation_that_also_changes_the_lines_releases_everything() -> None:
    # Given a reserved order of 2
    world = RulesWorld()
    world.push("TEA-1", 5)
    world.store(paid_order(lines=[line("TEA-1", 2, 19900)]))
    # When the channel's next view both changes the quantity and cancels the order
    after = _edit(world, 3, status="cancelled", cancelled_at=world.now + timedelta(minutes=5))
    # Then it is cancelled with nothing held: a cancellation wins over the edit
    assert after.status == OrderStatus.cancelled and after.reservation is not None
    assert after.reservation.state.value == "released" and _reserved(world, "TEA-1") == 0
    assert _books_balance(world, "TEA-1")
