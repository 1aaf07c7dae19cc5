"""SQS orders-inbox → unified orders, with partial batch failures so one bad record never blocks the rest."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import Json

from ocp import composition
from ocp.base_model import OcpModel
from ocp.channels.registry import adapter_for
from ocp.domain.order.inbox import InboxMessage
from ocp.domain.order.model import Order
from ocp.observability import NAMESPACE, ORDERS_HELD, instruments, new_order_stages
from ocp.services.order.processing import Outcome, process_message

SERVICE = "order_processor"
logger, tracer, metrics = instruments(SERVICE)


class InboxRecord(OcpModel):
    """An SQS record as far as this handler reads it (Powertools' `SqsRecordModel` would import its parser).

    The batch processor validates each record before the handler runs; one that does not validate is a batch
    item failure, reported by its `messageId`.
    """

    messageId: str
    body: Json[InboxMessage]


# Powertools types `model` as one of its parser models; it only calls `model_validate` and reads `messageId`.
processor = BatchProcessor(event_type=EventType.SQS, model=InboxRecord)  # type: ignore[arg-type]


@tracer.capture_method(capture_response=False)
def handle_record(record: InboxRecord) -> None:
    message = record.body
    logger.append_keys(delivery_id=message.delivery_id, channel=message.channel)
    result = process_message(message, adapter_for(message.channel), composition.processing_deps())
    if result.order_id:
        logger.set_correlation_id(result.order_id)
    metrics.add_metric(name=f"Orders_{result.outcome.value}", unit=MetricUnit.Count, value=1)
    if result.outcome == Outcome.created and result.order is not None:
        _count_decision(result.order)
    logger.info("message processed", extra={"outcome": result.outcome.value, "order_id": result.order_id})


def _count_decision(order: Order) -> None:
    """The order funnel's counts for a new order (`ocp.observability.FUNNEL`), and its holds by reason."""
    for stage in new_order_stages(order.status.value):
        metrics.add_metric(name=stage, unit=MetricUnit.Count, value=1)
    for reason in dict.fromkeys(hold.reason.value for hold in order.holds):
        with single_metric(name=ORDERS_HELD, unit=MetricUnit.Count, value=1, namespace=NAMESPACE,
                           default_dimensions={"service": SERVICE}) as metric:
            metric.add_dimension(name="reason", value=reason)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=handle_record, processor=processor, context=context)
