"""Inventory API: WMS stock pushes, the stock board per SKU, its ledger, and the stock policy."""
# No `from __future__ import annotations`: powertools reads the route signatures at runtime.

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from ocp import composition
from ocp.api.cors import console_cors
from ocp.api.errors import register_error_handlers
from ocp.api.operators import attribute_writes, caller_of
from ocp.api.responses import documented
from ocp.domain.inventory.policy import StockPolicy
from ocp.domain.inventory.pushes import PushResult, StockPush
from ocp.domain.inventory.stock import StockNotFound
from ocp.observability import instruments
from ocp.services.inventory.stock import LedgerView, StockBoard, ledger_view, push_stock, put_policy, stock_board

logger, tracer, metrics = instruments("inventory_api")
app = APIGatewayRestResolver(enable_validation=True, cors=console_cors())
register_error_handlers(app)
app.use(middlewares=[attribute_writes])

Sku = Annotated[str, Path(min_length=1, max_length=128)]


@app.put("/inventory/<warehouse>/<sku>", responses=documented(400, 503))
@tracer.capture_method(capture_response=False)
def put_stock(warehouse: Annotated[str, Path(min_length=1, max_length=64)], sku: Sku,
              push: Annotated[StockPush, Body()]) -> PushResult:
    # A warehouse's principal pushes only its own stock.
    caller_of(app.current_event).require_warehouse(warehouse, f"it may not push {warehouse}'s stock", sku=sku)
    result = push_stock(warehouse, sku, push, composition.inventory_deps())
    metrics.add_metric(name="StockPushesApplied" if result.applied else "StockPushesIgnored",
                       unit=MetricUnit.Count, value=1)
    logger.info("stock push", extra={"warehouse": warehouse, "sku": sku, "version": push.version,
                                     "applied": result.applied, "sku_created": result.created})
    return result


@app.get("/inventory/<sku>", responses=documented(400, 404))
@tracer.capture_method(capture_response=False)
def get_stock(sku: Sku) -> StockBoard:
    board = stock_board(sku, composition.inventory_deps())
    if not board.warehouses:
        raise StockNotFound(f"no warehouse stocks {sku!r}")
    return board


@app.get("/inventory-ledger/<sku>", responses=documented(400))
@tracer.capture_method(capture_response=False)
def get_ledger(sku: Sku) -> LedgerView:
    return ledger_view(sku, composition.inventory_deps())


@app.get("/inventory-policy")
def get_policy() -> StockPolicy:
    return composition.inventory_deps().stock.policy()


@app.put("/inventory-policy", responses=documented(400, 409))
@tracer.capture_method(capture_response=False)
def set_policy(policy: Annotated[StockPolicy, Body()]) -> StockPolicy:
    stored = put_policy(policy, composition.inventory_deps())
    logger.info("stock policy stored", extra={"version": stored.version})
    return stored


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
