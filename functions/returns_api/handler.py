"""After-sales through the API: `POST /returns` (checked against the order now, then its workflow starts),
`GET /returns` and `/returns/{id}`, approve/reject, warehouse receipts, and `POST /refunds/{id}/settled`.
Every action is a step on the after-sale with its actor (`x-ocp-actor`, else the principal)."""
# No `from __future__ import annotations`: powertools reads the route signatures at runtime.

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ConfigDict, Field

from ocp import composition
from ocp.api.bodies import optional_body
from ocp.api.cors import console_cors
from ocp.api.errors import register_error_handlers
from ocp.api.operators import attribute_writes, caller_of
from ocp.api.responses import documented, errors
from ocp.base_model import OcpModel
from ocp.domain.access.binding import receipt_binding
from ocp.domain.returns.model import AfterSale
from ocp.observability import instruments
from ocp.services.returns import requests

logger, tracer, metrics = instruments("returns_api")
app = APIGatewayRestResolver(enable_validation=True, cors=console_cors())
register_error_handlers(app)
app.use(middlewares=[attribute_writes])

ReturnId = Annotated[str, Path(min_length=1, max_length=200)]
JsonObject = Annotated[dict[str, Any], Body()]
PAGE = 50


class ReturnPage(OcpModel):
    returns: list[AfterSale]
    next_token: str | None = None


class DecisionBody(OcpModel):
    """Optional body of approve and reject: a note for the steps; a marketplace refusal's `reason_code`."""

    model_config = ConfigDict(extra="forbid")
    note: str | None = Field(default=None, max_length=300)
    reason_code: str | None = Field(default=None, min_length=1, max_length=40)


@app.post("/returns", responses={
    202: {"description": "Accepted: the after-sale's workflow started (or, for a repeated request_id, had started)",
          "content": {"application/json": {"model": AfterSale}}},
    **errors(400, 404, 409, 422),
})
@tracer.capture_method(capture_response=False)
def post_return(body: JsonObject) -> Response[AfterSale]:
    after_sale, created = requests.create_return(body, composition.returns_api_deps(), _actor())
    logger.set_correlation_id(after_sale.return_id)
    if created:
        metrics.add_metric(name="ReturnsRequested", unit=MetricUnit.Count, value=1)
    return Response(status_code=202, content_type="application/json", body=after_sale)


@app.get("/returns", responses=documented(400))
@tracer.capture_method(capture_response=False)
def list_returns(status: Annotated[str | None, Query(min_length=1, max_length=40)] = None,
                 order_id: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
                 channel: Annotated[str | None, Query(min_length=1, max_length=40)] = None,
                 limit: Annotated[int, Query(ge=1, le=200)] = PAGE,
                 next_token: Annotated[str | None, Query(max_length=2000)] = None) -> ReturnPage:
    found, token = composition.returns_api_deps().returns.page(status, channel, order_id, limit, next_token)
    return ReturnPage(returns=found, next_token=token)


@app.get("/returns/<return_id>", responses=documented(400, 404))
@tracer.capture_method(capture_response=False)
def get_return(return_id: ReturnId) -> AfterSale:
    return requests.get_return(return_id, composition.returns_api_deps())


@app.post("/returns/<return_id>/approve", responses=documented(400, 404, 409))
@tracer.capture_method(capture_response=False)
def approve(return_id: ReturnId) -> AfterSale:
    body = _decision_body()
    return _decided(requests.decide_return(return_id, True, composition.returns_api_deps(), _actor(), body.note))


@app.post("/returns/<return_id>/reject", responses=documented(400, 404, 409))
@tracer.capture_method(capture_response=False)
def reject(return_id: ReturnId) -> AfterSale:
    body = _decision_body()
    return _decided(requests.decide_return(return_id, False, composition.returns_api_deps(), _actor(), body.note,
                                           body.reason_code))


@app.post("/returns/<return_id>/receipt", responses=documented(400, 404, 409, 503))
@tracer.capture_method(capture_response=False)
def receipt(return_id: ReturnId, body: JsonObject) -> AfterSale:
    logger.set_correlation_id(return_id)
    caller = caller_of(app.current_event)
    after_sale = requests.record_receipt(return_id, body, composition.returns_api_deps(), caller.actor,
                                         receipt_binding(caller.principal, caller.scopes, return_id))
    metrics.add_metric(name="ReturnReceipts", unit=MetricUnit.Count, value=1)
    return after_sale


@app.post("/refunds/<refund_id>/settled", responses=documented(400, 404, 409))
@tracer.capture_method(capture_response=False)
def settled(refund_id: Annotated[str, Path(min_length=1, max_length=220)]) -> AfterSale:
    after_sale = requests.settle_refund(refund_id, composition.returns_api_deps(), _actor())
    metrics.add_metric(name="RefundsSettled", unit=MetricUnit.Count, value=1)
    return after_sale


def _decided(after_sale: AfterSale) -> AfterSale:
    logger.set_correlation_id(after_sale.return_id)
    logger.info("return decided", extra={"return_id": after_sale.return_id, "status": after_sale.status})
    return after_sale


def _actor() -> str:
    return caller_of(app.current_event).actor


def _decision_body() -> DecisionBody:
    return optional_body(app.current_event.body, DecisionBody,
                         'the body is optional: {"note": "..." (up to 300 characters), "reason_code": "..."}',
                         "body") or DecisionBody()


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
