"""Administrators: create, list and revoke principals. A new principal's API key is in the create's answer and
nowhere else: OCP keeps only its SHA-256 hash."""
# No `from __future__ import annotations`: powertools reads the route signatures at runtime.

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ConfigDict, Field

from ocp import composition
from ocp.api.cors import console_cors
from ocp.api.errors import register_error_handlers
from ocp.api.operators import caller_of
from ocp.api.responses import documented, errors
from ocp.base_model import OcpModel
from ocp.domain.access.principals import Principal
from ocp.observability import instruments
from ocp.services.access.principals import create_principal, list_principals, revoke_principal

logger, tracer, metrics = instruments("principals_api")
app = APIGatewayRestResolver(enable_validation=True, cors=console_cors())
register_error_handlers(app)


class PrincipalRequest(OcpModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=2, max_length=63, description="`[a-z0-9][a-z0-9-]{1,62}`")
    scopes: list[str] = Field(min_length=1, max_length=32, description=(
        "`admin`, `operator`, `finance`, `read`, `wms:<WAREHOUSE>` (any number of warehouses)"))


class PrincipalView(OcpModel):
    """A principal as listed: never its key, nor the key's hash."""

    name: str
    scopes: list[str]
    created_at: str

    @classmethod
    def of(cls, principal: Principal) -> "PrincipalView":
        return cls(name=principal.name, scopes=list(principal.scopes), created_at=principal.created_at)


class CreatedPrincipal(PrincipalView):
    api_key: str = Field(description="Shown once: OCP stores only its SHA-256 hash")


class PrincipalList(OcpModel):
    principals: list[PrincipalView]


@app.post("/principals", responses={
    201: {"description": "Created: the `api_key` is shown this once",
          "content": {"application/json": {"model": CreatedPrincipal}}},
    **errors(400, 409),
})
@tracer.capture_method(capture_response=False)
def create(body: PrincipalRequest) -> Response[CreatedPrincipal]:
    created = create_principal(composition.principals_deps(), body.name, body.scopes)
    logger.info("principal created", extra={"by": caller_of(app.current_event).log_fields(), "principal": body.name})
    metrics.add_metric(name="PrincipalsCreated", unit=MetricUnit.Count, value=1)
    view = CreatedPrincipal(**PrincipalView.of(created.principal).model_dump(), api_key=created.api_key)
    return Response(status_code=201, content_type="application/json", body=view)


@app.get("/principals", responses=documented())
@tracer.capture_method(capture_response=False)
def list_all() -> PrincipalList:
    return PrincipalList(principals=[PrincipalView.of(p) for p in list_principals(composition.principals_deps())])


@app.delete("/principals/<name>", responses={204: {"description": "Revoked: the key stops at once (in AWS "
                                                                   "within the authorizer cache's 60 s)"},
                                              **errors(400, 404)})
@tracer.capture_method(capture_response=False)
def revoke(name: Annotated[str, Path(min_length=2, max_length=63)]) -> Response[None]:
    revoke_principal(composition.principals_deps(), name)
    logger.info("principal revoked", extra={"by": caller_of(app.current_event).log_fields(), "principal": name})
    metrics.add_metric(name="PrincipalsRevoked", unit=MetricUnit.Count, value=1)
    return Response(status_code=204)



@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
