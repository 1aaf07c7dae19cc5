"""API Gateway REQUEST authorizer: the `x-api-key`'s principal and the routes its scopes reach.

API Gateway caches the answer per key (`AUTHORIZER_CACHE_S`), so the policy covers every route the principal may
call, not just the one asked for. The local runtime calls this handler the same way and evaluates the same policy.
"""

from functools import cache
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import event_source
from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import (
    APIGatewayAuthorizerRequestEvent,
    APIGatewayAuthorizerResponse,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from ocp import composition
from ocp.domain.access.principals import Principal
from ocp.domain.access.routes import RouteRule, parse_route_scopes, reachable
from ocp.observability import instruments
from ocp.services.access.principals import authenticate
from ocp.settings import AuthorizerSettings, load

logger, tracer, metrics = instruments("authorizer")
API_KEY_HEADER = "x-api-key"


class RoutePolicy(APIGatewayAuthorizerResponse):
    """Powertools' policy builder, also taking the `:` of literal resources such as `/orders:bulk`."""

    path_regex = r"^[/.a-zA-Z0-9\-_\*\{\}\+:%]+$"


@cache
def _route_rules() -> tuple[RouteRule, ...]:
    return parse_route_scopes(load(AuthorizerSettings).route_scopes)


def policy_for(event: APIGatewayAuthorizerRequestEvent, principal: Principal | None) -> dict[str, Any]:
    """Allow exactly the routes the principal's scopes reach; an unknown key gets an explicit Deny on everything.
    `error_code` lets the gateway's ACCESS_DENIED response name the contract's code."""
    arn = event.parsed_arn
    if principal is None:
        policy = RoutePolicy("unknown", arn.region, arn.aws_account_id, arn.api_id, arn.stage,
                             context={"principal": "", "scopes": "", "error_code": "invalid_api_key"})
        policy.deny_all_routes()
        return policy.asdict()
    policy = RoutePolicy(principal.name, arn.region, arn.aws_account_id, arn.api_id, arn.stage,
                         context={"principal": principal.name, "scopes": " ".join(principal.scopes),
                                  "error_code": "forbidden"},
                         usage_identifier_key=principal.usage_key)
    rules = reachable(_route_rules(), principal.scopes)
    for rule in rules:
        path = rule.arn_path.split("/", 1)[1]
        policy.allow_route(rule.method, path)
        if ":" in path:  # `/orders:bulk` as clients that percent-encode the colon send it
            policy.allow_route(rule.method, path.replace(":", "%3A"))
    if not rules:
        policy.deny_all_routes()
    return policy.asdict()


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(capture_cold_start_metric=True)
@event_source(data_class=APIGatewayAuthorizerRequestEvent)
def lambda_handler(event: APIGatewayAuthorizerRequestEvent, context: LambdaContext) -> dict[str, Any]:
    api_key = event.headers.get(API_KEY_HEADER) or ""
    principal = authenticate(composition.authorizer_deps(), api_key) if api_key else None
    if principal is None:
        metrics.add_metric(name="UnknownApiKeys", unit=MetricUnit.Count, value=1)
        logger.info("unknown api key", extra={"route": f"{event.http_method} {event.resource}"})
    else:
        logger.append_keys(principal=principal.name)
    return policy_for(event, principal)
