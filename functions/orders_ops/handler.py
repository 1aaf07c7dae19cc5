"""Operators on held orders: `PATCH /orders/{id}`, `POST /orders/{id}/release` · `/cancel`, and
`POST /orders:bulk`. Every action is on the order's timeline with its principal and its actor (`x-ocp-actor`,
else the principal).
A cancel of an order the warehouse has is 202: its warehouse was asked to stop, the order ends when it confirms."""
# No `from __future__ import annotations`: powertools reads the route signatures at runtime.

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ConfigDict, Field

from ocp import composition
from ocp.api.bodies import optional_body
from ocp.api.cors import console_cors
from ocp.api.errors import register_error_handlers
from ocp.api.operators import attribute_writes, caller_of
from ocp.api.paths import with_literal_colons
from ocp.api.preconditions import revision_of
from ocp.api.responses import documented, errors
from ocp.base_model import OcpModel
from ocp.domain.order.model import Order, OrderStatus
from ocp.observability import instruments
from ocp.services.operations import held_queue
from ocp.services.operations.held_queue import BulkAnswer

logger, tracer, metrics = instruments("orders_ops")
app = APIGatewayRestResolver(enable_validation=True, cors=console_cors())
register_error_handlers(app)
app.use(middlewares=[attribute_writes])

OrderId = Annotated[str, Path(min_length=1, max_length=128)]
JsonObject = Annotated[dict[str, Any], Body()]


class ActionBody(OcpModel):
    """Optional body of release and cancel: a note (the cancel reason) for the timeline."""

    model_config = ConfigDict(extra="forbid")
    note: str | None = Field(default=None, max_length=300)


@app.patch("/orders/<order_id>", responses=documented(400, 404, 409))
@tracer.capture_method(capture_response=False)
def patch_order(order_id: OrderId, body: JsonObject) -> Order:
    logger.set_correlation_id(order_id)
    order = held_queue.patch_order(composition.held_queue_deps(), order_id, body, _actor(), _revision())
    return _done("edited", order)


@app.post("/orders/<order_id>/release", responses=documented(400, 404, 409))
@tracer.capture_method(capture_response=False)
def release_order(order_id: OrderId) -> Order:
    logger.set_correlation_id(order_id)
    order = held_queue.release_order(composition.held_queue_deps(), order_id, _actor(), _note(), _revision())
    return _done("released", order)


@app.post("/orders/<order_id>/cancel", responses={
    200: {"description": "Cancelled", "content": {"application/json": {"model": Order}}},
    202: {"description": "The warehouse has the order and was asked to stop it: it ends when the warehouse "
                         "confirms", "content": {"application/json": {"model": Order}}},
    **errors(400, 404, 409),
})
@tracer.capture_method(capture_response=False)
def cancel_order(order_id: OrderId) -> Response[Order]:
    logger.set_correlation_id(order_id)
    order = held_queue.cancel_order(composition.held_queue_deps(), order_id, _actor(), _note(), _revision())
    if order.status == OrderStatus.cancelled:
        return Response(status_code=200, content_type="application/json", body=_done("cancelled", order))
    return Response(status_code=202, content_type="application/json", body=_done("stop_requested", order))


@app.post("/orders:bulk", responses=documented(400))
@tracer.capture_method(capture_response=False)
def bulk(body: JsonObject) -> BulkAnswer:
    answer = held_queue.bulk(composition.held_queue_deps(), body, _actor())
    metrics.add_metric(name=f"HeldOrders_bulk_{answer.action.value}", unit=MetricUnit.Count,
                       value=answer.counts.get("done", 0) + answer.counts.get("held", 0))
    logger.info("bulk action", extra={"action": answer.action.value, "counts": answer.counts})
    return answer


def _done(action: str, order: Order) -> Order:
    metrics.add_metric(name=f"HeldOrders_{action}", unit=MetricUnit.Count, value=1)
    logger.info("operator action", extra={"action": action, "order_id": order.order_id, "status": order.status})
    return order


def _actor() -> str:
    return caller_of(app.current_event).actor


def _revision() -> int | None:
    return revision_of(app.current_event)


def _note() -> str | None:
    body = optional_body(app.current_event.body, ActionBody,
                         'the body is optional: {"note": "..."} (up to 300 characters)', "note")
    return body.note if body else None


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    event = with_literal_colons(event)
    return app.resolve(event, context)
