"""Every function in wiring.FUNCTIONS through the one factory, plus the SQS triggers wiring declares."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from aws_cdk import Duration
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from constructs import Construct

from infra import wiring
from infra.constructs.lambda_function import OcpFunction
from infra.constructs.layers import Layers
from infra.constructs.registry import ResourceRegistry, pascal


class Functions(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        registry: ResourceRegistry,
        layers: Layers,
        assets: Mapping[str, Path],
    ) -> None:
        super().__init__(scope, construct_id)
        self.by_id: dict[str, OcpFunction] = {
            spec.id: OcpFunction(
                self, pascal(spec.id), spec=spec, code=assets[spec.id], layers=layers.all, registry=registry
            )
            for spec in wiring.FUNCTIONS
        }
        for stream in wiring.STREAM_TRIGGERS:
            self.by_id[stream.function].function.add_event_source(
                event_sources.DynamoEventSource(
                    registry.table(stream.table),
                    starting_position=lambda_.StartingPosition.LATEST,
                    batch_size=stream.batch_size,
                    max_batching_window=Duration.seconds(stream.max_batching_window_s),
                    retry_attempts=stream.retry_attempts,
                    # A poison record is isolated by halving the batch instead of blocking the shard.
                    bisect_batch_on_error=True,
                    report_batch_item_failures=True,
                )
            )
        for trigger in wiring.QUEUE_TRIGGERS:
            self.by_id[trigger.function].function.add_event_source(
                event_sources.SqsEventSource(
                    registry.queue(trigger.queue),
                    batch_size=trigger.batch_size,
                    max_batching_window=Duration.seconds(trigger.max_batching_window_s),
                    # The handlers return batchItemFailures: only failed records are redelivered.
                    report_batch_item_failures=True,
                )
            )
