"""Write shipments back to their channels: tracking number and carrier, retried until acknowledged.

Two ways in: SQS batches from the `channel-writeback` queue (`{"order_id"}` bodies, sent by `fulfillment_callback`
when a shipment is recorded), with partial batch failures; and the `channel-writeback-retry` schedule, which sweeps
the orders whose write-back is still pending (the sparse `by_writeback_pending` index) and retries those due. The
channel's answer is recorded on the order either way: confirmed, retried later with backoff, or refused for good
(an issue on the order, and the stuck report's `channel_writeback` hop until an operator acts).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import Field, Json

from ocp import composition
from ocp.base_model import OcpModel
from ocp.observability import instruments
from ocp.services.fulfillment.writeback import WritebackAttempt, sweep_writebacks, write_back

logger, tracer, metrics = instruments("channel_writeback")
_RESERVE_MS = 30_000
"""Stop starting write-backs this close to the function's timeout (a channel call may take its full timeout)."""


class WritebackRequest(OcpModel):
    order_id: str = Field(min_length=1, max_length=128)


class WritebackRecord(OcpModel):
    """An SQS record as far as this handler reads it (Powertools' `SqsRecordModel` would import its parser).

    The batch processor validates each record before the handler runs; one that does not validate is a batch
    item failure, reported by its `messageId`.
    """

    messageId: str
    body: Json[WritebackRequest]


# Powertools types `model` as one of its parser models; it only calls `model_validate` and reads `messageId`.
processor = BatchProcessor(event_type=EventType.SQS, model=WritebackRecord)  # type: ignore[arg-type]


def _count(attempts: list[WritebackAttempt]) -> dict[str, int]:
    counts = {
        "confirmed": sum(a.confirmed for a in attempts),
        "retrying": sum(not a.confirmed and a.retryable for a in attempts),
        "refused": sum(not a.confirmed and not a.retryable for a in attempts),
    }
    for outcome, value in counts.items():
        if value:
            metrics.add_metric(name=f"Writeback_{outcome}", unit=MetricUnit.Count, value=value)
    return counts


@tracer.capture_method(capture_response=False)
def handle_record(record: WritebackRecord) -> None:
    order_id = record.body.order_id
    counts = _count(write_back(order_id, composition.writeback_deps()))
    level = logger.warning if counts["refused"] else logger.info
    level("channel write-back", extra={"order_id": order_id, **counts})


def _sweep(context: LambdaContext) -> dict[str, Any]:
    result = sweep_writebacks(composition.writeback_sweep_deps(),
                              out_of_time=lambda: context.get_remaining_time_in_millis() < _RESERVE_MS)
    for outcome, keys in (("confirmed", result.confirmed), ("retrying", result.retrying),
                          ("refused", result.refused)):
        if keys:
            metrics.add_metric(name=f"Writeback_{outcome}", unit=MetricUnit.Count, value=len(keys))
    summary = {"scanned": result.scanned, "confirmed": len(result.confirmed), "retrying": len(result.retrying),
               "refused": len(result.refused), "conflicts": len(result.conflicts)}
    logger.info("write-back sweep", extra=summary)
    return summary


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if "Records" in event:
        return dict(process_partial_response(event=event, record_handler=handle_record, processor=processor,
                                             context=context))
    return _sweep(context)
