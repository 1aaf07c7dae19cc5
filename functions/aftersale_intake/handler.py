"""SQS aftersales-inbox → after-sales: each message is a channel's signal; the record is re-read and upserted, and
its workflow started or resumed. Partial batch failures: one channel call that fails never blocks the rest."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import Json

from ocp import composition
from ocp.base_model import OcpModel
from ocp.domain.order.inbox import InboxMessage
from ocp.domain.returns.channel import AfterSaleSignal
from ocp.observability import instruments
from ocp.services.returns.intake import signal_of, take_signal

logger, tracer, metrics = instruments("aftersale_intake")


class SignalRecord(OcpModel):
    """An SQS record as far as this handler reads it (Powertools' `SqsRecordModel` would import its parser).

    The batch processor validates each record before the handler runs; one that does not validate is a batch
    item failure, reported by its `messageId`.
    """

    messageId: str
    body: Json[InboxMessage]


# Powertools types `model` as one of its parser models; it only calls `model_validate` and reads `messageId`.
processor = BatchProcessor(event_type=EventType.SQS, model=SignalRecord)  # type: ignore[arg-type]


@tracer.capture_method(capture_response=False)
def handle_record(record: SignalRecord) -> None:
    message = record.body
    logger.append_keys(delivery_id=message.delivery_id, channel=message.channel)
    signal: AfterSaleSignal | None = signal_of(message)
    if signal is None:
        logger.warning("not an after-sale signal", extra={"topic": message.topic})
        return
    taken = take_signal(message.channel, signal, composition.aftersale_intake_deps())
    logger.set_correlation_id(taken.return_id)
    metrics.add_metric(name=f"AfterSales_{taken.outcome}", unit=MetricUnit.Count, value=1)
    logger.info("after-sale signal", extra={"return_id": taken.return_id, "outcome": taken.outcome})


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=handle_record, processor=processor, context=context)
