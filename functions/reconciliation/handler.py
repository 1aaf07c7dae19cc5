"""Scheduled reconciliation: orders with a warehouse against their channels (`ocp.services.fulfillment.reconciliation`).

An order the channel cancelled after it reached the warehouse is recorded once on the order, the warehouse gets a
cancel instruction unless a parcel left, and one alert goes to the `ocp-events` bus (`order.cancelled_on_channel`)
together with a warning log line. Each run looks at a bounded slice and resumes where the last one stopped.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from ocp import composition
from ocp.observability import instruments
from ocp.services.fulfillment.reconciliation import reconcile

logger, tracer, metrics = instruments("reconciliation")
CANCELLED_METRIC = "CancelledOnChannelAfterDispatch"
_RESERVE_MS = 30_000
"""Stop looking orders up this close to the function's timeout; the checkpoints say where the next run resumes."""


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    run = reconcile(composition.reconcile_deps(),
                    out_of_time=lambda: context.get_remaining_time_in_millis() < _RESERVE_MS)
    metrics.add_metric(name="ReconciledOrders", unit=MetricUnit.Count, value=run.looked_up)
    metrics.add_metric(name=CANCELLED_METRIC, unit=MetricUnit.Count, value=len(run.cancelled_on_channel))
    for order_id in run.cancelled_on_channel:
        logger.warning("order cancelled on its channel after it reached the warehouse",
                       extra={"order_id": order_id, "stopped": order_id in run.stopped})
    for channel, failures in run.unreachable.items():
        logger.warning("channel unreachable during reconciliation", extra={"channel": channel, "failures": failures})
    return {"looked_up": run.looked_up, "cancelled_on_channel": run.cancelled_on_channel, "stopped": run.stopped,
            "alerted": run.alerted, "unreachable": run.unreachable, "unreadable": len(run.unreadable),
            "completed": run.completed}
