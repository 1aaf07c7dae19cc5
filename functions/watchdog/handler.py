"""Every few minutes: stuck orders per hop as metrics, and a warning event for each hop whose backlog grew.

Metrics (namespace OCP, service `watchdog`): `StuckOrders` and `StuckOldestMinutes` per `hop`, and
`StuckBacklogGrew` (how many hops grew since the last run), which the monitoring alarm watches.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.utilities.typing import LambdaContext

from ocp import composition
from ocp.domain.fulfillment.stuck import GROWTH_METRIC, OLDEST_METRIC, STUCK_METRIC, HopReport, StuckReport
from ocp.observability import NAMESPACE, instruments
from ocp.services.fulfillment.watchdog import run_watchdog

SERVICE = "watchdog"
logger, tracer, metrics = instruments(SERVICE)


def _publish_hop(hop: HopReport, report: StuckReport) -> None:
    oldest_minutes = (report.generated_at - hop.oldest.since).total_seconds() / 60 if hop.oldest else 0.0
    for name, unit, value in ((STUCK_METRIC, MetricUnit.Count, hop.count),
                              (OLDEST_METRIC, MetricUnit.Count, round(oldest_minutes, 1))):
        with single_metric(name=name, unit=unit, value=value, namespace=NAMESPACE,
                           default_dimensions={"service": SERVICE}) as metric:
            metric.add_dimension(name="hop", value=hop.hop)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    run = run_watchdog(composition.watchdog_deps())
    for hop in run.report.hops:
        _publish_hop(hop, run.report)
    metrics.add_metric(name=GROWTH_METRIC, unit=MetricUnit.Count, value=len(run.grown))
    for name, (before, now) in run.grown.items():
        grown = run.report.hop(name)
        logger.warning("stuck backlog grew", extra={
            "event": GROWTH_METRIC, "hop": name, "previous": before, "current": now,
            "oldest_order_id": grown.oldest.order_id if grown and grown.oldest else None,
        })
    return {"counts": run.report.counts(), "grown": {hop: list(pair) for hop, pair in run.grown.items()}}
