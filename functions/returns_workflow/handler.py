"""The returns state machine's task: one Lambda for every step, named in the task payload (`step`). An exception
fails the task: Step Functions retries the adapters' transient errors and sends the rest to the catch path."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from ocp import composition
from ocp.observability import instruments
from ocp.services.returns.workflow import run_step

logger, tracer, metrics = instruments("returns_workflow")


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    step, return_id = str(event.get("step")), str(event.get("return_id"))
    logger.set_correlation_id(return_id)
    answer = run_step(event, composition.returns_workflow_deps())
    metrics.add_metric(name=f"ReturnStep_{step}", unit=MetricUnit.Count, value=1)
    logger.info("return step", extra={"step": step, "return_id": return_id, "next": answer.get("next")})
    return answer
