"""Stuck orders: the `sla` rule document, when an order at a hop is overdue, and the report grouped by hop.

An order is stuck when it made no progress within the SLA of its current status: `status_since` plus the
status's `max_minutes`, or the warehouse's next cut-off after `status_since` (`by_cutoff`), or the later of
both when a rule gives both. A shipment the channel has not acknowledged is stuck at hop `channel_writeback`
once `writeback_pending_since` is older than its `max_minutes`. Progress resets the clock: the report finds
orders that stopped, not orders that are late against a promise.
"""

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from pydantic import Field, field_validator, model_validator

from ocp.base_model import FrozenModel
from ocp.domain.clock import UtcTime, known_zone
from ocp.domain.order.enums import OrderStatus

WRITEBACK_HOP = "channel_writeback"
_TERMINAL = {OrderStatus.delivered, OrderStatus.cancelled}


class StatusSla(FrozenModel):
    hop: str = Field(pattern=r"^[a-z][a-z_]{0,47}$", description="Where the order is stuck, e.g. wms_acceptance")
    max_minutes: int | None = Field(default=None, gt=0, le=60 * 24 * 60)
    by_cutoff: bool = Field(default=False, description="Due at the warehouse's next cut-off after `since`")

    @model_validator(mode="after")
    def _has_a_limit(self) -> "StatusSla":
        if self.max_minutes is None and not self.by_cutoff:
            raise ValueError("give max_minutes, by_cutoff, or both")
        return self


class WritebackSla(FrozenModel):
    hop: str = Field(default=WRITEBACK_HOP, pattern=r"^[a-z][a-z_]{0,47}$")
    max_minutes: int = Field(gt=0, le=60 * 24 * 60)


class Cutoffs(FrozenModel):
    """Daily warehouse cut-offs (the last carrier pick-up), in `timezone`; a warehouse not listed uses `default`."""

    timezone: str = "Asia/Shanghai"
    default: time = time(16, 0)
    warehouses: dict[str, time] = {}

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        return known_zone(value)

    def for_warehouse(self, warehouse: str | None) -> time:
        return self.warehouses.get(warehouse or "", self.default)


class AfterSaleSla(FrozenModel):
    """How long an after-sale may wait in one status before the report shows it (hop names are the report's)."""

    hop: str = Field(min_length=1, max_length=64)
    max_minutes: int = Field(ge=0, le=60 * 24 * 90)


AFTERSALE_WAITS = ("awaiting_approval", "intercepting", "awaiting_buyer_shipment", "awaiting_receipt",
                   "refund_pending", "refund_overdue")
DEFAULT_AFTERSALE_SLA: dict[str, dict[str, object]] = {
    "awaiting_approval": {"hop": "aftersale_decision", "max_minutes": 240},
    "intercepting": {"hop": "aftersale_intercept", "max_minutes": 60},
    "awaiting_buyer_shipment": {"hop": "aftersale_buyer_shipment", "max_minutes": 7 * 24 * 60},
    "awaiting_receipt": {"hop": "aftersale_receipt", "max_minutes": 5 * 24 * 60},
    "refund_overdue": {"hop": "refund_overdue", "max_minutes": 0},
}


class SlaPolicy(FrozenModel):
    """The `sla` rule document (a rule kind like `routing`; versioned by the rules store)."""

    version: int = Field(default=0, ge=0)
    statuses: dict[OrderStatus, StatusSla]
    channel_writeback: WritebackSla | None = None
    cutoffs: Cutoffs = Cutoffs()
    aftersales: dict[str, AfterSaleSla] = Field(
        default_factory=lambda: {k: AfterSaleSla.model_validate(v) for k, v in DEFAULT_AFTERSALE_SLA.items()},
        description="After-sale status (awaiting_approval, intercepting, awaiting_buyer_shipment, awaiting_receipt, "
                    "refund_pending, refund_overdue) → its hop and limit")

    @field_validator("aftersales")
    @classmethod
    def _known_waits(cls, value: dict[str, AfterSaleSla]) -> dict[str, AfterSaleSla]:
        unknown = sorted(set(value) - set(AFTERSALE_WAITS))
        if unknown:
            raise ValueError(f"after-sale statuses that never wait: {', '.join(unknown)}")
        return value

    @model_validator(mode="after")
    def _valid(self) -> "SlaPolicy":
        terminal = sorted(s.value for s in self.statuses if s in _TERMINAL)
        if terminal:
            raise ValueError(f"no SLA on final statuses: {', '.join(terminal)}")
        hops = [rule.hop for rule in self.statuses.values()]
        hops += [self.channel_writeback.hop] if self.channel_writeback else []
        hops += [rule.hop for rule in self.aftersales.values()]
        if len(set(hops)) != len(hops):
            raise ValueError("each hop names one status (or the write-back): hops must be unique")
        return self

    def ordered(self) -> list[tuple[OrderStatus, StatusSla]]:
        """Rules in the order an order passes the statuses."""
        position = {status: i for i, status in enumerate(OrderStatus)}
        return sorted(self.statuses.items(), key=lambda item: position[item[0]])


