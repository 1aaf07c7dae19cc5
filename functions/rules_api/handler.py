"""Rule documents (`GET/PUT /rules/{kind}`, `POST /rules/{kind}:simulate`), the catalog (`/catalog…`) and the
warehouses (`/warehouses…`): the data the rules decide with."""
# No `from __future__ import annotations`: powertools reads the route signatures at runtime.

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from ocp import composition
from ocp.api.cors import console_cors
from ocp.api.errors import register_error_handlers
from ocp.api.paths import with_literal_colons
from ocp.api.preconditions import revision_of
from ocp.api.responses import documented
from ocp.domain.clock import utc_now
from ocp.domain.decisions.rules import RuleKind, json_schema
from ocp.domain.operations.catalog import CatalogItem
from ocp.domain.operations.warehouses import Warehouse, WarehouseList, directory, routing_facts
from ocp.observability import instruments
from ocp.services.decisions import rules
from ocp.services.decisions.rules import RulesView, Simulation
from ocp.services.operations import catalog, warehouses
from ocp.services.operations.catalog import BulkResult

logger, tracer, metrics = instruments("rules_api")
app = APIGatewayRestResolver(enable_validation=True, cors=console_cors())
register_error_handlers(app)

Kind = Annotated[str, Path(min_length=1, max_length=32)]
Sku = Annotated[str, Path(min_length=1, max_length=128)]
JsonObject = Annotated[dict[str, Any], Body()]


@app.get("/rules/<kind>", responses=documented(400, 404))
@tracer.capture_method(capture_response=False)
def get_rules(kind: Kind, version: Annotated[int | None, Query(ge=0)] = None) -> RulesView:
    return rules.current_rules(composition.rules_store(), kind, version)


@app.put("/rules/<kind>", responses=documented(400, 404, 409))
@tracer.capture_method(capture_response=False)
def put_rules(kind: Kind, document: JsonObject) -> RulesView:
    """Validate and store as the next version; `If-Match: <version>` refuses (409) if another was stored since."""
    stored = rules.put_rules(composition.rules_store(), kind, document, utc_now(),
                             revision_of(app.current_event, "the version number"))
    logger.info("rules stored", extra={"kind": stored.kind, "version": stored.version})
    metrics.add_metric(name="RulesPublished", unit=MetricUnit.Count, value=1)
    return stored


@app.get("/rules/<kind>/schema", responses=documented(400, 404))
def get_schema(kind: Kind) -> dict[str, Any]:
    return dict(json_schema(kind))


@app.post("/rules/<kind>:simulate", responses=documented(400, 404, 405, descriptions={
    405: "Not a rule kind: each kind's simulation is a resource of its own, the others are `/rules/{kind}`",
}))
@tracer.capture_method(capture_response=False)
def simulate(kind: Annotated[RuleKind, Path()], body: JsonObject) -> Simulation:
    """A dry run: which rule fires for `order`, and why. Each kind is a resource of its own (no other `kind`)."""
    facts = routing_facts(directory(composition.warehouse_store().all(), composition.known_warehouses()))
    return rules.simulate(kind, body, store=composition.rules_store(), catalog=composition.catalog_store(),
                          now=utc_now(), warehouses=facts)


@app.get("/catalog/<sku>", responses=documented(400, 404))
def get_catalog_item(sku: Sku) -> CatalogItem:
    return catalog.get_item(composition.catalog_store(), sku)


@app.put("/catalog/<sku>", responses=documented(400))
@tracer.capture_method(capture_response=False)
def put_catalog_item(sku: Sku, body: JsonObject) -> CatalogItem:
    return catalog.put_item(composition.catalog_store(), sku, body, utc_now())


@app.post("/catalog:bulk", responses=documented(400))
@tracer.capture_method(capture_response=False)
def bulk_catalog(body: JsonObject) -> BulkResult:
    result = catalog.bulk_put(composition.catalog_store(), body.get("items"), utc_now())
    metrics.add_metric(name="CatalogItemsStored", unit=MetricUnit.Count, value=result.stored)
    return result


@app.put("/warehouses/<warehouse>", responses=documented(400))
@tracer.capture_method(capture_response=False)
def put_warehouse(warehouse: Annotated[str, Path(min_length=1, max_length=64)], body: JsonObject) -> Warehouse:
    """Register or replace a warehouse or supplier (kind, region, cut-off, active); routing sees it within 30 s."""
    stored = warehouses.put_warehouse(composition.warehouse_store(), warehouse, body, utc_now())
    logger.info("warehouse stored", extra={"warehouse": stored.warehouse_id, "kind": stored.kind.value})
    return stored


@app.get("/warehouses")
def get_warehouses() -> WarehouseList:
    return warehouses.list_warehouses(composition.warehouse_store(), composition.known_warehouses())


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    event = with_literal_colons(event)
    return app.resolve(event, context)
