"""The scheduled watchdog: the stuck report compared with the counts its previous run saved. Apart from
`ocp.services.fulfillment.stuck` so the operators' function, which only reports and re-dispatches, loads none of it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ocp.domain.fulfillment.stuck import backlog_growth
from ocp.services.fulfillment.stuck import stuck_report

if TYPE_CHECKING:
    from ocp.domain.fulfillment.stuck import StuckReport
    from ocp.ports import WatchdogState
    from ocp.services.fulfillment.stuck import StuckDeps

WATCHDOG_CHECK = "stuck_orders"


@dataclass(frozen=True)
class WatchdogDeps:
    stuck: StuckDeps
    state: WatchdogState


@dataclass(frozen=True)
class WatchdogRun:
    report: StuckReport
    previous: dict[str, int]
    grown: dict[str, tuple[int, int]]
    """hop → (count at the last run, count now), for hops whose backlog grew."""


def run_watchdog(deps: WatchdogDeps) -> WatchdogRun:
    """One scheduled check: the report (sample 1: the handler needs counts and the oldest), compared with the
    counts the previous run saved, which are then replaced."""
    report = stuck_report(deps.stuck, sample=1)
    previous = deps.state.last_counts(WATCHDOG_CHECK)
    counts = report.counts()
    deps.state.save_counts(WATCHDOG_CHECK, counts, report.generated_at)
    return WatchdogRun(report=report, previous=previous, grown=backlog_growth(previous, counts))
