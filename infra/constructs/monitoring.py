"""Alarms and one dashboard: is anything failing, and where is it stuck?"""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import CfnOutput, Duration
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_sns as sns
from constructs import Construct

from infra.constructs.lambda_function import OcpFunction
from infra.constructs.queues import Queues
from infra.constructs.registry import pascal
from ocp.domain.fulfillment.stuck import GROWTH_METRIC, STUCK_METRIC
from ocp.observability import NAMESPACE

PERIOD = Duration.minutes(5)


def _at_least_one(
    scope: Construct, construct_id: str, metric: cloudwatch.IMetric, description: str
) -> cloudwatch.Alarm:
    return cloudwatch.Alarm(
        scope,
        construct_id,
        alarm_description=description,
        metric=metric,
        threshold=1,
        comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluation_periods=1,
        treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
    )


class Monitoring(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        functions: Mapping[str, OcpFunction],
        queues: Queues,
        api: apigw.RestApi,
    ) -> None:
        super().__init__(scope, construct_id)
        # No SSE: the topic carries only alarm state changes (names, metrics, thresholds), never order data.
        self.topic = sns.Topic(self, "AlarmTopic", display_name="OCP alarms", enforce_ssl=True)
        self.function_alarms = {
            function_id: _at_least_one(
                self,
                f"{pascal(function_id)}Errors",
                fn.function.metric_errors(period=PERIOD, statistic=cloudwatch.Stats.SUM),
                f"{function_id} raised an unhandled error (see its JSON logs and X-Ray traces).",
            )
            for function_id, fn in functions.items()
        }
        self.api_alarm = _at_least_one(
            self,
            "Api5xx",
            api.metric_server_error(period=PERIOD, statistic=cloudwatch.Stats.SUM),
            "The API answered 5xx: bad input must get a 4xx with a reason, never a 5xx.",
        )
        # Fulfillment: the watchdog publishes how many hops' stuck backlog grew since its last run.
        self.stuck_alarm = _at_least_one(
            self,
            "StuckBacklogGrew",
            cloudwatch.Metric(namespace=NAMESPACE, metric_name=GROWTH_METRIC, dimensions_map={"service": "watchdog"},
                              period=PERIOD, statistic=cloudwatch.Stats.MAXIMUM),
            "Orders are piling up at a hop: GET /orders/stuck says where; the watchdog's warning log names the hop, "
            "the counts and the oldest order.",
        )
        self.alarms: list[cloudwatch.Alarm] = [
            *queues.dlq_alarms.values(),
            *self.function_alarms.values(),
            self.api_alarm,
            self.stuck_alarm,
        ]
        for alarm in self.alarms:
            alarm.add_alarm_action(actions.SnsAction(self.topic))
        CfnOutput(self, "AlarmTopicArn", value=self.topic.topic_arn, description="Subscribe on-call here")

        self.dashboard = cloudwatch.Dashboard(self, "Dashboard", default_interval=Duration.hours(3))
        self.dashboard.add_widgets(
            cloudwatch.AlarmStatusWidget(title="Alarms", alarms=list(self.alarms), width=24, height=4)
        )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Stuck orders per hop (watchdog)",
                left=[cloudwatch.MathExpression(
                    expression=f"SEARCH('{{{NAMESPACE},hop,service}} MetricName=\"{STUCK_METRIC}\"', 'Maximum', 300)",
                    using_metrics={}, label="", period=PERIOD,
                )],
                width=24,
            )
        )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="API requests and errors",
                left=[
                    api.metric_count(period=PERIOD),
                    api.metric_client_error(period=PERIOD),
                    api.metric_server_error(period=PERIOD),
                ],
                right=[api.metric_latency(period=PERIOD, statistic=cloudwatch.Stats.p(99))],
                width=12,
            ),
            *(
                cloudwatch.GraphWidget(
                    title=f"{queue_id}: backlog and dead letters",
                    left=[
                        queue.metric_approximate_number_of_messages_visible(period=PERIOD),
                        queues.dlqs[queue_id].metric_approximate_number_of_messages_visible(period=PERIOD),
                    ],
                    right=[queue.metric_approximate_age_of_oldest_message(period=PERIOD)],
                    width=12,
                )
                for queue_id, queue in queues.queues.items()
            ),
        )
        self.dashboard.add_widgets(
            *(
                cloudwatch.GraphWidget(
                    title=function_id,
                    left=[
                        fn.function.metric_invocations(period=PERIOD),
                        fn.function.metric_errors(period=PERIOD),
                        fn.function.metric_throttles(period=PERIOD),
                    ],
                    right=[fn.function.metric_duration(period=PERIOD, statistic=cloudwatch.Stats.p(99))],
                    width=8,
                )
                for function_id, fn in functions.items()
            )
        )
