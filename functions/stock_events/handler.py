"""Stock table stream → low-stock alerts (EventBridge + SNS), coupon suspend/resume, coalesced listing updates,
and orders held for stock retried when their SKU is restocked.

A batch is coalesced per SKU: however many reservations touched a SKU, it is re-read once and each signal is
published only if it changed. A SKU whose `available` went up in the batch (a WMS push, a release, a
cancellation; a new stock item counts from 0) also has its orders held for stock alone retried, oldest first and
bounded (`ocp.services.operations.restock`). A SKU that fails, or that the run has no time left for, is reported
through its records' sequence numbers, so Lambda retries from there (re-publishing nothing already published, and
reserving nothing twice: every order write is conditional on the revision it read).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from ocp import composition
from ocp.domain.inventory.stock import parse_stock_id
from ocp.observability import instruments
from ocp.services.inventory.signals import publish_stock_signals
from ocp.services.operations.restock import retry_held_for_stock

logger, tracer, metrics = instruments("stock_events")
_RESERVE_MS = 15_000
"""No new SKU with less than this left of the run: its records are retried rather than cut off mid-way."""


def _skus(records: list[dict[str, Any]]) -> dict[str, list[str]]:
    """SKU → the sequence numbers of its records, in batch order."""
    by_sku: dict[str, list[str]] = {}
    for record in records:
        section = record.get("dynamodb") or {}
        key = ((section.get("Keys") or {}).get("stock_id") or {}).get("S")
        if key:
            by_sku.setdefault(parse_stock_id(key)[2], []).append(str(section.get("SequenceNumber")))
    return by_sku


def _available(image: dict[str, Any] | None) -> int:
    value = ((image or {}).get("available") or {}).get("N")
    return int(value) if value is not None else 0


def _restocked(records: list[dict[str, Any]]) -> set[str]:
    """SKUs with a record whose `available` went up (no old image: a new item, up from 0)."""
    skus: set[str] = set()
    for record in records:
        section = record.get("dynamodb") or {}
        key = ((section.get("Keys") or {}).get("stock_id") or {}).get("S")
        if key and _available(section.get("NewImage")) > _available(section.get("OldImage")):
            skus.add(parse_stock_id(key)[2])
    return skus


@tracer.capture_method(capture_response=False)
def handle_sku(sku: str, restocked: bool = False) -> None:
    report = publish_stock_signals([sku], composition.signal_deps())
    for detail_type in report.published:
        metrics.add_metric(name=f"Signals_{detail_type.replace('.', '_')}", unit=MetricUnit.Count, value=1)
    if report.published:
        logger.info("stock signals published", extra={"sku": sku, "published": report.published})
    if restocked:
        _retry_held(sku)


def _retry_held(sku: str) -> None:
    retried = retry_held_for_stock(sku, composition.restock_deps())
    metrics.add_metric(name="RestockReserved", unit=MetricUnit.Count, value=len(retried.reserved))
    if retried.more:
        metrics.add_metric(name="RestockDeferred", unit=MetricUnit.Count, value=1)
    if retried.retried or retried.more:
        logger.info("held orders retried on restock", extra={
            "sku": sku, "reserved": retried.reserved, "released": retried.released, "held": retried.held,
            "conflicts": retried.conflicts, "scanned": retried.scanned, "more": retried.more})


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    records = event.get("Records") or []
    restocked = _restocked(records)
    failed: list[str] = []
    for sku, sequence_numbers in _skus(records).items():
        if context.get_remaining_time_in_millis() < _RESERVE_MS:
            failed += sequence_numbers  # no time left: retried with the records after them
            continue
        try:
            handle_sku(sku, restocked=sku in restocked)
        except Exception:
            logger.exception("stock events failed", extra={"sku": sku})
            failed += sequence_numbers
    return {"batchItemFailures": [{"itemIdentifier": number} for number in failed]}
