"""WMS pushes and shipments agree: a parcel the push already counted out is not taken off on_hand again, and a
release or shipment never takes the books below zero (over the in-memory twins)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from infra.local.stock_lab import synthetic_order
from ocp.adapters.memory.intake import MemoryQuarantine, MemoryRawArchive
from ocp.adapters.memory.inventory import MemoryInventory
from ocp.adapters.memory.orders import MemoryOrderStore
from ocp.adapters.memory.warehouses import MemoryWarehouses
from ocp.domain.fulfillment.callbacks import FulfillmentEvent
from ocp.domain.inventory.books import BOOKS_REFUSED, counted_units
from ocp.domain.inventory.commit import OrderCommit
from ocp.domain.inventory.pushes import StockPush, count_time
from ocp.domain.inventory.reservation import LockStrategy, Reservation, ReservationState, StockAllocation
from ocp.domain.inventory.stock import MovementKind, StockMovement, ledger_entry, stock_id
from ocp.domain.order.model import Order, OrderStatus
from ocp.services.fulfillment.callbacks import CallbackDeps, CallbackResult, record_callback
from ocp.services.inventory.expiry import OrderStockDeps, release_expired
from ocp.services.inventory.reservation import StockDeps
from ocp.services.inventory.stock import InventoryDeps, ledger_view, push_stock, stock_board
from ocp.services.inventory.stock_catalog import StockCatalog
from ocp.services.order.processing import ProcessingDeps, store_order

T0 = datetime(2026, 11, 11, 12, 0, tzinfo=UTC)
SHIPPED_AT = T0 + timedelta(minutes=10)


@dataclass
class Books:
    now: datetime = T0
    inventory: MemoryInventory = field(default_factory=MemoryInventory)

    def __post_init__(self) -> None:
        self.orders = MemoryOrderStore(self.inventory)
        self.stock = InventoryDeps(stock=self.inventory, warehouses=MemoryWarehouses({"WH-GZ"}), now=lambda: self.now)
        catalog = StockCatalog(self.inventory, clock=lambda: 0.0)
        self.processing = ProcessingDeps(
            orders=self.orders, archive=MemoryRawArchive(), quarantine=MemoryQuarantine(), now=lambda: self.now,
            stock=StockDeps(orders=self.orders, catalog=catalog, now=lambda: self.now, peek=self.inventory))
        self.callbacks = CallbackDeps(orders=self.orders, now=lambda: self.now, counts=self.inventory)
        self.versions: Counter[str] = Counter()

    def push(self, on_hand: int, as_of: datetime | None = None, sku: str = "TEA") -> None:
        self.versions[sku] += 1
        push_stock("WH-GZ", sku, StockPush(on_hand=on_hand, version=self.versions[sku], as_of=as_of), self.stock)

    def reserved_order(self, quantity: int = 2, number: int = 1) -> Order:
        order = store_order(synthetic_order(number, "TEA", quantity), self.now, self.processing).order
        assert order is not None and order.status == OrderStatus.reserved
        return order

    def ship(self, event_id: str, at: datetime = SHIPPED_AT, number: int = 1,
             lines: list[dict[str, object]] | None = None) -> CallbackResult:
        event = FulfillmentEvent.model_validate({
            "order_id": f"shopify-{number}", "event": "shipped", "event_id": event_id, "at": at.isoformat(),
            "carrier": "SF", "tracking_no": f"SF{event_id}", **({"lines": lines} if lines else {})})
        return record_callback(event, self.callbacks)

    def board(self, sku: str = "TEA") -> tuple[int, int, int]:
        totals = stock_board(sku, self.stock).totals
        return totals.on_hand, totals.reserved, totals.available

    def balanced(self, sku: str = "TEA") -> bool:
        return all(w.explains_board for w in ledger_view(sku, self.stock).warehouses)

    def ledger_kinds(self, sku: str = "TEA") -> list[MovementKind]:
        return [e.kind for e in ledger_view(sku, self.stock).entries if e.order_id]


def test_a_push_that_counted_the_parcel_then_its_shipped_callback_deducts_it_once() -> None:
    # Given 5 units counted at T0 and an order of 2 reserved
    books = Books()
    books.push(5, as_of=T0)
    books.reserved_order(2)
    # When the parcel leaves at 12:10, the WMS pushes a count taken at 12:15 (3 on the shelf), and only then
    # does the shipped callback arrive
    books.now = T0 + timedelta(minutes=20)
    books.push(3, as_of=T0 + timedelta(minutes=15))
    result = books.ship("p1")
    # Then the parcel gave back its reservation without leaving on_hand a second time, and the ledger agrees
    assert result.status == OrderStatus.shipped and not result.books_refused
    assert books.board() == (3, 0, 3)
    assert books.balanced()
    assert books.ledger_kinds() == [MovementKind.reserve, MovementKind.ship_counted]


def test_the_shipped_callback_then_a_push_counting_after_it_also_balance() -> None:
    # Given the same stock and order
    books = Books()
    books.push(5, as_of=T0)
    order = books.reserved_order(2)
    # When the shipped callback comes first, then the WMS's count taken after the parcel left
    books.now = SHIPPED_AT + timedelta(minutes=1)
    books.ship("p1")
    after_ship = books.board()
    books.push(3, as_of=SHIPPED_AT + timedelta(minutes=5))
    # Then the shipment deducted on_hand (no count had it yet), and the push agrees with it
    assert after_ship == (3, 0, 3)
    assert books.board() == (3, 0, 3)
    assert books.balanced()
    stored = books.orders.get(order.order_id)
    assert stored is not None and stored.reservation is not None
    assert stored.reservation.state == ReservationState.shipped


def test_a_push_without_as_of_counts_when_it_arrives() -> None:
    # Given an order reserved, and a push without as_of arriving after the parcel left
    books = Books()
    books.push(5)
    books.reserved_order(2)
    books.now = SHIPPED_AT + timedelta(seconds=30)
    books.push(3)
    # When the shipped callback arrives / Then the push's arrival counted the parcel out
    books.ship("p1")
    assert books.board() == (3, 0, 3) and books.balanced()


def test_a_push_counted_before_the_parcel_left_still_has_it_deducted() -> None:
    # Given a count taken before the parcel left (it still holds the parcel), pushed after
    books = Books()
    books.push(5, as_of=T0)
    books.reserved_order(2)
    books.now = SHIPPED_AT + timedelta(minutes=5)
    books.push(5, as_of=SHIPPED_AT - timedelta(minutes=1))
    # When the shipped callback arrives / Then the parcel leaves on_hand as usual
    books.ship("p1")
    assert books.board() == (3, 0, 3) and books.balanced()
    assert books.ledger_kinds() == [MovementKind.reserve, MovementKind.ship]


def test_a_count_between_two_parcels_counts_only_the_first() -> None:
    # Given an order of 2 shipped as two parcels, and a count taken between them
    books = Books()
    books.push(5, as_of=T0)
    order = books.reserved_order(2)
    line_id = order.lines[0].line_id
    books.now = SHIPPED_AT + timedelta(minutes=1)
    books.ship("p1", at=SHIPPED_AT, lines=[{"line_id": line_id, "quantity": 1}])
    books.push(4, as_of=SHIPPED_AT + timedelta(minutes=2))
    # When the second parcel leaves after the count
    books.now = SHIPPED_AT + timedelta(minutes=10)
    books.ship("p2", at=SHIPPED_AT + timedelta(minutes=5), lines=[{"line_id": line_id, "quantity": 1}])
    # Then only the second parcel came off on_hand: 5 - 1 (counted by the push) - 1
    assert books.board() == (3, 0, 3) and books.balanced()


def test_a_shipment_the_books_cannot_take_is_cut_and_named_on_the_timeline() -> None:
    # Given 2 reserved, then a count before the parcel left that found only 1 (damage)
    books = Books()
    books.push(5, as_of=T0)
    books.reserved_order(2)
    books.now = SHIPPED_AT + timedelta(minutes=1)
    books.push(1, as_of=SHIPPED_AT - timedelta(minutes=1))
    # When the parcel of 2 ships (deducting 2 would leave on_hand at -1)
    result = books.ship("p1")
    # Then the order is shipped, on_hand stops at zero, the refusal is on the timeline, and the ledger agrees
    assert result.status == OrderStatus.shipped and result.books_refused
    assert books.board() == (0, 0, 0)
    assert books.balanced()
    [note] = [e for e in result.order.timeline if e.event == BOOKS_REFUSED]
    assert note.source == "ocp" and note.detail is not None
    assert "WH-GZ TEA: ship (on_hand -2, reserved -2) refused: the books had on_hand 1, reserved 2" in note.detail
    assert "moved on_hand -1, reserved -2" in note.detail


class _PushOnRead:
    """Count times as read; a push lands right after the first read (before the shipment's write)."""

    def __init__(self, books: Books, on_hand: int, as_of: datetime) -> None:
        self.books, self.on_hand, self.as_of, self.reads = books, on_hand, as_of, 0

    def count_times(self, keys: list[tuple[str, str]]) -> dict[tuple[str, str], datetime | None]:
        read = self.books.inventory.count_times(keys)
        self.reads += 1
        if self.reads == 1:
            self.books.push(self.on_hand, as_of=self.as_of)
        return read


def test_a_push_landing_between_the_read_and_the_shipment_makes_it_decide_again() -> None:
    # Given 5 counted at T0 and 2 reserved
    books = Books()
    books.push(5, as_of=T0)
    books.reserved_order(2)
    books.now = SHIPPED_AT + timedelta(minutes=5)
    racing = _PushOnRead(books, on_hand=3, as_of=SHIPPED_AT + timedelta(minutes=1))
    # When the count that already excludes the parcel lands after the callback read the old count time
    record_callback(FulfillmentEvent.model_validate({
        "order_id": "shopify-1", "event": "shipped", "event_id": "p1", "at": SHIPPED_AT.isoformat(),
        "carrier": "SF", "tracking_no": "SF1"}), CallbackDeps(orders=books.orders, now=lambda: books.now,
                                                             counts=racing))
    # Then the first write was refused as stale, and the second, on the new count, deducted nothing twice
    assert racing.reads == 2
    assert books.board() == (3, 0, 3) and books.balanced()


def test_count_times_are_stored_to_the_second_and_never_after_the_push_arrived() -> None:
    # Given / When / Then
    arrived = T0 + timedelta(seconds=30, microseconds=500)
    assert count_time(None, arrived) == T0 + timedelta(seconds=30)
    assert count_time(T0 + timedelta(hours=1), arrived) == T0 + timedelta(seconds=30)
    assert count_time(T0 + timedelta(seconds=10, microseconds=9), arrived) == T0 + timedelta(seconds=10)


def test_counted_units_are_per_allocation_and_only_when_a_count_exists() -> None:
    # Given a reserved order of 2 shipped at 12:10
    books = Books()
    books.push(5, as_of=T0)
    order = books.reserved_order(2)
    books.now = SHIPPED_AT
    shipped = books.ship("p1").order
    # When / Then: counted out only by a count in a later second than 12:10 (the same second is a tie, not counted)
    assert counted_units(shipped, {("WH-GZ", "TEA"): None}) == {}
    assert counted_units(shipped, {("WH-GZ", "TEA"): SHIPPED_AT - timedelta(seconds=1)}) == {}
    assert counted_units(shipped, {("WH-GZ", "TEA"): SHIPPED_AT}) == {}
    assert counted_units(shipped, {("WH-GZ", "TEA"): SHIPPED_AT + timedelta(seconds=1)}) == {("WH-GZ", "TEA", 0): 2}
    assert counted_units(order, {}) == {}


def test_the_sweeper_releases_what_the_books_hold_and_names_the_rest() -> None:
    # Given an unpaid pre-reservation of 2 that expired, on a shard whose books say only 1 is reserved
    books = Books()
    books.push(5, as_of=T0)
    reservation = Reservation(seq=1, state=ReservationState.active, strategy=LockStrategy.pre_reserve,
                              warehouse="WH-GZ", allocations=(StockAllocation(sku="TEA", quantity=2),),
                              reserved_at=T0, expires_at=T0 + timedelta(minutes=15))
    order = synthetic_order(1, "TEA", 2, status="pending_payment").model_copy(update={"reservation": reservation})
    move = StockMovement.reserve("WH-GZ", "TEA", 0, 2)
    assert books.orders.commit(OrderCommit(order=order, expected_revision=None, movements=(move,), ledger=(
        ledger_entry(move, "order#shopify-1#1#reserve#WH-GZ#0#TEA", actor="t", reason="r", at=T0),))) is None
    books.inventory.stock[stock_id("WH-GZ", "TEA", 0)].reserved = 1
    # When the sweeper runs after the expiry
    books.now = T0 + timedelta(minutes=20)
    report = release_expired(books.orders, OrderStockDeps(orders=books.orders, now=lambda: books.now))
    # Then the order is released, reserved stops at zero, and the refusal is on its timeline
    assert report.released == ["shopify-1"]
    assert books.board()[1] == 0
    stored = books.orders.get("shopify-1")
    assert stored is not None and [e.event for e in stored.timeline][-2:] == ["released", BOOKS_REFUSED]