DEFAULT_SLA_DOCUMENT: dict[str, object] = {
    "version": 0,
    "statuses": {
        "pending_payment": {"hop": "pending_payment", "max_minutes": 24 * 60},
        "received": {"hop": "processing", "max_minutes": 10},
        "held": {"hop": "operator_review", "max_minutes": 240},
        "reserved": {"hop": "dispatch", "max_minutes": 5},
        "dispatched": {"hop": "wms_acceptance", "max_minutes": 15},
        "accepted": {"hop": "warehouse_picking", "by_cutoff": True},
        "picked": {"hop": "warehouse_packing", "by_cutoff": True},
        "packed": {"hop": "carrier_pickup", "by_cutoff": True},
        "shipped": {"hop": "carrier_delivery", "max_minutes": 7 * 24 * 60},
    },
    "channel_writeback": {"hop": WRITEBACK_HOP, "max_minutes": 30},
    "cutoffs": {"timezone": "Asia/Shanghai", "default": "16:00", "warehouses": {}},
}


@cache
def default_sla() -> SlaPolicy:
    """Used until an `sla` document is stored with the rules (version 0 marks the built-in one). Built when asked
    for: deployed functions read the `sla` document through the rules cache, never this one."""
    return SlaPolicy.model_validate(DEFAULT_SLA_DOCUMENT)


# ---- evaluation ----------------------------------------------------------------------------------------


def next_cutoff(since: datetime, cutoff: time, zone: str) -> datetime:
    """The first cut-off strictly after `since`."""
    tz = ZoneInfo(zone)
    local = since.astimezone(tz)
    candidate = datetime.combine(local.date(), cutoff, tzinfo=tz)
    if candidate <= local:
        candidate = datetime.combine(local.date() + timedelta(days=1), cutoff, tzinfo=tz)
    return candidate.astimezone(UTC)


def last_cutoff(now: datetime, cutoff: time, zone: str) -> datetime:
    """The latest cut-off at or before `now`."""
    tz = ZoneInfo(zone)
    local = now.astimezone(tz)
    candidate = datetime.combine(local.date(), cutoff, tzinfo=tz)
    if candidate > local:
        candidate = datetime.combine(local.date() - timedelta(days=1), cutoff, tzinfo=tz)
    return candidate.astimezone(UTC)


def due_at(rule: StatusSla, since: datetime, warehouse: str | None, cutoffs: Cutoffs) -> datetime:
    limits = []
    if rule.max_minutes is not None:
        limits.append(since + timedelta(minutes=rule.max_minutes))
    if rule.by_cutoff:
        limits.append(next_cutoff(since, cutoffs.for_warehouse(warehouse), cutoffs.timezone))
    return max(limits)


def candidate_bound(rule: StatusSla, now: datetime, cutoffs: Cutoffs) -> datetime:
    """The latest `status_since` that can be overdue at `now`: the index query's upper bound (exact check follows)."""
    bounds = []
    if rule.max_minutes is not None:
        bounds.append(now - timedelta(minutes=rule.max_minutes))
    if rule.by_cutoff:
        # next_cutoff(since) <= now  ⇔  since < last_cutoff(now), for whichever cut-off the warehouse has.
        times = {cutoffs.default, *cutoffs.warehouses.values()}
        bounds.append(max(last_cutoff(now, t, cutoffs.timezone) for t in times))
    return min(bounds)


