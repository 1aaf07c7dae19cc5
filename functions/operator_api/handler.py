"""Operator and partner API: look orders up, and page through the held queue (read-only; the held queue's
actions are `orders_ops`')."""
# No `from __future__ import annotations`: powertools reads the route signatures at runtime.

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from ocp import composition
from ocp.api.cors import console_cors
from ocp.api.errors import register_error_handlers
from ocp.api.models import OrderList
from ocp.api.published import openapi_document
from ocp.api.responses import documented
from ocp.domain.errors import InvalidQuery, OrderNotFound
from ocp.domain.order.model import Order
from ocp.domain.returns.model import with_aftersale_steps
from ocp.observability import instruments
from ocp.services.operations.order_pages import DEFAULT_PAGE, MAX_PAGE, queue_page

logger, tracer, metrics = instruments("operator_api")
app = APIGatewayRestResolver(enable_validation=True, cors=console_cors())
register_error_handlers(app)


@app.get("/orders/<order_id>", responses=documented(400, 404))
@tracer.capture_method(capture_response=False)
def get_order(order_id: Annotated[str, Path(min_length=1, max_length=128)]) -> Order:
    logger.set_correlation_id(order_id)
    metrics.add_metric(name="OrderLookups", unit=MetricUnit.Count, value=1)
    order = composition.order_store().get(order_id)
    if order is None:
        raise OrderNotFound(f"no order {order_id!r}")
    return _with_aftersales(order)


def _with_aftersales(order: Order) -> Order:
    returns = composition.returns_reader()
    return with_aftersale_steps(order, returns.of_order(order.order_id)) if returns is not None else order


@app.get("/orders", responses=documented(400))
@tracer.capture_method(capture_response=False)
def find_orders(
    channel: Annotated[str | None, Query(max_length=32)] = None,
    channel_order_id: Annotated[str | None, Query(max_length=128)] = None,
    status: Annotated[str | None, Query(max_length=32)] = None,
    reason: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = DEFAULT_PAGE,
    next_token: Annotated[str | None, Query(max_length=2048)] = None,
) -> OrderList:
    """By the channel's id, or a page of the orders in a status (the held queue: `status=held&reason=…`)."""
    if status:
        metrics.add_metric(name="OrderQueuePages", unit=MetricUnit.Count, value=1)
        page = queue_page(composition.held_queue_queries(), status, reason, limit, next_token)
        return OrderList(orders=page.orders, next_token=page.next_token)
    if not (channel and channel_order_id):
        raise InvalidQuery(
            "give both channel and channel_order_id, or a status (and a hold reason) for the queue",
            details={"required": ["channel", "channel_order_id"], "or": ["status", "reason"]},
        )
    metrics.add_metric(name="OrderLookups", unit=MetricUnit.Count, value=1)
    order = composition.order_store().find_by_channel_order(channel, channel_order_id)
    return OrderList(orders=[order] if order else [])


@app.get("/openapi.json")
def openapi() -> dict[str, Any]:
    # The whole platform's document (every API function), not just this resolver's routes.
    return openapi_document()


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
