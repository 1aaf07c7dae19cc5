"""The rules in the order path, over the in-memory twins: routing as written, with fallback when the first
warehouse runs dry, holds with their reasons, gifts reserved with the order, duplicates without a read, pre-sale
holds, suppliers, splits, and the caches that keep the store off the hot path."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from ocp.domain.decisions.routing import WarehouseKind
from ocp.domain.inventory.reservation import LockStrategy
from ocp.domain.order.model import HoldReason, OrderStatus
from ocp.services.operations.held_queue import cancel_order, release_order
from ocp.services.order.processing import Outcome
from tests.held_support import RulesWorld, paid_order
from tests.rules_support import catalog_item, line

ROUTING: dict[str, Any] = {"rules": [
    {"id": "big-ticket", "priority": 5, "when": {"field": "amounts.paid", "gte": 500000},
     "then": {"warehouses": ["WH-SH"]}},
    {"id": "south-china", "priority": 10,
     "when": {"field": "address.province", "in": ["广东省", "广西壮族自治区", "海南省"]},
     "then": {"warehouses": ["WH-GZ", "WH-SH"]}},
    {"id": "north", "priority": 20, "when": {"field": "address.province", "in": ["北京市", "天津市"]},
     "then": {"warehouses": ["WH-BJ"]}},
]}
TEA = [line("TEA-1", 1, 19900)]


def _world(**documents: dict[str, Any]) -> RulesWorld:
    world = RulesWorld()
    for kind, document in documents.items():
        world.put_rules(kind, document)
    return world


def test_default_rules_route_to_any_warehouse_with_stock_and_hand_the_order_to_dispatch() -> None:
    # Given a new install: no rule stored, stock only in WH-SH
    world = _world()
    world.push("TEA-1", 5, "WH-SH")
    # When a clean paid order arrives
    result = world.store(paid_order(lines=TEA))
    # Then it is reserved at WH-SH in the one write, records the rule versions that decided it, and is dispatched
    order = world.order()
    assert (result.outcome, order.status, order.warehouse) == (Outcome.created, OrderStatus.reserved, "WH-SH")
    assert order.rules_applied is not None and order.rules_applied.versions == {"routing": 0, "anomaly": 0, "gift": 0}
    assert order.rules_applied.routing_rule == "default"
    assert [e.event for e in order.timeline] == ["received", "normalised", "routed", "reserved"]
    assert [(r.order_id, r.after_version) for r in world.dispatch.requests] == [("taobao-1001", 0)]


def test_province_rules_route_as_written_and_fall_back_when_the_first_warehouse_runs_dry() -> None:
    # Given routing by province, one unit at WH-GZ, more at WH-SH and WH-BJ
    world = _world(routing=ROUTING)
    world.push("TEA-1", 1, "WH-GZ")
    world.push("TEA-1", 5, "WH-SH")
    world.push("TEA-1", 5, "WH-BJ")
    # When two orders come from 广东 and one from 北京
    world.store(paid_order("taobao-1", lines=TEA, buyer_id="b-1"))
    world.store(paid_order("taobao-2", lines=TEA, buyer_id="b-2"))
    world.store(paid_order("taobao-3", province="北京市", city="北京市", district="朝阳区", lines=TEA, buyer_id="b-3"))
    # Then the first takes WH-GZ's last unit, the second falls back to WH-SH, the third goes north
    assert [world.order(f"taobao-{n}").warehouse for n in (1, 2, 3)] == ["WH-GZ", "WH-SH", "WH-BJ"]
    assert world.order("taobao-2").rules_applied.routing_rule == "south-china"  # type: ignore[union-attr]
    assert (world.available("TEA-1", "WH-GZ"), world.available("TEA-1", "WH-SH")) == (0, 4)
    assert world.order("taobao-2").timeline[-2].detail == "rule 'south-china' (routing v1): WH-GZ, WH-SH"


def test_amount_rule_wins_by_priority() -> None:
    # Given stock everywhere
    world = _world(routing=ROUTING)
    for warehouse in ("WH-GZ", "WH-SH"):
        world.push("TEA-1", 50, warehouse)
    # When a 广东 order pays 6,000.00 CNY
    world.store(paid_order(lines=[line("TEA-1", 30, 20000)]))
    # Then big-ticket (priority 5) sent it to WH-SH
    assert (world.order().warehouse, world.order().rules_applied.routing_rule) == (  # type: ignore[union-attr]
        "WH-SH", "big-ticket")


def test_no_rule_or_no_stock_holds_the_order_with_its_reason() -> None:
    # Given routing that knows only some provinces, and no stock at WH-BJ
    world = _world(routing=ROUTING)
    world.push("TEA-1", 5, "WH-GZ")
    # When an order from 四川 and one from 北京 arrive
    world.store(paid_order("taobao-1", province="四川省", city="成都市", district="武侯区", lines=TEA))
    world.store(paid_order("taobao-2", province="北京市", city="北京市", district="朝阳区", lines=TEA))
    # Then the first is unroutable, the second short of stock where its rule sends it; neither is dispatched
    first, second = world.order("taobao-1"), world.order("taobao-2")
    assert (first.status, [(h.reason, h.detail) for h in first.holds]) == (
        OrderStatus.held, [(HoldReason.unroutable, "no routing rule matched (routing v1)")])
    assert (second.status, [(h.reason, h.detail) for h in second.holds]) == (
        OrderStatus.held, [(HoldReason.insufficient_stock, "TEA-1 needs 1, 0 available in WH-BJ")])
    assert world.dispatch.requests == [] and world.available("TEA-1") == 5


def test_a_nonsense_address_and_a_price_below_the_floor_are_held_with_their_reasons_and_keep_their_stock() -> None:
    # Given a catalog floor of 150.00 CNY and stock
    world = _world()
    world.catalog(catalog_item("TEA-1", list_price=19900, min_price=15000))
    world.push("TEA-1", 5)
    # When an order to a province that does not exist pays 0.01 CNY
    world.store(paid_order(province="火星省", city="奥林匹斯市", district="山区", lines=[line("TEA-1", 1, 1)],
                           shipping=0))
    # Then it is held with both reasons in its one write, and its unit is reserved while a person looks
    order = world.order()
    assert order.status == OrderStatus.held and order.revision == 1
    assert [h.reason for h in order.holds] == [HoldReason.address_unresolved, HoldReason.price_abnormal]
    assert order.holds[1].detail == "TEA-1: paid 0.01 CNY/unit, below the floor 150.00 CNY"
    assert order.reservation is not None and order.reservation.expires_at is None
    assert world.available("TEA-1") == 4


def test_a_paid_order_held_for_a_note_keeps_its_units_against_later_buyers_until_released_or_cancelled() -> None:
    # Given one unit in stock
    world = _world()
    world.push("TEA-1", 1)
    # When a paid order with a buyer note arrives, then a clean order for the same tea
    world.store(paid_order("taobao-1", lines=TEA, buyer_note="请开发票"))
    world.store(paid_order("taobao-2", lines=TEA, buyer_id="someone-else"))
    # Then the first holds the unit while held; the later buyer is the one short of stock
    first, second = world.order("taobao-1"), world.order("taobao-2")
    assert (first.status, [h.reason for h in first.holds]) == (OrderStatus.held, [HoldReason.buyer_note])
    assert first.reservation is not None and first.reservation.quantity("TEA-1") == 1
    assert [h.reason for h in second.holds] == [HoldReason.insufficient_stock]
    # And releasing the first keeps its reservation (no second reservation, nothing released)
    released = release_order(world.held, "taobao-1", "ops")
    assert released.status == OrderStatus.reserved and released.reservation == first.reservation.model_copy(
        update={"expires_at": None})
    assert world.available("TEA-1") == 0


def test_cancelling_a_held_order_that_kept_its_stock_puts_the_units_back() -> None:
    world = _world()
    world.push("TEA-1", 1)
    world.store(paid_order("taobao-1", lines=TEA, buyer_note="请开发票"))
    assert world.available("TEA-1") == 0
    cancel_order(world.held, "taobao-1", "ops")
    assert world.order("taobao-1").status == OrderStatus.cancelled and world.available("TEA-1") == 1


def test_a_duplicate_suspect_reserves_nothing_unless_the_anomaly_document_says_so() -> None:
    # Given stock for two, and an order already reserved
    world = _world()
    world.push("TEA-1", 3)
    world.store(paid_order("taobao-1", lines=TEA))
    # When the same order is placed again ten minutes later
    world.store(paid_order("taobao-2", lines=TEA, created_at=world.now + timedelta(minutes=10)))
    # Then it is held as a suspect without taking the stock a second time
    suspect = world.order("taobao-2")
    assert [h.reason for h in suspect.holds] == [HoldReason.duplicate_suspect] and suspect.reservation is None
    assert world.available("TEA-1") == 2
    # And a document that keeps stock for buyer notes off reserves nothing for them either
    strict = _world(anomaly={"checks": {"reserve_while_held": {"buyer_note": False}}})
    strict.push("TEA-1", 1)
    strict.store(paid_order("taobao-1", lines=TEA, buyer_note="请开发票"))
    assert strict.order("taobao-1").reservation is None and strict.available("TEA-1") == 1


def test_cross_border_orders_go_only_to_bonded_warehouses() -> None:
    # Given a bonded warehouse registered, stock in it and in an own warehouse, any-warehouse routing
    world = _world()
    world.warehouse("BW-HZ", kind=WarehouseKind.bonded, region="浙江省")
    world.push("TEA-1", 5, "WH-GZ")
    world.push("TEA-1", 5, "BW-HZ")
    # When a cross-border order arrives (customs name and ID as masked by the channel)
    masked = {"kind": "bonded", "id_card_name": "张*", "id_card_no": "4401**********1234"}
    order = paid_order(lines=TEA, cross_border=masked)
    world.store(order)
    # Then it ships from the bonded warehouse
    assert (world.order().status, world.order().warehouse) == (OrderStatus.reserved, "BW-HZ")


def test_a_supplier_rule_drop_ships_without_touching_own_stock() -> None:
    # Given a supplier and a rule that sends tea sets to it
    world = _world(routing={"rules": [{"id": "teaware", "priority": 1, "when": {"field": "lines.sku", "eq": "SET-1"},
                                       "then": {"supplier": "SUP-TEA"}}]})
    world.warehouse("SUP-TEA", kind=WarehouseKind.supplier)
    # When an order for the set arrives
    world.store(paid_order(lines=[line("SET-1", 1, 59900)]))
    # Then the supplier is its warehouse, nothing is reserved in OCP's pool, and dispatch is asked to send it
    order = world.order()
    assert (order.status, order.warehouse, order.reservation) == (OrderStatus.reserved, "SUP-TEA", None)
    assert order.timeline[-1].detail == "rule 'teaware' (routing v1): drop-shipped by SUP-TEA"
    assert [r.order_id for r in world.dispatch.requests] == ["taobao-1001"]


def test_gift_lines_are_reserved_in_the_same_transaction_and_a_while_stock_lasts_gift_is_dropped_when_gone() -> None:
    # Given two gift rules: a cup with every tea (while stock lasts) and a tin nobody stocks (not optional)
    gifts = {"rules": [{"id": "cup", "priority": 1, "when": {"field": "lines.sku", "eq": "TEA-1"},
                        "then": {"gift_sku": "CUP-GIFT", "while_stock_lasts": True}}]}
    world = _world(gift=gifts)
    world.push("TEA-1", 5)
    world.push("CUP-GIFT", 1)
    # When two buyers' tea orders arrive
    world.store(paid_order("taobao-1", lines=TEA, buyer_id="b-1"))
    world.store(paid_order("taobao-2", lines=TEA, buyer_id="b-2"))
    # Then the first got the cup, reserved with it; the second shipped without (none left), saying so
    first, second = world.order("taobao-1"), world.order("taobao-2")
    assert [(ln.sku, ln.gift, ln.paid) for ln in first.lines] == [("TEA-1", False, 19900), ("CUP-GIFT", True, 0)]
    assert first.reservation is not None and first.reservation.quantity("CUP-GIFT") == 1
    assert first.rules_applied.gift_rules == ("cup",)  # type: ignore[union-attr]
    assert (second.status, [ln.sku for ln in second.lines]) == (OrderStatus.reserved, ["TEA-1"])
    assert [e.event for e in second.timeline if e.event == "gift_dropped"] == ["gift_dropped"]
    assert second.rules_applied.gift_rules == ()  # type: ignore[union-attr]
    assert (world.available("TEA-1"), world.available("CUP-GIFT")) == (3, 0)


def test_a_gift_not_given_while_stock_lasts_holds_the_order_when_it_has_no_stock() -> None:
    # Given a gift rule that must ship with the order, and no gift stock
    world = _world(gift={"rules": [{"id": "tin", "priority": 1, "when": {"always": True},
                                    "then": {"gift_sku": "TIN-1", "while_stock_lasts": False}}]})
    world.push("TEA-1", 5)
    # When an order arrives / Then it is held for the gift, and the tea stays on sale
    world.store(paid_order(lines=TEA))
    assert [(h.reason, h.detail) for h in world.order().holds] == [
        (HoldReason.insufficient_stock, "TIN-1 needs 1, 0 available in WH-BJ, WH-GZ, WH-SH")]
    assert world.available("TEA-1") == 5


def test_the_same_order_placed_twice_is_held_as_a_duplicate_naming_the_first_without_any_read() -> None:
    # Given stock, and an order already stored
    world = _world()
    world.push("TEA-1", 5)
    world.store(paid_order("taobao-1", lines=TEA))
    reads = world.rules_store.reads
    # When the same buyer orders the same tea to the same address 10 minutes later, and the first is redelivered
    again = paid_order("taobao-2", lines=TEA, created_at=world.now + timedelta(minutes=10))
    world.store(again)
    redelivered = world.store(paid_order("taobao-1", lines=TEA))
    # Then the second is held naming the first; the redelivery is a duplicate delivery, not a suspect
    second = world.order("taobao-2")
    assert [(h.reason, h.detail) for h in second.holds] == [
        (HoldReason.duplicate_suspect, "same buyer, address and items as taobao-1, 10 min apart")]
    assert redelivered.outcome == Outcome.duplicate and world.order("taobao-1").status == OrderStatus.reserved
    assert world.available("TEA-1") == 4 and world.rules_store.reads == reads
    # and a third order an hour later is not a suspect
    world.store(paid_order("taobao-3", lines=TEA, created_at=world.now + timedelta(minutes=70)))
    assert world.order("taobao-3").status == OrderStatus.reserved


def test_the_duplicate_window_comes_from_the_anomaly_document() -> None:
    # Given a 300-minute duplicate window, stock, and an order already stored
    world = _world(anomaly={"checks": {"duplicate": {"window_minutes": 300}}})
    world.push("TEA-1", 5)
    world.store(paid_order("taobao-1", lines=TEA))
    # When the same order is placed again four hours later / Then it is a suspect (the default window is 60)
    world.store(paid_order("taobao-2", lines=TEA, created_at=world.now + timedelta(hours=4)))
    assert [h.reason for h in world.order("taobao-2").holds] == [HoldReason.duplicate_suspect]


def test_a_presale_order_is_held_until_its_ship_date() -> None:
    # Given stock and a pre-sale order promised for the 20th
    world = _world()
    world.push("TEA-1", 5)
    ship_by = world.now + timedelta(days=9)
    world.store(paid_order(lines=TEA, presale={"kind": "full_payment", "ship_by": ship_by}))
    # Then it is held presale_not_due until then, with nothing reserved yet
    [hold] = world.order().holds
    assert (hold.reason, hold.until) == (HoldReason.presale_not_due, ship_by)
    assert world.available("TEA-1") == 5


def test_an_unpaid_order_is_routed_and_pre_reserved_but_checked_only_once_paid() -> None:
    # Given stock at both southern warehouses, and an unpaid order with a phone that is not a number
    world = _world(routing=ROUTING)
    world.push("TEA-1", 5, "WH-SH")
    world.push("TEA-1", 5, "WH-GZ")
    unpaid = paid_order(lines=TEA, status="pending_payment", paid_at=None, address={"phone": "12345"})
    # When it is captured
    world.store(unpaid)
    # Then the rules placed its reservation (WH-GZ first) and did not check it yet
    captured = world.order()
    assert (captured.status, captured.warehouse, captured.holds) == (OrderStatus.pending_payment, "WH-GZ", ())
    # When the buyer pays
    world.now += timedelta(minutes=3)
    world.store(unpaid.model_copy(update={"status": OrderStatus.received, "paid_at": world.now,
                                          "channel_updated_at": world.now}))
    # Then the checks hold it for the phone, and the units stay the buyer's (no expiry any more)
    paid = world.order()
    assert (paid.status, [h.reason for h in paid.holds]) == (OrderStatus.held, [HoldReason.phone_invalid])
    assert paid.reservation is not None and paid.reservation.expires_at is None
    assert paid.reservation.strategy == LockStrategy.reserve_on_order and world.available("TEA-1", "WH-GZ") == 4


def test_split_allowed_reserves_across_candidates_in_one_transaction_and_is_handed_to_dispatch() -> None:
    # Given a rule that may split, and two units spread over two warehouses
    world = _world(routing={"rules": [{"id": "south", "priority": 1, "when": {"always": True},
                                       "then": {"warehouses": ["WH-GZ", "WH-SH"], "split": True}}]})
    world.push("TEA-1", 1, "WH-GZ")
    world.push("TEA-1", 1, "WH-SH")
    # When an order for two arrives
    world.store(paid_order(lines=[line("TEA-1", 2, 19900)]))
    # Then both units are reserved, one per warehouse, and the order goes to dispatch (one parcel per warehouse)
    order = world.order()
    assert order.status == OrderStatus.reserved and order.reservation is not None
    assert order.reservation.warehouses() == ("WH-GZ", "WH-SH")
    assert (world.available("TEA-1", "WH-GZ"), world.available("TEA-1", "WH-SH")) == (0, 0)
    assert [(r.order_id, r.after_version, r.warehouse) for r in world.dispatch.requests] == [("taobao-1001", 0, None)]


def test_warm_caches_read_nothing_per_order_and_a_new_version_is_seen_after_the_ttl() -> None:
    # Given a warm process
    world = _world(routing=ROUTING)
    for warehouse in ("WH-GZ", "WH-SH"):
        world.push("TEA-1", 50, warehouse)
    world.store(paid_order("taobao-1", lines=TEA))
    reads = (world.rules_store.reads, world.warehouse_store.reads)
    # When ten more orders arrive within the TTL
    for n in range(2, 12):
        world.store(paid_order(f"taobao-{n}", lines=TEA, buyer_id=f"b-{n}"))
    # Then neither the rules nor the warehouses were read again
    assert (world.rules_store.reads, world.warehouse_store.reads) == reads
    # When routing changes, the next order after the TTL follows the new version
    world.put_rules("routing", {"rules": [{"id": "east", "priority": 1, "when": {"always": True},
                                           "then": {"warehouses": ["WH-SH"]}}]})
    world.clock_s += 6
    world.store(paid_order("taobao-99", lines=TEA, buyer_id="b-99"))
    assert (world.order("taobao-99").warehouse, world.order("taobao-99").rules_applied.versions["routing"]) == (  # type: ignore[union-attr]
        "WH-SH", 2)
