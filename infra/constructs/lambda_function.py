"""THE factory every OCP Lambda function goes through: one wiring.Function in, one configured function out.

Runtime, architecture, tracing and log format are constants here, not per-function choices. Each function
gets its own role holding only what its wiring grants say, plus writing to its own log group.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from aws_cdk import Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra import wiring
from infra.constructs.nag import acknowledge
from infra.constructs.registry import ResourceRegistry, Wildcard

RUNTIME = lambda_.Runtime.PYTHON_3_12
ARCHITECTURE = lambda_.Architecture.ARM_64
TRACING = lambda_.Tracing.ACTIVE
LOGGING_FORMAT = lambda_.LoggingFormat.JSON
LOG_RETENTION = logs.RetentionDays.ONE_MONTH

_XRAY = Wildcard(
    "Resource::*",
    "Active tracing adds xray:PutTraceSegments and xray:PutTelemetryRecords, which have no resource-level "
    "permissions in IAM, so Resource must be *.",
)


_XRAY_AND_STREAMS = Wildcard(
    "Resource::*",
    "Active tracing adds xray:PutTraceSegments and xray:PutTelemetryRecords, and the DynamoDB stream event "
    "source adds dynamodb:ListStreams; none of them has resource-level permissions in IAM, so Resource must be *.",
)


def _reads_a_stream(function_id: str) -> bool:
    return any(trigger.function == function_id for trigger in wiring.STREAM_TRIGGERS)


class OcpFunction(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        spec: wiring.Function,
        code: Path,
        layers: Sequence[lambda_.ILayerVersion],
        registry: ResourceRegistry,
    ) -> None:
        super().__init__(scope, construct_id)
        self.spec = spec
        self.log_group = logs.LogGroup(self, "Logs", retention=LOG_RETENTION)
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"OCP {spec.id}: only the grants declared in infra/wiring.py",
        )
        env = {
            name: registry.resolve(value) if isinstance(value, wiring.Ref) else value
            for name, value in spec.env.items()
        }
        self.function = lambda_.Function(
            self,
            "Function",
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            handler=spec.handler,
            code=lambda_.Code.from_asset(str(code)),
            description=spec.description,
            memory_size=spec.memory_mb,
            timeout=Duration.seconds(spec.timeout_s),
            environment=env,
            layers=list(layers),
            role=self.role,
            tracing=TRACING,
            logging_format=LOGGING_FORMAT,
            log_group=self.log_group,
        )
        # The role is ours, so CDK adds no AWSLambdaBasicExecutionRole (a managed policy on logs:* for *).
        self.log_group.grant_write(self.role)

        wildcards = [_XRAY if not _reads_a_stream(spec.id) else _XRAY_AND_STREAMS]
        for grant in spec.grants:
            wildcards += registry.grant(grant, self.function)
        # The wildcards live in the role's inline DefaultPolicy (created by the grants above).
        policy = self.role.node.find_child("DefaultPolicy")
        for wildcard in dict.fromkeys(wildcards):
            acknowledge(policy, "IAM5", wildcard.reason, applies_to=[wildcard.finding])
        acknowledge(
            self.function,
            "L1",
            f"Pinned to {RUNTIME.name} on purpose: the Powertools layer is the python312 build and the ocp "
            "layer is staged for it. Move runtime and layer together, not one alone.",
            children=False,
        )
