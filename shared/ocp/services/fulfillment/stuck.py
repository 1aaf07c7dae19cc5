"""Where is it stuck? The live report from the status index, and bulk re-dispatch (the scheduled watchdog that
compares reports is `ocp.services.fulfillment.watchdog`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from ocp.domain.errors import InvalidQuery
from ocp.domain.fulfillment.stuck import (
    AfterSaleSla,
    HopReport,
    SlaPolicy,
    StuckReport,
    aftersale_hop,
    candidate_bound,
    status_hop,
    writeback_hop,
)

if TYPE_CHECKING:
    from ocp.domain.order.model import OrderStatus
    from ocp.ports import DispatchQueue, OrderQueries, OrderStore, ReturnStore, SlaSource

DEFAULT_SAMPLE = 20
SCAN_LIMIT = 10_000
"""Per hop: past this many stuck orders the count stops and the hop says `truncated` (the answer stays fast)."""


@dataclass(frozen=True)
class StuckDeps:
    queries: OrderQueries
    sla: SlaSource
    now: Callable[[], datetime]
    returns: ReturnStore | None = None
    """After-sales waiting on a person, the buyer, the warehouse or the money; None: no after-sale hops."""


def stuck_report(deps: StuckDeps, sample: int = DEFAULT_SAMPLE, limit: int = SCAN_LIMIT) -> StuckReport:
    """Every hop of the SLA document with its stuck orders: count, oldest, and the first `sample` of them."""
    policy, now = deps.sla.current(), deps.now()
    hops = [_status_hop(deps, policy, status, now, sample, limit) for status, _ in policy.ordered()]
    if policy.channel_writeback is not None:
        until = now - timedelta(minutes=policy.channel_writeback.max_minutes)
        hops.append(writeback_hop(policy.channel_writeback, deps.queries.writeback_pending(until), now,
                                  sample=sample, limit=limit))
    if deps.returns is not None:
        hops += [_aftersale_hop(deps.returns, status, rule, now, sample, limit)
                 for status, rule in policy.aftersales.items()]
    return StuckReport(generated_at=now, sla_version=policy.version, hops=hops)


def _aftersale_hop(returns: ReturnStore, status: str, rule: AfterSaleSla, now: datetime, sample: int,
                   limit: int) -> HopReport:
    return aftersale_hop(status, rule, _waiting(returns, status, now - timedelta(minutes=rule.max_minutes), limit),
                         now, sample=sample, limit=limit)


def _waiting(returns: ReturnStore, status: str, until: datetime,
             limit: int) -> Iterator[tuple[str, str, str, datetime]]:
    """After-sales in `status` since `until` or earlier, oldest first, at most `limit` + 1 read."""
    token: str | None = None
    read = 0
    while read <= limit:
        page, token = returns.page(status, None, None, min(200, limit + 1 - read), token)
        for after_sale in page:
            if after_sale.status_since > until:
                return
            read += 1
            yield after_sale.return_id, after_sale.order_id, after_sale.channel, after_sale.status_since
        if token is None or not page:
            return


def _status_hop(deps: StuckDeps, policy: SlaPolicy, status: OrderStatus, now: datetime, sample: int,
                limit: int) -> HopReport:
    rule = policy.statuses[status]
    candidates = deps.queries.in_status(status, candidate_bound(rule, now, policy.cutoffs))
    return status_hop(status, rule, candidates, policy.cutoffs, now, sample=sample, limit=limit)


# ---- bulk re-dispatch -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RedispatchDeps:
    orders: OrderStore
    stuck: StuckDeps
    queue: DispatchQueue


@dataclass(frozen=True)
class Redispatch:
    queued: list[str] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)
    not_found: list[str] = field(default_factory=list)


def redispatch(
    deps: RedispatchDeps,
    order_ids: Sequence[str] = (),
    hop: str | None = None,
    actor: str | None = None,
    limit: int = 500,
) -> Redispatch:
    """Queue a new instruction version for each named order, or for the stuck orders of `hop` (oldest first).

    Only orders the warehouse has not accepted can be re-dispatched (`reserved`, `dispatched`): the request
    names the version each order is at, so a redelivered request never sends twice. A split order gets one request
    per parcel its warehouse has not accepted, each naming that parcel's version.
    """
    # An operator's rare action: the watchdog, which shares this module, never loads the dispatch planning.
    from ocp.domain.fulfillment.dispatch import DISPATCHABLE, DispatchRequest
    from ocp.domain.fulfillment.parcels import next_requests

    ids = list(dict.fromkeys(order_ids)) + (_stuck_ids(deps.stuck, hop, limit) if hop else [])
    result, requests = Redispatch(), list[DispatchRequest]()
    for order_id in ids[:limit]:
        order = deps.orders.get(order_id)
        if order is None:
            result.not_found.append(order_id)
        elif order.status not in DISPATCHABLE:
            result.skipped.append({"order_id": order_id, "reason": f"order is {order.status.value}"})
        else:
            requests += next_requests(order, actor)  # a split order: one per parcel its warehouse has not accepted
            result.queued.append(order_id)
    if requests:
        deps.queue.send(requests)
    return result


def _stuck_ids(deps: StuckDeps, hop: str, limit: int) -> list[str]:
    from ocp.domain.fulfillment.dispatch import DISPATCHABLE  # see `redispatch`

    policy = deps.sla.current()
    status = next((s for s, rule in policy.statuses.items() if rule.hop == hop), None)
    if status is None or status not in DISPATCHABLE:
        dispatchable = [rule.hop for s, rule in policy.ordered() if s in DISPATCHABLE]
        raise InvalidQuery(f"hop {hop!r} cannot be re-dispatched", details={"hops": dispatchable})
    report = _status_hop(deps, policy, status, deps.now(), sample=limit, limit=limit)
    return [order.order_id for order in report.orders]
