"""Scheduled invocations from wiring.SCHEDULES: one EventBridge rule `rate(N minutes)` → the function."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra import wiring
from infra.constructs.registry import pascal


class Schedules(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, functions: Mapping[str, lambda_.IFunction]
    ) -> None:
        super().__init__(scope, construct_id)
        self.rules: dict[str, events.Rule] = {}
        for spec in wiring.SCHEDULES:
            self.rules[spec.id] = events.Rule(
                self,
                pascal(spec.id),
                description=f"OCP schedule {spec.id}: {spec.function} every {spec.rate_minutes} min",
                schedule=events.Schedule.rate(Duration.minutes(spec.rate_minutes)),
                # A missed tick is harmless (the next one does the work): no retries piling up behind it.
                targets=[targets.LambdaFunction(functions[spec.function], retry_attempts=0)],
            )
