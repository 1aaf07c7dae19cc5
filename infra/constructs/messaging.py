"""Publish-side messaging from wiring: EventBridge buses (domain events) and SNS topics (people)."""

from __future__ import annotations

from aws_cdk import aws_events as events
from aws_cdk import aws_sns as sns
from constructs import Construct

from infra import wiring
from infra.constructs.registry import ResourceRegistry, pascal


class Messaging(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, registry: ResourceRegistry) -> None:
        super().__init__(scope, construct_id)
        self.buses = {
            spec.id: events.EventBus(self, f"{pascal(spec.id)}Bus", description=f"OCP {spec.id}: domain events")
            for spec in wiring.EVENT_BUSES
        }
        # No SSE, like the alarm topic: these topics carry stock levels per SKU and warehouse, never order or
        # buyer data. A KMS key would add key policy and kms:* grants to every publisher for no protection gained.
        self.topics = {
            spec.id: sns.Topic(self, f"{pascal(spec.id)}Topic", display_name=spec.display_name or spec.id,
                               enforce_ssl=True)
            for spec in wiring.TOPICS
        }
        for resource_id, bus in self.buses.items():
            registry.add(resource_id, bus)
        for resource_id, topic in self.topics.items():
            registry.add(resource_id, topic)
