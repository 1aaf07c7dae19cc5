"""OcpStack: composes the constructs; no resource is declared here and no business rule lives here."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_cdk import CfnOutput, Stack, Tags
from constructs import Construct

from infra import wiring
from infra.build import BUILD_DIR, REPO_ROOT, function_asset_dir, layer_asset_dir
from infra.constructs.api import Api
from infra.constructs.console import Console
from infra.constructs.functions import Functions
from infra.constructs.layers import Layers
from infra.constructs.messaging import Messaging
from infra.constructs.monitoring import Monitoring
from infra.constructs.queues import Queues
from infra.constructs.registry import ResourceRegistry
from infra.constructs.schedules import Schedules
from infra.constructs.storage import Storage
from infra.constructs.workflows import Workflows

CONSOLE_ORIGIN_ENV = "CONSOLE_ORIGIN"
"""`ocp.settings.ConsoleSettings.console_origin`: the API functions answer the console's origin with CORS headers."""


class OcpStack(Stack):
    """Every resource comes from `infra.wiring`; cdk-nag acknowledgements sit beside what they are about
    (see `infra.constructs.nag.acknowledge`), each naming one rule and giving a specific reason."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage: str,
        build_dir: Path = BUILD_DIR,
        **kwargs: Any,
    ) -> None:
        tags = {"project": "ocp", "stage": stage, "managed-by": "cdk"}
        super().__init__(scope, construct_id, tags=tags, **kwargs)
        for key, value in tags.items():
            Tags.of(self).add(key, value)

        self.registry = registry = ResourceRegistry()
        self.storage = Storage(self, "Storage", registry=registry)
        self.queues = Queues(self, "Queues", registry=registry)
        self.messaging = Messaging(self, "Messaging", registry=registry)
        self.layers = Layers(self, "Layers", ocp_asset=layer_asset_dir(build_dir))
        self.functions = Functions(
            self,
            "Functions",
            registry=registry,
            layers=self.layers,
            assets={spec.id: function_asset_dir(spec.id, build_dir) for spec in wiring.FUNCTIONS},
        )
        # The console's distribution first: the API functions' CORS answers name its origin (see Console).
        self.console = Console(self, "Console", access_logs=self.storage.access_logs, source_dir=REPO_ROOT / "console")
        for function_id in dict.fromkeys(route.function for route in wiring.ROUTES):
            self.functions.by_id[function_id].function.add_environment(CONSOLE_ORIGIN_ENV, self.console.origin)
        self.api = Api(
            self,
            "Api",
            functions={fid: fn.function for fid, fn in self.functions.by_id.items()},
            stage_name=stage,
            console_origin=self.console.origin,
        )
        self.console.deploy(api_url=self.api.rest_api.url)
        self.schedules = Schedules(
            self, "Schedules", functions={fid: fn.function for fid, fn in self.functions.by_id.items()}
        )
        self.monitoring = Monitoring(
            self, "Monitoring", functions=self.functions.by_id, queues=self.queues, api=self.api.rest_api,
            access_logs=self.api.access_logs,
        )
        CfnOutput(
            self,
            "BootstrapKeySecretArn",
            value=registry.resolve(wiring.Ref(wiring.BOOTSTRAP_KEY.id, "arn")),
            description="The bootstrap admin key: aws secretsmanager get-secret-value --secret-id <this> (api_key)",
        )
        # After the functions (its definition names their ARNs); functions reach it by name (see Workflows).
        self.workflows = Workflows(
            self,
            "Workflows",
            registry=registry,
            functions={fid: fn.function for fid, fn in self.functions.by_id.items()},
            alarm_topic=self.monitoring.topic,
            dashboard=self.monitoring.dashboard,
        )
