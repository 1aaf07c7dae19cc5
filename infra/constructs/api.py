"""The REST API: every route in wiring.ROUTES as a Lambda proxy method, behind API keys where declared."""

from __future__ import annotations

import re
from collections.abc import Mapping

from aws_cdk import CfnOutput
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra import wiring
from infra.constructs.nag import acknowledge

_PATH_PARAM = re.compile(r"\{(\w+)\}")

STAGE_THROTTLE = apigw.ThrottleSettings(rate_limit=100, burst_limit=200)
"""Whole-stage ceiling: channel webhook bursts (live-stream sales) land here first."""
PARTNER_THROTTLE = apigw.ThrottleSettings(rate_limit=20, burst_limit=40)
"""Per API key (operators and partners) through the usage plan."""


class Api(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        functions: Mapping[str, lambda_.IFunction],
        stage_name: str,
    ) -> None:
        super().__init__(scope, construct_id)
        self.access_logs = logs.LogGroup(self, "AccessLogs", retention=logs.RetentionDays.ONE_MONTH)
        self.rest_api = apigw.RestApi(
            self,
            "RestApi",
            description="OCP: channel webhooks and the operator/partner API",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            # Execution logging (APIG6) needs the account-level API Gateway → CloudWatch Logs role.
            cloud_watch_role=True,
            deploy_options=apigw.StageOptions(
                stage_name=stage_name,
                tracing_enabled=True,
                metrics_enabled=True,
                logging_level=apigw.MethodLoggingLevel.INFO,
                # Request/response bodies carry buyers' names and addresses: never log them.
                data_trace_enabled=False,
                access_log_destination=apigw.LogGroupLogDestination(self.access_logs),
                access_log_format=apigw.AccessLogFormat.json_with_standard_fields(
                    caller=False,
                    http_method=True,
                    ip=True,
                    protocol=True,
                    request_time=True,
                    resource_path=True,
                    response_length=True,
                    status=True,
                    user=False,
                ),
                throttling_rate_limit=STAGE_THROTTLE.rate_limit,
                throttling_burst_limit=STAGE_THROTTLE.burst_limit,
            ),
        )
        validator = self.rest_api.add_request_validator(
            "Validator", validate_request_body=True, validate_request_parameters=True
        )
        integrations = {
            function_id: apigw.LambdaIntegration(functions[function_id])
            for function_id in dict.fromkeys(route.function for route in wiring.ROUTES)
        }
        self.methods: dict[tuple[str, str], apigw.Method] = {}
        for route in wiring.ROUTES:
            resource = self.rest_api.root.resource_for_path(route.path)
            self.methods[(route.method, route.path)] = resource.add_method(
                route.method,
                integrations[route.function],
                api_key_required=route.api_key_required,
                request_validator=validator,
                request_parameters={f"method.request.path.{name}": True for name in _PATH_PARAM.findall(route.path)},
            )

        self.api_key = self.rest_api.add_api_key("PartnerKey", description="OCP operator/partner API key")
        plan = self.rest_api.add_usage_plan(
            "UsagePlan",
            description="Operators and partners: per-key throttling",
            throttle=PARTNER_THROTTLE,
            api_stages=[apigw.UsagePlanPerApiStage(api=self.rest_api, stage=self.rest_api.deployment_stage)],
        )
        plan.add_api_key(self.api_key)
        CfnOutput(self, "Url", value=self.rest_api.url, description="Base URL of the OCP API stage")
        CfnOutput(self, "ApiKeyId", value=self.api_key.key_id, description="aws apigateway get-api-key --include-value")

        for route in wiring.ROUTES:
            method = self.methods[(route.method, route.path)]
            route_name = f"{route.method} {route.path} ({route.function})"
            acknowledge(
                method,
                "APIG4",
                f"{route_name} requires an API key bound to the OCP usage plan: callers are operator and "
                "partner systems, not end users."
                if route.api_key_required
                else f"{route_name} is declared without an API key in wiring: channel webhooks authenticate "
                "with the channel's HMAC signature (checked before anything is enqueued); /openapi.json is public.",
                children=False,
            )
            acknowledge(
                method,
                "COG4",
                f"{route_name}: no end-user identities exist yet, callers are sales channels (signed webhooks) "
                "and operator/partner systems (API keys). A Cognito authorizer comes with the operator console.",
                children=False,
            )
        acknowledge(
            self.rest_api.deployment_stage,
            "APIG3",
            "No WAF web ACL yet: stage-level and per-key throttling bound abuse and webhook bodies are "
            "signature-checked before they are enqueued. A regional web ACL is an account-level decision.",
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
