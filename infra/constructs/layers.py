"""Lambda layers: the project's `ocp` package, and AWS's public Powertools for AWS Lambda (Python) v3 layer."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Stack
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.constructs.lambda_function import ARCHITECTURE, RUNTIME

POWERTOOLS_ACCOUNT = "017000801446"
"""AWS's account that publishes the Powertools layers in the `aws` partition (not ours)."""
POWERTOOLS_LAYER_NAME = "AWSLambdaPowertoolsPythonV3-python312-arm64"
"""Must match RUNTIME and ARCHITECTURE. The v3 layer bundles the extras, pydantic v2 among them."""
POWERTOOLS_LAYER_VERSION = 34
"""From the Powertools repo's install examples (examples/homepage/install/arm64/sam.yaml). Override with
`-c powertools_layer_version=N` if a region lags; the latest is in SSM at
/aws/service/powertools/python/arm64/python3.12/latest."""


def powertools_layer_arn(region: str, version: int = POWERTOOLS_LAYER_VERSION) -> str:
    return f"arn:aws:lambda:{region}:{POWERTOOLS_ACCOUNT}:layer:{POWERTOOLS_LAYER_NAME}:{version}"


class Layers(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, ocp_asset: Path) -> None:
        super().__init__(scope, construct_id)
        version = int(self.node.try_get_context("powertools_layer_version") or POWERTOOLS_LAYER_VERSION)
        self.powertools = lambda_.LayerVersion.from_layer_version_arn(
            self, "Powertools", powertools_layer_arn(Stack.of(self).region, version)
        )
        # A plain asset, no Docker: `python -m infra.build` staged shared/ocp as python/ocp.
        self.ocp = lambda_.LayerVersion(
            self,
            "Ocp",
            code=lambda_.Code.from_asset(str(ocp_asset)),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            description="OCP domain package (shared/ocp)",
        )
        self.all: list[lambda_.ILayerVersion] = [self.powertools, self.ocp]
