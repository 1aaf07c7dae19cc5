"""Who is acting, for the audit trail and the warehouse binding.

The authorizer (API Gateway's, or the local runtime's call of the same handler) puts the authenticated principal
and its scopes in `requestContext.authorizer`: that is who acts. An operator console or script may also name the
person behind the principal in the `x-ocp-actor` header (an email or login, up to 128 printable characters); it is
recorded beside the principal, never instead of it. Without it the person is the principal's name.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import ApiGatewayResolver
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent

from ocp.domain.access.binding import require_warehouse
from ocp.domain.errors import InvalidQuery
from ocp.services.access.attribution import acting_as

ACTOR_HEADER = "x-ocp-actor"
MAX_ACTOR = 128


class Caller(NamedTuple):
    principal: str
    """The authenticated principal's name (`unknown` only where no authorizer ran: a direct invoke in a test)."""
    scopes: tuple[str, ...]
    person: str | None
    """The person the principal's client named in `x-ocp-actor`, if any."""

    @property
    def actor(self) -> str:
        """The audit trail's `actor`: the person when named, else the principal."""
        return self.person or self.principal

    def log_fields(self) -> dict[str, str | None]:
        """Who acted, for a log line: the principal and the person it named."""
        return {"principal": self.principal, "actor": self.actor}

    def require_warehouse(self, warehouse: str | None, what: str, **details: object) -> None:
        """403 unless this caller may act for `warehouse` (a `wms:<W>` principal only for W)."""
        require_warehouse(self.principal, self.scopes, warehouse, what, **details)


UNAUTHENTICATED = "unknown"


def caller_of(event: APIGatewayProxyEvent) -> Caller:
    authorizer = event.request_context.authorizer.raw_event or {}
    principal = str(authorizer.get("principal") or UNAUTHENTICATED)
    scopes = tuple(str(authorizer.get("scopes") or "").split())
    return Caller(principal=principal, scopes=scopes, person=_person(event))


def _person(event: APIGatewayProxyEvent) -> str | None:
    named = (event.headers.get(ACTOR_HEADER) or "").strip()  # powertools v3 headers: case-insensitive
    if not named:
        return None
    if len(named) > MAX_ACTOR or not named.isprintable():
        raise InvalidQuery(f"{ACTOR_HEADER} names the operator: up to {MAX_ACTOR} printable characters",
                           details={"field": ACTOR_HEADER})
    return named


def attribute_writes(app: ApiGatewayResolver, next_middleware: NextMiddleware) -> Response[Any]:
    """Middleware: every order and stock write of this request carries the authenticated principal
    (`ocp.services.access.attribution`)."""
    principal = (app.current_event.get("requestContext") or {}).get("authorizer", {}).get("principal")
    if not principal:
        return next_middleware(app)
    with acting_as(str(principal)):
        return next_middleware(app)
