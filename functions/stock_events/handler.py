"""Stock table stream → low-stock alerts (EventBridge + SNS), coupon suspend/resume, coalesced listing updates.

A batch is coalesced per SKU: however many reservations touched a SKU, it is re-read once and each signal is
published only if it changed. A SKU that fails is reported through its records' sequence numbers, so Lambda
retries from there (re-publishing nothing that was already published).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from ocp import composition
from ocp.domain.inventory.stock import parse_stock_id
from ocp.observability import instruments
from ocp.services.inventory.stock import publish_stock_signals

logger, tracer, metrics = instruments("stock_events")


def _skus(records: list[dict[str, Any]]) -> dict[str, list[str]]:
    """SKU → the sequence numbers of its records, in batch order."""
    by_sku: dict[str, list[str]] = {}
    for record in records:
        section = record.get("dynamodb") or {}
        key = ((section.get("Keys") or {}).get("stock_id") or {}).get("S")
        if key:
            by_sku.setdefault(parse_stock_id(key)[2], []).append(str(section.get("SequenceNumber")))
    return by_sku


@tracer.capture_method(capture_response=False)
def handle_sku(sku: str) -> None:
    report = publish_stock_signals([sku], composition.signal_deps())
    for detail_type in report.published:
        metrics.add_metric(name=f"Signals_{detail_type.replace('.', '_')}", unit=MetricUnit.Count, value=1)
    if report.published:
        logger.info("stock signals published", extra={"sku": sku, "published": report.published})


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    failed: list[str] = []
    for sku, sequence_numbers in _skus(event.get("Records") or []).items():
        try:
            handle_sku(sku)
        except Exception:
            logger.exception("stock signals failed", extra={"sku": sku})
            failed += sequence_numbers
    return {"batchItemFailures": [{"itemIdentifier": number} for number in failed]}