class OrderSummary(FrozenModel):
    """What the stuck report reads of an order (the status index projects it)."""

    order_id: str
    channel: str
    status: OrderStatus
    status_since: UtcTime
    warehouse: str | None = None
    writeback_pending_since: UtcTime | None = None


class StuckOrder(FrozenModel):
    order_id: str
    since: UtcTime
    due: UtcTime
    warehouse: str | None = None
    channel: str
    return_id: str | None = Field(default=None, description="At an after-sale hop: the after-sale waiting")


class HopReport(FrozenModel):
    hop: str
    status: OrderStatus | None = Field(
        description="The status whose SLA it is (None for the channel write-back and the after-sale hops)")
    aftersale_status: str | None = Field(default=None, description="At an after-sale hop: the after-sale status")
    count: int
    oldest: StuckOrder | None = None
    orders: list[StuckOrder] = Field(description="The oldest stuck orders, oldest first (up to `sample`)")
    truncated: bool = Field(default=False, description="True when the count stopped at the scan limit")


class StuckReport(FrozenModel):
    generated_at: UtcTime
    sla_version: int
    hops: list[HopReport]

    def counts(self) -> dict[str, int]:
        return {hop.hop: hop.count for hop in self.hops}

    def hop(self, name: str) -> HopReport | None:
        return next((h for h in self.hops if h.hop == name), None)


def status_hop(
    status: OrderStatus, rule: StatusSla, candidates: Iterable[OrderSummary], cutoffs: Cutoffs, now: datetime,
    *, sample: int, limit: int,
) -> HopReport:
    """Candidates come oldest first from the status index, already bounded by `candidate_bound`."""
    stuck = (
        StuckOrder(order_id=c.order_id, since=c.status_since, due=due, warehouse=c.warehouse, channel=c.channel)
        for c in candidates
        if (due := due_at(rule, c.status_since, c.warehouse, cutoffs)) <= now
    )
    return _hop(rule.hop, status, stuck, sample=sample, limit=limit)


def writeback_hop(
    rule: WritebackSla, candidates: Iterable[OrderSummary], now: datetime, *, sample: int, limit: int
) -> HopReport:
    stuck = (
        StuckOrder(order_id=c.order_id, since=c.writeback_pending_since, due=due, warehouse=c.warehouse,
                   channel=c.channel)
        for c in candidates
        if c.writeback_pending_since is not None
        and (due := c.writeback_pending_since + timedelta(minutes=rule.max_minutes)) <= now
    )
    return _hop(rule.hop, None, stuck, sample=sample, limit=limit)


def aftersale_hop(status: str, rule: AfterSaleSla, waiting: Iterable[tuple[str, str, str, datetime]], now: datetime,
                  *, sample: int, limit: int) -> HopReport:
    """`waiting`: (return id, order id, channel, status since) of the after-sales in `status`, oldest first."""
    stuck = (
        StuckOrder(order_id=order_id, since=since, due=due, channel=channel, return_id=return_id)
        for return_id, order_id, channel, since in waiting
        if (due := since + timedelta(minutes=rule.max_minutes)) <= now
    )
    report = _hop(rule.hop, None, stuck, sample=sample, limit=limit)
    return report.model_copy(update={"aftersale_status": status})


def _hop(hop: str, status: OrderStatus | None, stuck: Iterable[StuckOrder], *, sample: int, limit: int) -> HopReport:
    count, oldest, truncated = 0, None, False
    first: list[StuckOrder] = []
    for order in stuck:
        if count >= limit:
            truncated = True
            break
        count += 1
        if oldest is None or order.since < oldest.since:
            oldest = order
        if len(first) < sample:
            first.append(order)
    return HopReport(hop=hop, status=status, count=count, oldest=oldest, orders=first, truncated=truncated)


def backlog_growth(previous: Mapping[str, int], current: Mapping[str, int]) -> dict[str, tuple[int, int]]:
    """Hops whose stuck count rose since the last run: hop → (before, now). A hop not seen before counts from 0."""
    return {hop: (previous.get(hop, 0), count) for hop, count in current.items() if count > previous.get(hop, 0)}


STUCK_METRIC = "StuckOrders"
"""Per hop (dimension `hop`), published by the watchdog."""
OLDEST_METRIC = "StuckOldestMinutes"
GROWTH_METRIC = "StuckBacklogGrew"
"""How many hops grew since the last run; the monitoring alarm fires on ≥ 1."""
