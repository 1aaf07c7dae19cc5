"""The REST API: every route in wiring.ROUTES as a Lambda proxy method; keyed routes behind the `authorizer` function.

Who may call what is decided by the authorizer from `Route.scopes` (one map, the same the local runtime enforces):
it answers with an IAM policy allowing the routes the caller's scopes reach, the caller in its context, and the
caller's throttle bucket as `usageIdentifierKey` (API keys come from the authorizer, never from the caller). Each
kind of principal has a usage plan (`wiring.USAGE_PLANS`), which limits every API key in it separately. API
Gateway's own refusals (missing key, denied, unknown route, throttled, too large, defaults) answer the contract's
`{"error": {"code", "message"}}` body, as the local runtime does.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass

from aws_cdk import CfnOutput, Duration
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra import wiring
from infra.constructs.access import bootstrap_usage_key
from infra.constructs.nag import acknowledge
from infra.constructs.registry import pascal, usage_plan_name
from ocp.api import cors

_PATH_PARAM = re.compile(r"\{(\w+)\}")

AUTHORIZER_FUNCTION = "authorizer"
API_KEY_HEADER = "x-api-key"
WEBHOOK_ROUTE = ("POST", "/webhooks/{channel}")
"""The channels' route: its method throttle is sized for the live-stream peak (`wiring.WEBHOOK_THROTTLE`)."""


@dataclass(frozen=True)
class GatewayAnswer:
    """The contract's answer to one of API Gateway's own refusals."""

    type: apigw.ResponseType
    status: str | None
    """None keeps the status API Gateway chose (the DEFAULT_4XX/5XX families)."""
    code: str
    message: str
    """Raw JSON for the message: a quoted string, or `$context.…String` (already quoted by API Gateway)."""


def _quoted(text: str) -> str:
    return json.dumps(text)


DENIED_MESSAGE = ('"the x-api-key does not reach $context.httpMethod $context.resourcePath (principal '
                  "'$context.authorizer.principal', scopes '$context.authorizer.scopes')\"")
GATEWAY_ANSWERS: tuple[GatewayAnswer, ...] = (
    # No x-api-key header: API Gateway refuses before calling the authorizer (its identity source is missing).
    GatewayAnswer(apigw.ResponseType.UNAUTHORIZED, "401", "missing_api_key",
                  _quoted("this route needs an x-api-key header")),
    # The authorizer denied: an unknown or revoked key, or a key whose scopes do not reach the route. Gateway
    # responses substitute variables but cannot branch, so the code comes from the authorizer's context
    # (`invalid_api_key` or `forbidden`), and the message names the route and the key's principal and scopes (both
    # empty for an unknown key).
    GatewayAnswer(apigw.ResponseType.ACCESS_DENIED, "403", "$context.authorizer.error_code", DENIED_MESSAGE),
    # Allowed, but the usage key it named is not an API key in a plan of this stage (a principal half-created).
    GatewayAnswer(apigw.ResponseType.INVALID_API_KEY, "403", "invalid_api_key",
                  _quoted("the x-api-key header does not name a valid key")),
    # REST APIs answer an unknown path, and an undeclared method on a known path, with this type.
    GatewayAnswer(apigw.ResponseType.MISSING_AUTHENTICATION_TOKEN, "404", "route_not_found",
                  _quoted("no route for this method and path")),
    GatewayAnswer(apigw.ResponseType.RESOURCE_NOT_FOUND, "404", "route_not_found",
                  _quoted("no route for this method and path")),
    GatewayAnswer(apigw.ResponseType.THROTTLED, "429", "throttled",
                  _quoted("too many requests: slow down and retry with backoff")),
    GatewayAnswer(apigw.ResponseType.QUOTA_EXCEEDED, "429", "throttled",
                  _quoted("this key's request quota is used up: retry later")),
    GatewayAnswer(apigw.ResponseType.REQUEST_TOO_LARGE, "413", "payload_too_large",
                  _quoted("request bodies are at most 10485760 bytes")),
    GatewayAnswer(apigw.ResponseType.UNSUPPORTED_MEDIA_TYPE, "415", "unsupported_media_type",
                  "$context.error.messageString"),
    GatewayAnswer(apigw.ResponseType.DEFAULT_4_XX, None, "bad_request", "$context.error.messageString"),
    # A failing authorizer or integration: a bug or an outage, never the caller's fault.
    GatewayAnswer(apigw.ResponseType.AUTHORIZER_FAILURE, "500", "internal",
                  _quoted("the authorizer failed; retry, and report it if it persists")),
    GatewayAnswer(apigw.ResponseType.INTEGRATION_TIMEOUT, "504", "internal",
                  _quoted("the request timed out inside OCP; retry (every effect is idempotent)")),
    GatewayAnswer(apigw.ResponseType.DEFAULT_5_XX, None, "internal", "$context.error.messageString"),
)


