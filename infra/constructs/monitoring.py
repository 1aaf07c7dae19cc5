"""Alarms and one dashboard: is anything failing, and where is it stuck?"""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Aws, CfnOutput, Duration
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from constructs import Construct

from infra import wiring
from infra.constructs.lambda_function import OcpFunction
from infra.constructs.queues import Queues
from infra.constructs.registry import pascal
from ocp.domain.fulfillment.stuck import GROWTH_METRIC, STUCK_METRIC, default_sla
from ocp.observability import FUNNEL, NAMESPACE, ORDERS_HELD

PERIOD = Duration.minutes(5)
DEFAULT_SLA = default_sla()
WATCHDOG = "watchdog"
REFUND_OVERDUE_HOP = "refund_overdue"

# ---- how old the oldest message of a queue may get -------------------------------------------------------------
# A healthy queue's oldest message is seconds old: its consumer polls continuously. A message older than the SLA of
# the hop it feeds (`ocp.domain.fulfillment.stuck.default_sla`) means the consumer is stalled, failing and
# redelivering, or (a WMS queue) not consuming at all; the DLQ alarm only fires after max_receive_count failures.
QUEUE_HOPS: dict[str, str] = {
    wiring.ORDERS_INBOX.id: "processing",
    wiring.DISPATCH_QUEUE.id: "dispatch",
    wiring.WRITEBACK_QUEUE.id: DEFAULT_SLA.channel_writeback.hop if DEFAULT_SLA.channel_writeback else "",
    **{queue.id: "wms_acceptance" for queue in wiring.WMS_QUEUES},
}
"""Queue → the stuck report's hop whose SLA bounds how long its messages may wait."""
AFTERSALE_SIGNAL_MAX_AGE_S = 600
"""aftersales-inbox feeds no order hop: a marketplace's after-sale push is re-read within 10 minutes, like an order
push (the `processing` hop)."""


def _hop_minutes(hop: str) -> int | None:
    for rule in DEFAULT_SLA.statuses.values():
        if rule.hop == hop:
            return rule.max_minutes
    writeback = DEFAULT_SLA.channel_writeback
    return writeback.max_minutes if writeback and writeback.hop == hop else None


def max_message_age_s(queue: wiring.Queue) -> int:
    """The ApproximateAgeOfOldestMessage threshold of `queue`: its hop's SLA; else two visibility timeouts (a
    message that old has failed twice)."""
    minutes = _hop_minutes(QUEUE_HOPS.get(queue.id, ""))
    if minutes is not None:
        return minutes * 60
    if queue.id == wiring.AFTERSALES_INBOX.id:
        return AFTERSALE_SIGNAL_MAX_AGE_S
    return 2 * queue.visibility_timeout_s


def stuck_hops() -> list[str]:
    """Every hop of the built-in SLA document, in the order an order passes them (the refund hop has its own alarm).
    An `sla` document that renames hops needs these alarms renamed too (docs/OPERATIONS.md)."""
    hops = [rule.hop for _, rule in DEFAULT_SLA.ordered()]
    hops += [DEFAULT_SLA.channel_writeback.hop] if DEFAULT_SLA.channel_writeback else []
    hops += [rule.hop for rule in DEFAULT_SLA.aftersales.values()]
    return [hop for hop in hops if hop != REFUND_OVERDUE_HOP]


def _metric(name: str, service: str, *, label: str | None = None, statistic: str = cloudwatch.Stats.SUM,
            **dimensions: str) -> cloudwatch.Metric:
    return cloudwatch.Metric(namespace=NAMESPACE, metric_name=name, dimensions_map={"service": service, **dimensions},
                             period=PERIOD, statistic=statistic, label=label)


