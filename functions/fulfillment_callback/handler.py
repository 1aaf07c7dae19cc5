"""POST /fulfillment/events: WMS and TMS callbacks onto the order state machine and its timeline."""
# No `from __future__ import annotations`: powertools reads the route signatures at runtime.

from collections.abc import Callable
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from ocp import composition
from ocp.api.cors import console_cors
from ocp.api.errors import register_error_handlers
from ocp.api.fulfillment_models import CallbackAnswer, ParcelCallbackAnswer, ParcelOrderAnswer
from ocp.api.operators import attribute_writes, caller_of
from ocp.api.responses import documented
from ocp.domain.access.binding import callback_binding
from ocp.domain.fulfillment.callbacks import FulfillmentEvent, FulfillmentEventName, Outcome
from ocp.domain.order.model import Order
from ocp.observability import callback_stage, instruments
from ocp.services.fulfillment.callbacks import CallbackResult
from ocp.services.fulfillment.merge import record_parcel_callback

logger, tracer, metrics = instruments("fulfillment_callback")
app = APIGatewayRestResolver(enable_validation=True, cors=console_cors())
register_error_handlers(app)
app.use(middlewares=[attribute_writes])


@app.post("/fulfillment/events", responses=documented(400, 404, 409))
@tracer.capture_method(capture_response=False)
def post_event(event: Annotated[FulfillmentEvent, Body()]) -> CallbackAnswer | ParcelCallbackAnswer:
    logger.set_correlation_id(event.order_id)
    # One order, or every order of a merged parcel the event names (each recorded in its own transaction).
    parcel = record_parcel_callback(event, composition.callback_deps(), _binding(event))
    for result in parcel.results:
        _observe(event, result)
    answer = parcel.answer
    if not parcel.merged:
        return CallbackAnswer(order_id=answer.order_id, status=answer.status, applied=answer.applied,
                              outcome=answer.outcome)
    return ParcelCallbackAnswer(
        order_id=answer.order_id, status=answer.status, applied=answer.applied, outcome=answer.outcome,
        orders=[ParcelOrderAnswer(order_id=r.order_id, status=r.status, applied=r.applied, outcome=r.outcome)
                for r in parcel.results])


def _binding(event: FulfillmentEvent) -> Callable[[Order], None] | None:
    """A warehouse's principal reports only on orders (parcels) dispatched to it: every order the event moves."""
    caller = caller_of(app.current_event)
    # Only a `delivered` finds its parcel by tracking number (as the state machine does).
    tracking = event.tracking_no if event.event == FulfillmentEventName.delivered else None
    return callback_binding(caller.principal, caller.scopes, event.warehouse, tracking)


def _observe(event: FulfillmentEvent, result: CallbackResult) -> None:
    metrics.add_metric(name=f"Callbacks_{result.outcome.value}", unit=MetricUnit.Count, value=1)
    stage = callback_stage(event.event.value, result.status.value, result.applied)
    if stage:
        metrics.add_metric(name=stage, unit=MetricUnit.Count, value=1)
    facts = {"order_id": result.order_id, "event": event.event.value, "event_id": event.event_id,
             "outcome": result.outcome.value, "status": result.status.value}
    if result.books_refused:
        metrics.add_metric(name="StockBooksRefused", unit=MetricUnit.Count, value=1)
        logger.warning("stock books refused part of the movement; cut and recorded on the order", extra=facts)
    if result.outcome == Outcome.impossible:
        logger.warning("impossible fulfillment event recorded as an issue on the order", extra=facts)
    else:
        logger.info("fulfillment event", extra=facts)
    if result.writeback_due:
        _queue_writeback(result.order_id)


def _queue_writeback(order_id: str) -> None:
    """Ask `channel_writeback` to confirm the new shipment now. The shipment is stored already, so a queue that
    fails here only delays the write-back until the scheduled sweep (the WMS still gets its answer)."""
    try:
        composition.writeback_queue().send([order_id])
    except Exception:  # noqa: BLE001 - any queue failure: the sweep retries; never a 5xx for a stored callback
        metrics.add_metric(name="WritebackQueueFailed", unit=MetricUnit.Count, value=1)
        logger.warning("write-back not queued; the scheduled sweep will retry it", extra={"order_id": order_id})


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
