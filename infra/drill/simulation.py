"""The sync-versus-real-time table: the same live-stream peak sold two ways, in a seeded simulation.

- **15-minute sync**: each channel lists what the stock was at its last sync (channels sync every 15 minutes,
  staggered) and takes off only its own sales until the next one; it never sees the other channels' sales or
  the warehouse's corrections in between. A buyer can order while the listing shows a unit; an order the
  warehouse cannot fill when it arrives is **oversold** (cancelled later, after the buyer paid).
- **OCP (reservation at order time)**: every order goes through OCP's own order path — `store_order` with the
  real reservation code over the in-memory stock store — and each channel lists the stock board's `listed`.
  Only reserved orders are accepted; oversold units come from the orders' reservations against the stock pushed
  (`infra.drill.oversell`), like the drill's.

Both see the same orders (time, channel, SKU) and the same warehouse corrections (returns put back, damage
found on the shelf, each pushed to OCP as the WMS would). Definitions, printed with the table:
- **oversell rate** = oversold orders / orders accepted;
- **stock accuracy** = the share of checks, once a simulated minute for every channel and SKU, where the quantity
  the channel lists equals what is really available to sell then (units on hand not promised to an accepted,
  fillable order, never below 0);
- **unit accuracy** = 1 - sum |listed - available| / sum max(listed, available) over the same checks (how far
  off the listings are, in units, rather than how often).
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from infra.drill.oversell import oversold
from infra.drill.shape import expected_orders, send_offsets
from infra.local.stock_lab import synthetic_order
from ocp.adapters.memory.intake import MemoryQuarantine, MemoryRawArchive
from ocp.adapters.memory.inventory import MemoryInventory
from ocp.adapters.memory.orders import MemoryOrderStore
from ocp.adapters.memory.warehouses import MemoryWarehouses
from ocp.domain.inventory.pushes import StockPush
from ocp.domain.order.model import OrderStatus
from ocp.services.inventory.reservation import StockDeps
from ocp.services.inventory.stock import InventoryDeps, push_stock, stock_board
from ocp.services.inventory.stock_catalog import StockCatalog
from ocp.services.order.processing import ProcessingDeps, store_order

WAREHOUSE = "WH-SIM"
CHANNELS = ("shopify", "taobao", "jd", "douyin")
INDUSTRY = {"15-minute sync": (82.0, None), "real-time (industry)": (99.6, 0.2)}
"""Published figures to compare against: (stock accuracy %, oversell rate %)."""


@dataclass(frozen=True)
class SimulationConfig:
    minutes: float = 60
    orders_per_sku: int = 800
    skus: int = 3
    stock: int = 700
    """Units per SKU at the start (the demand is a little more than the stock: the live stream sells out)."""
    sync_minutes: float = 15
    corrections_every_minutes: float = 5
    seed: int = 2026

    @property
    def orders(self) -> int:
        return self.orders_per_sku * self.skus


@dataclass
class Outcome:
    name: str
    offered: int = 0
    accepted: int = 0
    oversold_orders: int = 0
    oversold_units: int = 0
    checks: int = 0
    accurate: int = 0
    unit_error: int = 0
    unit_scale: int = 0

    def record(self, listed: int, available: int) -> None:
        self.checks += 1
        self.accurate += listed == available
        self.unit_error += abs(listed - available)
        self.unit_scale += max(listed, available)

    @property
    def oversell_rate(self) -> float:
        return self.oversold_orders / self.accepted if self.accepted else 0.0

    @property
    def accuracy(self) -> float:
        return self.accurate / self.checks if self.checks else 1.0

    @property
    def unit_accuracy(self) -> float:
        return 1 - self.unit_error / self.unit_scale if self.unit_scale else 1.0

    def as_json(self) -> dict[str, float | int | str]:
        return {"approach": self.name, "orders_offered": self.offered, "accepted": self.accepted,
                "oversold_orders": self.oversold_orders, "oversold_units": self.oversold_units,
                "oversell_rate": round(self.oversell_rate, 6), "stock_accuracy": round(self.accuracy, 6),
                "unit_accuracy": round(self.unit_accuracy, 6), "accuracy_checks": self.checks}


@dataclass(frozen=True)
class Event:
    at_s: float
    kind: str
    """`order` (one unit) or `correction` (`delta` units on hand: + returns put back, - damage found)."""
    sku: str
    channel: str = ""
    delta: int = 0


def events(config: SimulationConfig) -> list[Event]:
    """The seeded orders (on the drill's shape) and warehouse corrections, in time order."""
    chooser = random.Random(config.seed)
    duration = config.minutes * 60
    skus = [f"SIM-{n + 1}" for n in range(config.skus)]
    peak = config.orders / expected_orders(duration, 1.0)
    found = [Event(at, "order", chooser.choice(skus), chooser.choice(CHANNELS))
             for at in send_offsets(duration, peak, config.orders)]
    step = config.corrections_every_minutes * 60
    for k in range(1, int(duration // step) + 1):
        for sku in skus:
            found.append(Event(k * step - 1, "correction", sku, delta=chooser.choice((-3, -2, -1, 1, 2, 4, 6))))
    return sorted(found, key=lambda e: e.at_s)


@dataclass
class _Truth:
    """The warehouse as it really is: units on hand and units promised to accepted, fillable orders."""

    on_hand: Counter[str]
    promised: Counter[str] = field(default_factory=Counter)

    def available(self, sku: str) -> int:
        return max(0, self.on_hand[sku] - self.promised[sku])

    def correct(self, sku: str, delta: int) -> int:
        """Apply a correction; damage only takes units nobody was promised. The units really changed."""
        change = max(delta, -self.available(sku))
        self.on_hand[sku] += change
        return change


def simulate_sync(config: SimulationConfig, timeline: list[Event]) -> Outcome:
    skus = sorted({e.sku for e in timeline})
    truth = _Truth(Counter(dict.fromkeys(skus, config.stock)))
    listed = {(c, s): config.stock for c in CHANNELS for s in skus}
    period = config.sync_minutes * 60
    offsets = {c: period * i / len(CHANNELS) for i, c in enumerate(CHANNELS)}
    last_sync = dict.fromkeys(CHANNELS, -1)
    outcome = Outcome("15-minute sync")

    def before(moment: float) -> None:
        for channel in CHANNELS:
            due = int((moment - offsets[channel]) // period) if moment >= offsets[channel] else -1
            if due > last_sync[channel]:
                last_sync[channel] = due
                listed.update({(channel, s): truth.available(s) for s in skus})

    _run(timeline, config, before, lambda: _check(outcome, listed, truth), lambda event: _sync_sale(
        event, listed, truth, outcome), lambda event: truth.correct(event.sku, event.delta))
    return outcome


def _sync_sale(event: Event, listed: dict[tuple[str, str], int], truth: _Truth, outcome: Outcome) -> None:
    outcome.offered += 1
    if listed[(event.channel, event.sku)] < 1:
        return  # the listing shows none: the buyer cannot order
    listed[(event.channel, event.sku)] -= 1
    outcome.accepted += 1
    if truth.available(event.sku) >= 1:
        truth.promised[event.sku] += 1
    else:
        outcome.oversold_orders += 1
        outcome.oversold_units += 1


def _check(outcome: Outcome, listed: dict[tuple[str, str], int], truth: _Truth) -> None:
    for (_, sku), units in listed.items():
        outcome.record(units, truth.available(sku))


def _run(timeline: list[Event], config: SimulationConfig, before: Callable[[float], None],
         check: Callable[[], None], sale: Callable[[Event], None], correct: Callable[[Event], object]) -> None:
    """Replay the timeline, checking every listing once a simulated minute (before that minute's events)."""
    next_check = 0.0
    for event in timeline:
        while next_check <= event.at_s:
            before(next_check)
            check()
            next_check += 60
        before(event.at_s)
        if event.kind == "order":
            sale(event)
        else:
            correct(event)
    while next_check <= config.minutes * 60:
        before(next_check)
        check()
        next_check += 60


def simulate_ocp(config: SimulationConfig, timeline: list[Event]) -> Outcome:
    """Every order through OCP's order path on the in-memory stores; listings read from the stock board."""
    skus = sorted({e.sku for e in timeline})
    start = datetime(2026, 11, 11, 12, 0, tzinfo=UTC)
    clock = {"now": start}
    inventory = MemoryInventory()
    orders = MemoryOrderStore(inventory)
    stock = InventoryDeps(stock=inventory, warehouses=MemoryWarehouses({WAREHOUSE}), now=lambda: clock["now"])
    processing = ProcessingDeps(
        orders=orders, archive=MemoryRawArchive(), quarantine=MemoryQuarantine(), now=lambda: clock["now"],
        stock=StockDeps(orders=orders, catalog=StockCatalog(inventory, clock=lambda: 0.0), now=lambda: clock["now"],
                        peek=inventory),
    )
    truth = _Truth(Counter(dict.fromkeys(skus, config.stock)))
    versions: Counter[str] = Counter()

    def push(sku: str) -> None:
        versions[sku] += 1
        push_stock(WAREHOUSE, sku, StockPush(on_hand=truth.on_hand[sku], version=versions[sku]), stock)

    for sku in skus:
        push(sku)
    outcome = Outcome("OCP (reservation at order time)")
    stored = []

    def sale(event: Event) -> None:
        outcome.offered += 1
        number = outcome.offered
        order = synthetic_order(number, event.sku, channel=event.channel, buyer_id=f"buyer-{number}")
        decided = store_order(order, clock["now"], processing).order
        if decided is not None and decided.status == OrderStatus.reserved:
            outcome.accepted += 1
            truth.promised[event.sku] += 1
            stored.append(decided.model_dump(mode="json"))

    def correct(event: Event) -> None:
        truth.correct(event.sku, event.delta)
        push(event.sku)

    def check() -> None:
        for sku in skus:
            board = stock_board(sku, stock)
            for channel in CHANNELS:
                outcome.record(board.channels[channel].listed, truth.available(sku))

    def before(moment: float) -> None:
        clock["now"] = start + timedelta(seconds=moment)

    _run(timeline, config, before, check, sale, correct)
    over = oversold(stored, {(WAREHOUSE, sku): truth.on_hand[sku] for sku in skus})
    outcome.oversold_units = sum(over.values())
    outcome.oversold_orders = min(outcome.oversold_units, outcome.accepted)
    return outcome


def sync_table(config: SimulationConfig) -> list[Outcome]:
    timeline = events(config)
    return [simulate_sync(config, timeline), simulate_ocp(config, timeline)]


def format_sync_table(outcomes: list[Outcome], config: SimulationConfig) -> str:
    rows = [("approach", "orders", "accepted", "oversold", "oversell rate", "stock accuracy", "unit accuracy")]
    for o in outcomes:
        rows.append((o.name, str(o.offered), str(o.accepted), str(o.oversold_orders), f"{o.oversell_rate:.2%}",
                     f"{o.accuracy:.2%}", f"{o.unit_accuracy:.2%}"))
    for name, (accuracy, rate) in INDUSTRY.items():
        rows.append((f"{name}, published", "", "", "", "" if rate is None else f"~{rate}%", f"~{accuracy}%", ""))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join([
        f"sync versus real time: {config.orders} one-unit orders on the drill's shape over {config.minutes:g} min, "
        f"{config.skus} SKUs x {config.stock} units, 4 channels, corrections every "
        f"{config.corrections_every_minutes:g} min (seed {config.seed})",
        *lines,
        "oversell rate = oversold orders / accepted orders; stock accuracy = share of per-minute checks (each "
        "channel x SKU) where the listed quantity equals the units really available then; unit accuracy = "
        "1 - sum |listed - available| / sum max(listed, available) over the same checks.",
    ])
