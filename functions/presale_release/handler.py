"""Every few minutes: held pre-sale orders whose ship date came lose that hold; with no other hold left they go
through the checks and reservation again (and to the dispatcher once reserved)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from ocp import composition
from ocp.observability import instruments
from ocp.services.operations.presale import DueRelease, release_due_orders

logger, tracer, metrics = instruments("presale_release")
BATCH = 200
_RESERVE_MS = 60_000
"""No new batch with less than this left of the run: a batch of 200 takes seconds; the next run goes on."""


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # Batches until none is due, while a batch still fits in the time left (a big pre-sale comes due at once).
    done: list[DueRelease] = []
    while True:
        batch = release_due_orders(composition.held_queue_deps(), limit=BATCH)
        done += batch
        if len(batch) < BATCH or not any(d.status for d in batch) or \
                context.get_remaining_time_in_millis() < _RESERVE_MS:
            break
    statuses = Counter(d.status.value if d.status else "skipped" for d in done)
    metrics.add_metric(name="PresaleReleased", unit=MetricUnit.Count, value=statuses.get("reserved", 0))
    if done:
        logger.info("pre-sale orders due", extra={"statuses": dict(statuses)})
    return {"due": len(done), "statuses": dict(statuses)}
