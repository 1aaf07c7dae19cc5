"""Every minute: orders whose merge window ended leave with their waiting mates as one parcel (one dispatch request
per group), or alone; a group formed earlier whose hand-over is still owed is asked for again."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from ocp import composition
from ocp.observability import instruments
from ocp.services.fulfillment.merge import merge_due_orders

logger, tracer, metrics = instruments("parcel_merge")
BATCH = 500
_RESERVE_MS = 20_000
"""No order is started with less than this left of the run: the next run (a minute on) goes on."""


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    run = merge_due_orders(composition.merge_run_deps(), limit=BATCH,
                           out_of_time=lambda: context.get_remaining_time_in_millis() < _RESERVE_MS)
    counts = {"groups": len(run.grouped), "merged_orders": sum(len(g) for g in run.grouped), "alone": len(run.alone),
              "asked_again": len(run.asked_again), "conflicts": len(run.conflicts)}
    metrics.add_metric(name="ParcelsMerged", unit=MetricUnit.Count, value=counts["groups"])
    metrics.add_metric(name="MergedOrders", unit=MetricUnit.Count, value=counts["merged_orders"])
    if any(counts.values()):
        logger.info("merge run", extra=counts)
    return counts
