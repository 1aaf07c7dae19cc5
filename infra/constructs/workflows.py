"""Every wiring.StateMachine: a Standard Step Functions state machine whose definition is its ASL file.

The file is the definition: it goes into the template as the `DefinitionString` (so cfn-lint checks its states),
and CloudFormation's `DefinitionSubstitutions` replace each `${Placeholder}` with the ARN of the task function
`StateMachine.tasks` names; the local runtime fills the same placeholders with local ARNs
(`infra.local.stepfunctions`). Each machine has its own role that may invoke exactly its task functions, X-Ray
tracing, logging of every event without execution data, and alarms on failed and timed-out executions.

Each machine has a fixed name, `<stack name>-<id>` (`registry.state_machine_name`): functions reach it by that
name's ARN rather than by a reference to the resource, because its own task function has its ARN in its
environment (`RETURNS_STATE_MACHINE_ARN`) while the machine's definition needs that function's ARN, a cycle
CloudFormation refuses.
"""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra import wiring
from infra.build import REPO_ROOT
from infra.constructs.lambda_function import LOG_RETENTION
from infra.constructs.nag import acknowledge
from infra.constructs.registry import ResourceRegistry, pascal, state_machine_name

PERIOD = Duration.minutes(5)


class Workflow(Construct):
    """One state machine with its role, log group and alarms."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        spec: wiring.StateMachine,
        functions: Mapping[str, lambda_.IFunction],
    ) -> None:
        super().__init__(scope, construct_id)
        self.spec = spec
        tasks = {placeholder: functions[function_id] for placeholder, function_id in spec.tasks.items()}
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("states.amazonaws.com"),
            description=f"OCP {spec.id}: invoke its task functions, trace, deliver its logs",
        )
        # Exactly the task functions, unqualified: the definition names them by their plain ARN.
        iam.Grant.add_to_principal(
            grantee=self.role,
            actions=["lambda:InvokeFunction"],
            resource_arns=sorted({fn.function_arn for fn in tasks.values()}),
        )
        # Events only, no payloads (include_execution_data=False): inputs and outputs carry buyers' details.
        self.log_group = logs.LogGroup(self, "Logs", retention=LOG_RETENTION)
        definition = (REPO_ROOT / spec.definition).read_text(encoding="utf-8")
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            state_machine_name=state_machine_name(spec.id),
            state_machine_type=sfn.StateMachineType.STANDARD,
            # Inline, not DefinitionBody.from_file: that uploads the file as an S3 asset, leaving the template
            # without the definition for cfn-lint (and the tests) to check.
            definition_body=sfn.DefinitionBody.from_string(definition),
            definition_substitutions={placeholder: fn.function_arn for placeholder, fn in tasks.items()},
            role=self.role,
            tracing_enabled=True,
            logs=sfn.LogOptions(destination=self.log_group, level=sfn.LogLevel.ALL, include_execution_data=False),
        )
        acknowledge(
            self.role.node.find_child("DefaultPolicy"),
            "IAM5",
            "Step Functions adds these for its own logging and tracing: the CloudWatch Logs log-delivery calls "
            "(logs:CreateLogDelivery, PutResourcePolicy, DescribeLogGroups and the like) and X-Ray's PutTraceSegments "
            "and sampling calls have no resource-level permissions in IAM, so Resource must be *. Invoking functions "
            "is granted on the task functions' ARNs only.",
            applies_to=["Resource::*"],
        )
        self.alarms = [
            self._at_least_one(
                "ExecutionsFailed",
                self.state_machine.metric_failed(period=PERIOD, statistic=cloudwatch.Stats.SUM),
                f"An execution of {spec.id} failed: its history names the state and the error; the after-sale "
                "it was for says so too (status failed).",
            ),
            self._at_least_one(
                "ExecutionsTimedOut",
                self.state_machine.metric_timed_out(period=PERIOD, statistic=cloudwatch.Stats.SUM),
                f"An execution of {spec.id} timed out as a whole: its history shows where it was waiting.",
            ),
        ]

    def _at_least_one(self, construct_id: str, metric: cloudwatch.IMetric, description: str) -> cloudwatch.Alarm:
        return cloudwatch.Alarm(
            self,
            construct_id,
            alarm_description=description,
            metric=metric,
            threshold=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            evaluation_periods=1,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )


class Workflows(Construct):
    """All of `wiring.STATE_MACHINES`, registered so `Grant(id, ...)` and `Ref(id, ...)` reach them; alarms go to
    `alarm_topic` (the stack's on-call topic) and onto `dashboard`."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        registry: ResourceRegistry,
        functions: Mapping[str, lambda_.IFunction],
        alarm_topic: sns.ITopic,
        dashboard: cloudwatch.Dashboard | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.by_id: dict[str, Workflow] = {
            spec.id: Workflow(self, pascal(spec.id), spec=spec, functions=functions) for spec in wiring.STATE_MACHINES
        }
        for resource_id, workflow in self.by_id.items():
            registry.add(resource_id, workflow.state_machine)
            for alarm in workflow.alarms:
                alarm.add_alarm_action(actions.SnsAction(alarm_topic))
        self.alarms = [alarm for workflow in self.by_id.values() for alarm in workflow.alarms]
        if dashboard is not None and self.by_id:
            dashboard.add_widgets(
                cloudwatch.AlarmStatusWidget(title="Workflow alarms", alarms=self.alarms, width=24, height=3),
                *(
                    cloudwatch.GraphWidget(
                        title=f"{resource_id}: executions",
                        left=[
                            workflow.state_machine.metric_started(period=PERIOD),
                            workflow.state_machine.metric_succeeded(period=PERIOD),
                            workflow.state_machine.metric_failed(period=PERIOD),
                            workflow.state_machine.metric_timed_out(period=PERIOD),
                        ],
                        width=12,
                    )
                    for resource_id, workflow in self.by_id.items()
                ),
            )
