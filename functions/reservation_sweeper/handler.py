"""Every minute: finish (or undo) stock changes of large orders a dead process left half-written, release unpaid
pre-reservations past their expiry (one index query for both, not DynamoDB TTL, which can lag by days), then
rebalance the shards of every SKU the stock policy shards."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from ocp import composition
from ocp.domain.clock import utc_now
from ocp.observability import instruments
from ocp.services.inventory.expiry import OrderStockDeps, release_expired
from ocp.services.inventory.shards import rebalance_sharded

logger, tracer, metrics = instruments("reservation_sweeper")


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    orders = composition.sweeper_orders()
    report = release_expired(orders, OrderStockDeps(orders=orders, now=utc_now))
    report.rebalanced = rebalance_sharded(composition.sweeper_inventory())
    metrics.add_metric(name="ReservationsExpired", unit=MetricUnit.Count, value=len(report.released))
    metrics.add_metric(name="ShardsRebalanced", unit=MetricUnit.Count, value=report.rebalanced)
    metrics.add_metric(name="StockChangesSettled", unit=MetricUnit.Count, value=len(report.settled))
    summary = {"released": report.released, "skipped": report.skipped, "rebalanced": report.rebalanced,
               "settled": report.settled}
    logger.info("sweep done", extra=summary)
    return summary
