"""Dispatch orders to their warehouses' WMS.

Two ways in: SQS batches from the `dispatch` queue (`DispatchRequest` bodies; the order processor enqueues one
per reserved order, `POST /orders:redispatch` one per stuck order, and a cancel or an address change of an order
the warehouse has one with `purpose` `stop` or `update`), with partial batch failures so a WMS that is down only
delays its own orders; or a direct invocation `{"order_ids": [...], "actor": "..."}` that sends each order's next
instruction version now and answers per order.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import Field, Json

from ocp import composition
from ocp.base_model import OcpModel
from ocp.domain.fulfillment.dispatch import DispatchRequest, WmsUnavailable
from ocp.observability import instruments
from ocp.services.fulfillment.dispatch import DispatchResult, dispatch, dispatch_now

logger, tracer, metrics = instruments("dispatcher")


class DispatchRecord(OcpModel):
    """An SQS record as far as this handler reads it (Powertools' `SqsRecordModel` would import its parser).

    The batch processor validates each record before the handler runs; one that does not validate is a batch
    item failure, reported by its `messageId`.
    """

    messageId: str
    body: Json[DispatchRequest]


class DirectDispatch(OcpModel):
    order_ids: list[str] = Field(min_length=1, max_length=500)
    actor: str | None = None


# Powertools types `model` as one of its parser models; it only calls `model_validate` and reads `messageId`.
processor = BatchProcessor(event_type=EventType.SQS, model=DispatchRecord)  # type: ignore[arg-type]


@tracer.capture_method(capture_response=False)
def handle_record(record: DispatchRecord) -> None:
    _count(dispatch(record.body, composition.dispatch_deps()))


def _count(result: DispatchResult) -> dict[str, Any]:
    metrics.add_metric(name=f"Dispatch_{result.outcome.value}", unit=MetricUnit.Count, value=1)
    facts = {"order_id": result.order_id, "outcome": result.outcome.value, "version": result.version,
             "detail": result.detail}
    logger.info("dispatch", extra=facts)
    return facts


def _direct(request: DirectDispatch) -> dict[str, Any]:
    results = []
    for order_id in request.order_ids:
        try:
            results.append(_count(dispatch_now(order_id, composition.dispatch_deps(), actor=request.actor)))
        except WmsUnavailable as exc:
            metrics.add_metric(name="Dispatch_unavailable", unit=MetricUnit.Count, value=1)
            results.append({"order_id": order_id, "outcome": "unavailable", "version": None, "detail": exc.message})
    return {"results": results}


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if "Records" in event:
        return dict(process_partial_response(event=event, record_handler=handle_record, processor=processor,
                                             context=context))
    return _direct(DirectDispatch.model_validate(event))