def _stuck(hop: str, *, label: str | None = None) -> cloudwatch.Metric:
    """Orders (or after-sales) past their SLA at `hop`; labelled only on graphs (an alarm's metric stays plain)."""
    return _metric(STUCK_METRIC, WATCHDOG, statistic=cloudwatch.Stats.MAXIMUM, hop=hop, label=label)


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
        access_logs: logs.ILogGroup | None = None,
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
        self.age_alarms = {
            spec.id: cloudwatch.Alarm(
                self,
                f"{pascal(spec.id)}OldestMessage",
                alarm_description=(
                    f"The oldest message in {spec.id} is over {max_message_age_s(spec)} s old: its consumer is "
                    "stalled, failing and redelivering, or not polling. See the queue's widget and its consumer's "
                    "errors; the DLQ alarm only follows after the last retry."
                ),
                metric=queues.queues[spec.id].metric_approximate_age_of_oldest_message(
                    period=Duration.minutes(1), statistic=cloudwatch.Stats.MAXIMUM
                ),
                threshold=max_message_age_s(spec),
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                # Two minutes in a row: one late sample is not a stall.
                evaluation_periods=2,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
            for spec in wiring.QUEUES
        }
        # The watchdog publishes, every 5 minutes, how many orders (and after-sales) are past their SLA at each hop.
        self.hop_alarms = {
            hop: cloudwatch.Alarm(
                self,
                f"Stuck{pascal(hop)}",
                alarm_description=f"Orders (or after-sales) are past their SLA at hop {hop} for two watchdog runs: "
                                  "GET /orders/stuck lists them; POST /orders:redispatch re-sends those the WMS "
                                  "never accepted.",
                metric=_stuck(hop),
                threshold=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                evaluation_periods=2,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
            for hop in stuck_hops()
        }
        self.refund_overdue_alarm = _at_least_one(
            self,
            "RefundsOverdue",
            _stuck(REFUND_OVERDUE_HOP),
            "A refund agreed with a buyer is not settled within the return policy's refund_overdue_after_minutes: "
            "GET /returns?status=refund_overdue lists them; finance was told on the finance-alerts topic.",
        )
        self.alarms: list[cloudwatch.Alarm] = [
            *queues.dlq_alarms.values(),
            *self.age_alarms.values(),
            *self.function_alarms.values(),
            self.api_alarm,
            self.stuck_alarm,
            *self.hop_alarms.values(),
            self.refund_overdue_alarm,
        ]
        for alarm in self.alarms:
            alarm.add_alarm_action(actions.SnsAction(self.topic))
        CfnOutput(self, "AlarmTopicArn", value=self.topic.topic_arn, description="Subscribe on-call here")
        self.queries = self._saved_queries(functions, access_logs)

        self.dashboard = cloudwatch.Dashboard(self, "Dashboard", default_interval=Duration.hours(3))
        self.dashboard.add_widgets(
            cloudwatch.AlarmStatusWidget(title="Alarms", alarms=list(self.alarms), width=24, height=6)
        )
        self.dashboard.add_widgets(*self._funnel_widgets())
        self.dashboard.add_widgets(*self._inventory_widgets())
        self.dashboard.add_widgets(*self._returns_widgets())
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

        CfnOutput(
            self,
            "DashboardUrl",
            value=f"https://{Aws.REGION}.console.aws.amazon.com/cloudwatch/home?region={Aws.REGION}"
                  f"#dashboards/dashboard/{self.dashboard.dashboard_name}",
            description="The OCP dashboard: alarms, the order funnel, inventory, returns, queues, functions",
        )
        CfnOutput(
            self,
            "AlarmsUrl",
            value=f"https://{Aws.REGION}.console.aws.amazon.com/cloudwatch/home?region={Aws.REGION}"
                  f"#alarmsV2:?search={Aws.STACK_NAME}",
            description="Every alarm of this stack (their actions publish to AlarmTopicArn)",
        )

    @staticmethod
    def _funnel_widgets() -> list[cloudwatch.IWidget]:
        stages = [_metric(name, service, label=stage) for stage, name, service in FUNNEL]
        held = cloudwatch.MathExpression(
            expression=f"SEARCH('{{{NAMESPACE},reason,service}} MetricName=\"{ORDERS_HELD}\"', 'Sum', 300)",
            using_metrics={}, label="", period=PERIOD,
        )
        return [
            cloudwatch.GraphWidget(title="Order funnel: received → decided → reserved → dispatched → shipped → "
                                         "delivered (orders per 5 min)", left=stages, width=16, height=7),
            cloudwatch.SingleValueWidget(title="Order funnel (last 3 h)", metrics=stages, width=8, height=7,
                                         set_period_to_time_range=True),
            cloudwatch.GraphWidget(title="New orders held, by reason", left=[held], width=12, stacked=True),
            cloudwatch.GraphWidget(
                title="Held queue actions",
                left=[_metric(f"HeldOrders_{action}", "orders_ops", label=action)
                      for action in ("edited", "released", "cancelled", "stop_requested")],
                width=12,
            ),
        ]

    @staticmethod
    def _inventory_widgets() -> list[cloudwatch.IWidget]:
        signals = ("stock_low", "coupon_suspend", "coupon_resume", "listing_update")
        return [
            cloudwatch.GraphWidget(
                title="Inventory signals (stock_events)",
                left=[_metric(f"Signals_{signal}", "stock_events", label=signal) for signal in signals],
                right=[_metric("RestockReserved", "stock_events", label="held orders reserved on restock")],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="Stock pushes, expired reservations, refused stock books",
                left=[
                    _metric("StockPushesApplied", "inventory_api", label="pushes applied"),
                    _metric("StockPushesIgnored", "inventory_api", label="pushes ignored (old version)"),
                    _metric("ReservationsExpired", "reservation_sweeper", label="unpaid reservations expired"),
                ],
                right=[_metric("StockBooksRefused", "fulfillment_callback", label="stock books refused")],
                width=12,
            ),
        ]

    @staticmethod
    def _returns_widgets() -> list[cloudwatch.IWidget]:
        return [
            cloudwatch.GraphWidget(
                title="Returns pipeline: requested → received → refunded → settled",
                left=[
                    _metric("ReturnsRequested", "returns_api", label="requested"),
                    _metric("ReturnReceipts", "returns_api", label="received by a warehouse"),
                    _metric("ReturnStep_refund", "returns_workflow", label="refund step"),
                    _metric("RefundsSettled", "returns_api", label="settled"),
                ],
                right=[_stuck(REFUND_OVERDUE_HOP, label="refunds overdue")],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="After-sales waiting past their SLA (watchdog)",
                left=[_stuck(rule.hop, label=rule.hop) for rule in DEFAULT_SLA.aftersales.values()
                      if rule.hop != REFUND_OVERDUE_HOP],
                width=12,
            ),
        ]

    def _saved_queries(
        self, functions: Mapping[str, OcpFunction], access_logs: logs.ILogGroup | None
    ) -> list[logs.QueryDefinition]:
        """CloudWatch Logs Insights → Queries → "OCP/…" (the stack name keeps stages apart)."""
        every_function = [fn.log_group for fn in functions.values()]
        queries = [
            logs.QueryDefinition(
                self,
                "OneOrderQuery",
                query_definition_name=f"OCP/{Aws.STACK_NAME}/one order across every function",
                # Replace the id; the handlers log the order id as correlation_id or order_id.
                query_string=logs.QueryString(
                    fields=["@timestamp", "service", "level", "message", "outcome", "status", "@log"],
                    filter_statements=['correlation_id = "ORDER_ID" or order_id = "ORDER_ID"'],
                    sort="@timestamp asc",
                    limit=1000,
                ),
                log_groups=every_function,
            ),
            logs.QueryDefinition(
                self,
                "ErrorsByFunctionQuery",
                query_definition_name=f"OCP/{Aws.STACK_NAME}/errors by function",
                query_string=logs.QueryString(
                    filter_statements=['level in ["ERROR", "CRITICAL"] or @message like /Task timed out/'],
                    stats_statements=["count(*) as errors by service, bin(5m)"],
                    sort="errors desc",
                ),
                log_groups=every_function,
            ),
        ]
        if access_logs is not None:
            queries.append(
                logs.QueryDefinition(
                    self,
                    "SlowestWebhooksQuery",
                    query_definition_name=f"OCP/{Aws.STACK_NAME}/slowest webhooks",
                    # The API's access log: one JSON line per request, latencyMs a number (infra.constructs.api).
                    query_string=logs.QueryString(
                        fields=["@timestamp", "path", "status", "latencyMs", "integrationLatencyMs", "requestId"],
                        filter_statements=['resourcePath = "/webhooks/{channel}"'],
                        sort="latencyMs desc",
                        limit=50,
                    ),
                    log_groups=[access_logs],
                )
            )
        return queries