def gateway_body(answer: GatewayAnswer) -> str:
    return f'{{"error":{{"code":"{answer.code}","message":{answer.message}}}}}'


class Api(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        functions: Mapping[str, lambda_.IFunction],
        stage_name: str,
        console_origin: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.access_logs = logs.LogGroup(self, "AccessLogs", retention=logs.RetentionDays.ONE_MONTH)
        self.rest_api = apigw.RestApi(
            self,
            "RestApi",
            description="OCP: channel webhooks and the operator/partner API",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            # Usage plans count the key the authorizer names (the caller's throttle bucket), not a header.
            api_key_source_type=apigw.ApiKeySourceType.AUTHORIZER,
            # Execution logging (APIG6) needs the account-level API Gateway → CloudWatch Logs role.
            cloud_watch_role=True,
            default_cors_preflight_options=_cors(console_origin),
            deploy_options=self._stage_options(stage_name),
        )
        self._add_gateway_responses(console_origin)
        self.authorizer = apigw.RequestAuthorizer(
            self,
            "Authorizer",
            handler=functions[AUTHORIZER_FUNCTION],
            identity_sources=[apigw.IdentitySource.header(API_KEY_HEADER)],
            # Per key: a revoked key stops within this long in AWS (at once locally).
            results_cache_ttl=Duration.seconds(wiring.AUTHORIZER_CACHE_S),
        )
        self.methods = self._add_routes(functions)
        self.usage_plans = self._add_usage_plans()
        CfnOutput(self, "Url", value=self.rest_api.url, description="Base URL of the OCP API stage")
        self._acknowledge()

    def _stage_options(self, stage_name: str) -> apigw.StageOptions:
        # Request/response bodies carry buyers' names and addresses: never log them (data trace off).
        level, metrics, data_trace = apigw.MethodLoggingLevel.INFO, True, False
        return apigw.StageOptions(
            stage_name=stage_name,
            tracing_enabled=True,
            logging_level=level,
            metrics_enabled=metrics,
            data_trace_enabled=data_trace,
            access_log_destination=apigw.LogGroupLogDestination(self.access_logs),
            access_log_format=_access_log_format(),
            # The whole API's ceiling, and the channels' own share of it (docs/CAPACITY.md).
            throttling_rate_limit=wiring.STAGE_THROTTLE.rate_per_s,
            throttling_burst_limit=wiring.STAGE_THROTTLE.burst,
            method_options={
                f"{WEBHOOK_ROUTE[1]}/{WEBHOOK_ROUTE[0]}": apigw.MethodDeploymentOptions(
                    # A method's settings replace the stage's, so the webhook route repeats the logging ones.
                    logging_level=level,
                    metrics_enabled=metrics,
                    data_trace_enabled=data_trace,
                    throttling_rate_limit=wiring.WEBHOOK_THROTTLE.rate_per_s,
                    throttling_burst_limit=wiring.WEBHOOK_THROTTLE.burst,
                )
            },
        )

    def _add_gateway_responses(self, console_origin: str | None) -> None:
        headers = {"Content-Type": "'application/json'"}
        if console_origin:
            # The console reads error bodies too, so API Gateway's own answers carry its origin like the handlers'.
            headers["Access-Control-Allow-Origin"] = f"'{console_origin}'"
        for answer in GATEWAY_ANSWERS:
            self.rest_api.add_gateway_response(
                pascal(answer.type.response_type.lower()),
                type=answer.type,
                status_code=answer.status,
                response_headers=headers,
                templates={"application/json": gateway_body(answer)},
            )

    def _add_routes(self, functions: Mapping[str, lambda_.IFunction]) -> dict[tuple[str, str], apigw.Method]:
        validator = self.rest_api.add_request_validator(
            "Validator", validate_request_body=True, validate_request_parameters=True
        )
        integrations = {
            function_id: apigw.LambdaIntegration(functions[function_id])
            for function_id in dict.fromkeys(route.function for route in wiring.ROUTES)
        }
        methods: dict[tuple[str, str], apigw.Method] = {}
        for route in wiring.ROUTES:
            keyed = route.api_key_required
            resource = self.rest_api.root.resource_for_path(route.path)
            methods[(route.method, route.path)] = resource.add_method(
                route.method,
                integrations[route.function],
                api_key_required=keyed,
                authorizer=self.authorizer if keyed else None,
                authorization_type=apigw.AuthorizationType.CUSTOM if keyed else apigw.AuthorizationType.NONE,
                request_validator=validator,
                request_parameters={f"method.request.path.{name}": True for name in _PATH_PARAM.findall(route.path)},
            )
        return methods

    def _add_usage_plans(self) -> dict[str, apigw.UsagePlan]:
        stage = apigw.UsagePlanPerApiStage(api=self.rest_api, stage=self.rest_api.deployment_stage)
        plans = {
            plan.id: self.rest_api.add_usage_plan(
                f"{pascal(plan.id)}Plan",
                # Fixed name: principals_api finds the plan's id by it (infra.constructs.registry.usage_plan_name).
                name=usage_plan_name(plan.id),
                description=f"OCP {plan.id} principals: {plan.rate_per_s}/s, burst {plan.burst}, per principal",
                throttle=apigw.ThrottleSettings(rate_limit=plan.rate_per_s, burst_limit=plan.burst),
                api_stages=[stage],
            )
            for plan in wiring.USAGE_PLANS
        }
        bootstrap = self.rest_api.add_api_key(
            "BootstrapUsageKey",
            value=bootstrap_usage_key(),
            description="Throttle bucket of the bootstrap principal (its key is in the bootstrap-api-key secret)",
        )
        plans[wiring.BOOTSTRAP_USAGE_PLAN].add_api_key(bootstrap)
        return plans

    def _acknowledge(self) -> None:
        for route in wiring.ROUTES:
            method = self.methods[(route.method, route.path)]
            route_name = f"{route.method} {route.path} ({route.function})"
            if route.api_key_required:
                # A CUSTOM authorizer satisfies APIG4; COG4 still asks for Cognito.
                acknowledge(
                    method,
                    "COG4",
                    f"{route_name}: callers are operator, warehouse and finance systems holding OCP principal keys, "
                    f"checked by the Lambda REQUEST authorizer against the route's scopes ({', '.join(route.scopes)}); "
                    "there are no end-user identities for a Cognito pool to hold.",
                    children=False,
                )
                continue
            for rule in ("APIG4", "COG4"):
                acknowledge(
                    method,
                    rule,
                    f"{route_name} is declared public in wiring: channel webhooks authenticate with the channel's "
                    "HMAC signature (checked before anything is enqueued); /openapi.json is the public contract.",
                    children=False,
                )
        # CORS preflights (OPTIONS) raise neither APIG4 nor COG4: cdk-nag exempts them.
        acknowledge(
            self.rest_api.deployment_stage,
            "APIG3",
            "No WAF web ACL yet: stage, method and per-principal throttles bound abuse, every keyed route passes the "
            "authorizer and webhook bodies are signature-checked before they are enqueued. A regional web ACL is "
            "an account-level decision.",
        )
        acknowledge(
            self.rest_api.node.find_child("CloudWatchRole"),
            "IAM4",
            "The account-level API Gateway logging role must use AWS's managed policy "
            "AmazonAPIGatewayPushToCloudWatchLogs; it is the documented way to enable execution logs.",
            applies_to=[
                "Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"
            ],
        )


ACCESS_LOG_FIELDS = {
    "requestId": "$context.requestId",
    "ip": "$context.identity.sourceIp",
    "requestTime": "$context.requestTime",
    "httpMethod": "$context.httpMethod",
    "resourcePath": "$context.resourcePath",
    "path": "$context.path",
    "status": "$context.status",
    "protocol": "$context.protocol",
    "responseLength": "$context.responseLength",
    # Who called (the authorizer's principal, never the key) and why API Gateway refused, if it did.
    "principal": "$context.authorizer.principal",
    "errorType": "$context.error.responseType",
    # "-" when no integration ran (refused by API Gateway): quoted, to keep the line valid JSON.
    "integrationLatencyMs": "$context.integrationLatency",
}
ACCESS_LOG_NUMBERS = {"latencyMs": "$context.responseLatency"}
"""One JSON line per request in the access log group; the latencies unquoted, so Logs Insights sorts them as numbers
(the "slowest webhooks" saved query)."""


def _access_log_format() -> apigw.AccessLogFormat:
    fields = [f'"{name}":"{value}"' for name, value in ACCESS_LOG_FIELDS.items()]
    fields += [f'"{name}":{value}' for name, value in ACCESS_LOG_NUMBERS.items()]
    return apigw.AccessLogFormat.custom("{" + ",".join(fields) + "}")


def _cors(console_origin: str | None) -> apigw.CorsOptions | None:
    if not console_origin:
        return None
    return apigw.CorsOptions(
        allow_origins=[console_origin],
        allow_headers=list(cors.ALLOWED_HEADERS),  # the functions' CORS answers use the same constants
        allow_methods=sorted({route.method for route in wiring.ROUTES}),
        max_age=Duration.seconds(cors.MAX_AGE_S),
    )
