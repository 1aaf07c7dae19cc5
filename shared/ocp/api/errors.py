"""One place that maps domain outcomes to HTTP: `{"error": {"code", "message", "details"}}` (API.md)."""

from __future__ import annotations

import json
from functools import cache
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import ApiGatewayResolver
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)

from ocp.api import bodies
from ocp.domain import errors as domain


@cache
def status_table() -> dict[type[domain.DomainError], HTTPStatus]:
    """Each domain error's status. Built on the first error, not at import: most of these modules belong to other
    functions' domains, and importing them all made every API handler's cold start pay for every domain."""
    from ocp.domain.access import principals as access
    from ocp.domain.access import scopes
    from ocp.domain.decisions.rules import errors as rules
    from ocp.domain.fulfillment import parcels
    from ocp.domain.inventory import stock as inventory
    from ocp.domain.operations import catalog, held_queue, order_edits, warehouses
    from ocp.domain.order import replay
    from ocp.domain.returns import checks as returns
    from ocp.domain.returns import errors as return_errors
    return {
        domain.UnknownChannel: HTTPStatus.NOT_FOUND,
        domain.SignatureInvalid: HTTPStatus.UNAUTHORIZED,
        domain.MalformedDelivery: HTTPStatus.BAD_REQUEST,
        domain.UnmappableDocument: HTTPStatus.UNPROCESSABLE_ENTITY,
        domain.InvalidQuery: HTTPStatus.BAD_REQUEST,
        domain.OrderNotFound: HTTPStatus.NOT_FOUND,
        domain.ConcurrentModification: HTTPStatus.CONFLICT,
        # A channel whose secret is not deployed yet: the delivery is kept and the channel retries later.
        domain.ChannelNotConfigured: HTTPStatus.SERVICE_UNAVAILABLE,
        # Inventory: stock kept colliding past the retries (the caller retries); a SKU never stocked.
        inventory.StockContention: HTTPStatus.SERVICE_UNAVAILABLE,
        inventory.StockNotFound: HTTPStatus.NOT_FOUND,
        # Rules and catalog: invalid documents list every problem; a lost race for a version is 409.
        rules.InvalidRuleDocument: HTTPStatus.BAD_REQUEST,
        rules.UnknownRuleKind: HTTPStatus.NOT_FOUND,
        rules.RuleVersionNotFound: HTTPStatus.NOT_FOUND,
        rules.RulesVersionConflict: HTTPStatus.CONFLICT,
        rules.InvalidSimulation: HTTPStatus.BAD_REQUEST,
        catalog.InvalidCatalogItem: HTTPStatus.BAD_REQUEST,
        catalog.InvalidBulkRequest: HTTPStatus.BAD_REQUEST,
        catalog.CatalogItemNotFound: HTTPStatus.NOT_FOUND,
        # The held queue and warehouses: an action the order's status does not allow is a conflict.
        held_queue.OrderActionRefused: HTTPStatus.CONFLICT,
        order_edits.InvalidOrderEdit: HTTPStatus.BAD_REQUEST,
        held_queue.InvalidBulkOrderRequest: HTTPStatus.BAD_REQUEST,
        warehouses.InvalidWarehouse: HTTPStatus.BAD_REQUEST,
        # A callback for a split order that does not name its parcel's warehouse.
        parcels.ParcelNotNamed: HTTPStatus.BAD_REQUEST,
        # After-sales: a request the order does not allow (window, quantity, not shipped) names every problem.
        returns.ReturnRefused: HTTPStatus.UNPROCESSABLE_ENTITY,
        return_errors.InvalidReturnRequest: HTTPStatus.BAD_REQUEST,
        return_errors.ReturnNotFound: HTTPStatus.NOT_FOUND,
        return_errors.ReturnConflict: HTTPStatus.CONFLICT,
        # Replay and redrive: an unknown quarantine record or queue; SQS refusing a move (one is running).
        replay.QuarantineRecordNotFound: HTTPStatus.NOT_FOUND,
        replay.UnknownQueue: HTTPStatus.NOT_FOUND,
        replay.DlqRedriveRefused: HTTPStatus.CONFLICT,
        # Access: a caller acting beyond its scopes or its warehouse; principals by name.
        scopes.Forbidden: HTTPStatus.FORBIDDEN,
        access.InvalidPrincipal: HTTPStatus.BAD_REQUEST,
        access.PrincipalExists: HTTPStatus.CONFLICT,
        access.PrincipalNotFound: HTTPStatus.NOT_FOUND,
    }


def error_response(status: HTTPStatus, code: str, message: str, details: Any = None) -> Response:
    body: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        body["details"] = details
    return Response(
        status_code=int(status), content_type="application/json",
        body=json.dumps({"error": body}, ensure_ascii=False, default=str),
    )


def register_error_handlers(app: ApiGatewayResolver, json_bodies: bool = True) -> None:
    """The contract's error bodies for every failure, and (`json_bodies`) the one body decoder
    (`ocp.api.bodies`): a body that is not UTF-8, nested too deep or not JSON is refused before any route reads it.
    The channel webhook passes `json_bodies=False`: its body is the channel's raw bytes, verified as sent."""
    if json_bodies:
        register_body_decoding(app)

    @app.exception_handler(domain.DomainError)
    def _domain(exc: domain.DomainError) -> Response:
        status = next((s for t, s in status_table().items() if isinstance(exc, t)), HTTPStatus.BAD_REQUEST)
        return error_response(status, exc.code, exc.message, exc.details)

    @app.exception_handler(RequestValidationError)
    def _validation(exc: RequestValidationError) -> Response:
        details = [{"field": ".".join(str(p) for p in e["loc"][1:]), "problem": e["msg"]} for e in exc.errors()]
        return error_response(HTTPStatus.BAD_REQUEST, "invalid_request", "the request is not valid", details)

    @app.exception_handler(RequestUnsupportedContentType)
    def _unsupported(exc: RequestUnsupportedContentType) -> Response:
        return error_response(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type",
                              "request bodies are JSON: send Content-Type: application/json (UTF-8)")

    @app.not_found
    def _not_found(exc: Exception) -> Response:
        return error_response(HTTPStatus.NOT_FOUND, "route_not_found", "no such route")


def register_body_decoding(app: ApiGatewayResolver) -> None:
    app.use(middlewares=[bodies.decode_request_body])
    # Powertools runs its request validation, which parses the body, before every `app.use` middleware: the
    # decoder goes in front of it too (it runs once per request; `tests/unit/test_request_bodies.py` checks the
    # order still holds after a powertools upgrade).
    validation = getattr(app, "_request_validation_middleware", None)
    if validation is not None:
        app._request_validation_middleware = bodies.decoding_first(validation)  # type: ignore[assignment]

    @app.exception_handler(bodies.RefusedBody)
    def _refused(exc: bodies.RefusedBody) -> Response:
        return error_response(exc.status, exc.code, exc.message, exc.details)
