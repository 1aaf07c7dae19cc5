"""Operators on fulfilment: GET /orders/stuck (where is it stuck?) and POST /orders:redispatch."""
# No `from __future__ import annotations`: powertools reads the route signatures at runtime.

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from ocp import composition
from ocp.api.cors import console_cors
from ocp.api.errors import register_error_handlers
from ocp.api.operators import attribute_writes
from ocp.api.redispatch_models import RedispatchAnswer, RedispatchBody, SkippedOrder
from ocp.api.responses import documented, errors
from ocp.domain.fulfillment.stuck import StuckReport
from ocp.observability import instruments
from ocp.services.fulfillment.stuck import DEFAULT_SAMPLE, redispatch, stuck_report

logger, tracer, metrics = instruments("fulfillment_ops")
app = APIGatewayRestResolver(enable_validation=True, cors=console_cors())
register_error_handlers(app)
app.use(middlewares=[attribute_writes])


@app.get("/orders/stuck", responses=documented(400))
@tracer.capture_method(capture_response=False)
def get_stuck(sample: Annotated[int, Query(ge=0, le=200)] = DEFAULT_SAMPLE) -> StuckReport:
    report = stuck_report(composition.stuck_deps(), sample=sample)
    metrics.add_metric(name="StuckReports", unit=MetricUnit.Count, value=1)
    return report


@app.post("/orders:redispatch", responses={
    202: {"description": "Accepted: the orders named `queued` are sent to their next hop again",
          "content": {"application/json": {"model": RedispatchAnswer}}},
    **errors(400),
})
@tracer.capture_method(capture_response=False)
def post_redispatch(body: Annotated[RedispatchBody, Body()]) -> Response[RedispatchAnswer]:
    done = redispatch(composition.redispatch_deps(), order_ids=body.order_ids, hop=body.hop, actor=body.actor,
                      limit=body.limit)
    metrics.add_metric(name="RedispatchQueued", unit=MetricUnit.Count, value=len(done.queued))
    logger.info("re-dispatch queued", extra={"queued": len(done.queued), "skipped": len(done.skipped),
                                             "not_found": len(done.not_found), "hop": body.hop})
    answer = RedispatchAnswer(queued=done.queued, skipped=[SkippedOrder(**s) for s in done.skipped],
                              not_found=done.not_found)
    return Response(status_code=202, content_type="application/json", body=answer)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
