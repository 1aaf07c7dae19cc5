"""SQS queues from wiring, each with its dead-letter queue and an alarm on the DLQ's depth; and the name prefixes
of queues others create that the functions may send to (`wiring.QUEUE_PREFIXES`)."""

from __future__ import annotations

from aws_cdk import Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra import wiring
from infra.constructs.registry import QueueNames, ResourceRegistry, pascal

DLQ_RETENTION = Duration.days(14)
"""The maximum: a message's age counts from its first enqueue, so the DLQ must outlive the source queue."""


class Queues(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, registry: ResourceRegistry) -> None:
        super().__init__(scope, construct_id)
        self.queues: dict[str, sqs.Queue] = {}
        self.dlqs: dict[str, sqs.Queue] = {}
        self.dlq_alarms: dict[str, cloudwatch.Alarm] = {}
        for spec in wiring.QUEUES:
            dlq = sqs.Queue(
                self,
                f"{pascal(spec.id)}Dlq",
                retention_period=DLQ_RETENTION,
                encryption=sqs.QueueEncryption.SQS_MANAGED,
                enforce_ssl=True,
            )
            queue = sqs.Queue(
                self,
                pascal(spec.id),
                visibility_timeout=Duration.seconds(spec.visibility_timeout_s),
                encryption=sqs.QueueEncryption.SQS_MANAGED,
                enforce_ssl=True,
                dead_letter_queue=sqs.DeadLetterQueue(max_receive_count=spec.max_receive_count, queue=dlq),
            )
            self.dlq_alarms[spec.id] = cloudwatch.Alarm(
                self,
                f"{pascal(spec.id)}DlqAlarm",
                alarm_description=(
                    f"Messages are in {spec.dlq_id}: deliveries failed {spec.max_receive_count} times. "
                    "Inspect them, fix the cause, then redrive (the raw archive keeps every delivery)."
                ),
                metric=dlq.metric_approximate_number_of_messages_visible(
                    period=Duration.minutes(1), statistic=cloudwatch.Stats.MAXIMUM
                ),
                threshold=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                evaluation_periods=1,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
            self.queues[spec.id] = queue
            self.dlqs[spec.id] = dlq
            registry.add(spec.id, queue)
            registry.add(spec.dlq_id, dlq)
        for prefix in wiring.QUEUE_PREFIXES:
            arn = Stack.of(self).format_arn(service="sqs", resource=f"{prefix.prefix}*")
            registry.add(prefix.id, QueueNames(prefix=prefix.prefix, arn=arn))
