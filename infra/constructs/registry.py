"""Where wiring's logical ids meet CDK: resolve `Ref`s and turn `Grant`s into least-privilege grant_* calls."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from aws_cdk import Aws, CfnElement, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn

from infra import wiring


@dataclass(frozen=True)
class QueueNames:
    """Queues this stack does not create, by name prefix (`wiring.QueuePrefix`): `arn` ends in `<prefix>*`."""

    prefix: str
    arn: str


WiredResource = (
    dynamodb.Table | s3.Bucket | sqs.Queue | secretsmanager.Secret | events.EventBus | sns.Topic | QueueNames
    | sfn.StateMachine
)

_STATE_MACHINE_IDS = frozenset(spec.id for spec in wiring.STATE_MACHINES)
_USAGE_PLAN_IDS = frozenset(plan.id for plan in wiring.USAGE_PLANS)


def usage_plan_name(plan_id: str) -> str:
    """A usage plan's fixed name, `<stack name>-<kind>`. Functions get the name, not the id: principals_api is an
    integration of the API, so a reference to a plan (which references the API's stage) would be a cycle. The
    principals_api adapter finds the plan's id by this name."""
    return f"{Aws.STACK_NAME}-{plan_id}"


def _apigateway_arn(path: str) -> str:
    """An API Gateway management-API resource (`/apikeys`, `/usageplans/*/keys`) in the stack's region."""
    return f"arn:{Aws.PARTITION}:apigateway:{Aws.REGION}::{path}"


USAGE_KEY_PATHS = ("/apikeys", "/apikeys/*", "/usageplans", "/usageplans/*/keys", "/usageplans/*/keys/*")
"""What `manage_keys` reaches: create, read and delete API keys; list the plans (to find one by name); add a key to
a plan and take it out."""


def state_machine_name(resource_id: str) -> str:
    """A state machine's fixed name, `<stack name>-<id>`: one per stage, and known before the machine exists."""
    return f"{Aws.STACK_NAME}-{resource_id}"


def state_machine_arn(resource_id: str) -> str:
    """Built from the name, not read from the resource: a reference to the machine from its own task function
    (whose ARN is in the machine's definition) would be a dependency cycle."""
    return f"arn:{Aws.PARTITION}:states:{Aws.REGION}:{Aws.ACCOUNT_ID}:stateMachine:{state_machine_name(resource_id)}"


def _executions_arn(resource_id: str) -> str:
    """Every execution of the machine (`execution:<name>:*`), as CDK's grant_execution writes it."""
    return f"arn:{Aws.PARTITION}:states:{Aws.REGION}:{Aws.ACCOUNT_ID}:execution:{state_machine_name(resource_id)}:*"


def _executions_finding(resource_id: str) -> str:
    """cdk-nag's IAM5 finding for `_executions_arn` (pseudo parameters rendered as `<AWS::...>`)."""
    return (f"Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:"
            f"<AWS::StackName>-{resource_id}:*")


def pascal(resource_id: str) -> str:
    """`orders-inbox` / `channel_webhook` → `OrdersInbox` / `ChannelWebhook` (construct ids)."""
    return "".join(part.capitalize() for part in resource_id.replace("_", "-").split("-") if part)


@dataclass(frozen=True)
class Wildcard:
    """A wildcard a grant puts in a policy on purpose: the cdk-nag IAM5 finding and why it is fine."""

    finding: str
    reason: str


class ResourceRegistry:
    """Logical id (as in `infra.wiring`) → the construct that realises it in this stack."""

    def __init__(self) -> None:
        self._resources: dict[str, WiredResource] = {}

    def add(self, resource_id: str, resource: WiredResource) -> None:
        if resource_id in self._resources:
            raise ValueError(f"resource id {resource_id!r} is declared twice in wiring")
        self._resources[resource_id] = resource

    def get(self, resource_id: str) -> WiredResource:
        try:
            return self._resources[resource_id]
        except KeyError:
            raise KeyError(f"wiring refers to {resource_id!r}, which no construct declares") from None

    def queue(self, resource_id: str) -> sqs.Queue:
        resource = self.get(resource_id)
        if not isinstance(resource, sqs.Queue):
            raise TypeError(f"{resource_id!r} is not a queue")
        return resource

    def table(self, resource_id: str) -> dynamodb.Table:
        resource = self.get(resource_id)
        if not isinstance(resource, dynamodb.Table):
            raise TypeError(f"{resource_id!r} is not a table")
        return resource

    def resolve(self, ref: wiring.Ref) -> str:
        """A `Ref`'s name, URL or ARN as a CloudFormation token."""
        if ref.resource in _STATE_MACHINE_IDS:
            # By name, so functions (built before the machines) reach them without a reference; see state_machine_arn.
            names = {"name": state_machine_name(ref.resource), "arn": state_machine_arn(ref.resource)}
            if ref.attribute not in names:
                raise ValueError(f"{ref.resource!r} has no {ref.attribute!r} to reference")
            return names[ref.attribute]
        if ref.resource in _USAGE_PLAN_IDS:
            if ref.attribute != "name":
                raise ValueError(f"usage plan {ref.resource!r} is referenced by name only")
            return usage_plan_name(ref.resource)
        resource = self.get(ref.resource)
        values: dict[str, str] = {}
        if isinstance(resource, dynamodb.Table):
            values = {"name": resource.table_name, "arn": resource.table_arn}
        elif isinstance(resource, s3.Bucket):
            values = {"name": resource.bucket_name, "arn": resource.bucket_arn}
        elif isinstance(resource, sqs.Queue):
            values = {"name": resource.queue_name, "arn": resource.queue_arn, "url": resource.queue_url}
        elif isinstance(resource, secretsmanager.Secret):
            values = {"name": resource.secret_name, "arn": resource.secret_arn}
        elif isinstance(resource, events.EventBus):
            values = {"name": resource.event_bus_name, "arn": resource.event_bus_arn}
        elif isinstance(resource, sns.Topic):
            values = {"name": resource.topic_name, "arn": resource.topic_arn}
        if ref.attribute not in values:
            raise ValueError(f"{ref.resource!r} has no {ref.attribute!r} to reference")
        return values[ref.attribute]

    def grant(self, grant: wiring.Grant, grantee: iam.IGrantable) -> list[Wildcard]:
        """Apply the narrowest grant_* for `grant.access`; return the wildcards that grant implies."""
        access = grant.access
        if grant.resource in _STATE_MACHINE_IDS and access in ("start", "callback"):
            return self._grant_state_machine(grant.resource, access, grantee)
        if grant.resource in _USAGE_PLAN_IDS and access == "manage_keys":
            return self._grant_usage_keys(grantee)
        resource = self.get(grant.resource)
        if isinstance(resource, dynamodb.Table) and access in ("read", "write", "read_write"):
            {
                "read": resource.grant_read_data,
                "write": resource.grant_write_data,
                "read_write": resource.grant_read_write_data,
            }[access](grantee)
            return self._table_index_wildcards(grant.resource, resource)
        if isinstance(resource, s3.Bucket) and access == "read_write":
            # Read and put, never delete: the raw archive stays append-only (grant_read_write would add deletes).
            read = self.grant(wiring.Grant(grant.resource, "read"), grantee)
            put = self.grant(wiring.Grant(grant.resource, "write"), grantee)
            return [*read, *(w for w in put if w not in read)]
        if isinstance(resource, s3.Bucket) and access in ("read", "write"):
            arn = f"<{_logical_id(resource)}.Arn>"
            objects = Wildcard(
                f"Resource::{arn}/*",
                f"Objects of bucket {grant.resource!r} are keyed by channel and delivery id, so access is "
                "granted on the bucket's object prefix (arn/*), not on individual keys.",
            )
            if access == "read":
                resource.grant_read(grantee)
                actions = [
                    Wildcard(
                        f"Action::{action}",
                        f"{action} is CDK's grant_read action group for bucket {grant.resource!r}: "
                        "read-only object and bucket-metadata calls, nothing that writes or deletes.",
                    )
                    for action in ("s3:GetBucket*", "s3:GetObject*", "s3:List*")
                ]
                return [objects, *actions]
            # "write" is put-only: the raw archive is append-only, so no delete (grant_write would add it).
            resource.grant_put(grantee)
            return [
                objects,
                Wildcard(
                    "Action::s3:Abort*",
                    f"s3:Abort* (AbortMultipartUpload) lets the writer of bucket {grant.resource!r} "
                    "clean up its own failed multipart uploads; it cannot read or delete objects.",
                ),
            ]
        if isinstance(resource, sqs.Queue) and access in ("send", "consume"):
            if access == "send":
                resource.grant_send_messages(grantee)
            else:
                resource.grant_consume_messages(grantee)
            return []
        if isinstance(resource, sqs.Queue) and access == "redrive":
            # A dead-letter queue: StartMessageMoveTask needs receive, delete and attributes on the source (the
            # consume grant) beside the move-task actions; the destination's SendMessage is its own `send` grant.
            resource.grant_consume_messages(grantee)
            resource.grant(grantee, "sqs:StartMessageMoveTask", "sqs:ListMessageMoveTasks",
                           "sqs:CancelMessageMoveTask")
            return []
        if isinstance(resource, QueueNames) and access == "send":
            # Only SendMessage: the WMS owns its queue; OCP neither reads it nor needs its attributes.
            iam.Grant.add_to_principal(grantee=grantee, actions=["sqs:SendMessage"], resource_arns=[resource.arn])
            return [
                Wildcard(
                    f"Resource::arn:<AWS::Partition>:sqs:<AWS::Region>:<AWS::AccountId>:{resource.prefix}*",
                    f"WMS queues are registered at runtime (PUT /warehouses), so their names are not known at "
                    f"deploy time: only sqs:SendMessage, only on queues named {resource.prefix}* in this account "
                    "and region; the warehouses API refuses a queue URL with any other name.",
                )
            ]
        if isinstance(resource, secretsmanager.Secret) and access == "read":
            resource.grant_read(grantee)
            return []
        if isinstance(resource, events.EventBus) and access == "publish":
            resource.grant_put_events_to(grantee)
            return []
        if isinstance(resource, sns.Topic) and access == "publish":
            resource.grant_publish(grantee)
            return []
        raise ValueError(f"grant {access!r} is not supported on {grant.resource!r} ({type(resource).__name__})")

    @staticmethod
    def _grant_state_machine(resource_id: str, access: str, grantee: iam.IGrantable) -> list[Wildcard]:
        """The statements CDK's grant_start_execution, grant_execution and grant_task_response write, on the
        name-based ARNs (see state_machine_arn), so a grant adds no dependency on the machine either."""
        machine = state_machine_arn(resource_id)
        if access == "callback":
            # Step Functions authorises SendTask* on the machine whose execution issued the token.
            iam.Grant.add_to_principal(
                grantee=grantee,
                actions=["states:SendTaskSuccess", "states:SendTaskFailure", "states:SendTaskHeartbeat"],
                resource_arns=[machine],
            )
            return []
        iam.Grant.add_to_principal(grantee=grantee, actions=["states:StartExecution"], resource_arns=[machine])
        iam.Grant.add_to_principal(
            grantee=grantee, actions=["states:DescribeExecution"], resource_arns=[_executions_arn(resource_id)]
        )
        return [
            Wildcard(
                _executions_finding(resource_id),
                f"Executions of state machine {resource_id!r} are named when they start, so DescribeExecution is "
                "granted on that one machine's executions (execution:<machine name>:*) and on nothing else.",
            )
        ]

    @staticmethod
    def _grant_usage_keys(grantee: iam.IGrantable) -> list[Wildcard]:
        """API keys are created per principal at runtime and a plan's id cannot be referenced (see usage_plan_name):
        the management API's key and plan-key paths, in this region only. The same for every plan, so granting it
        for several plans adds one statement."""
        iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["apigateway:GET", "apigateway:POST", "apigateway:DELETE"],
            resource_arns=[_apigateway_arn(path) for path in USAGE_KEY_PATHS],
        )
        return [
            Wildcard(
                f"Resource::arn:<AWS::Partition>:apigateway:<AWS::Region>::{path}",
                "Each principal's API Gateway API key (its throttle bucket, not its secret) is created and deleted "
                "at runtime by principals_api, so key ids are unknown at deploy time, and the plans' ids cannot be "
                "referenced from the function that is itself an integration of the API (a dependency cycle): "
                "API keys and plan keys only, in this region.",
            )
            for path in USAGE_KEY_PATHS
            if "*" in path
        ]

    @staticmethod
    def _table_index_wildcards(resource_id: str, table: dynamodb.Table) -> list[Wildcard]:
        indexes = next(t.indexes for t in wiring.TABLES if t.id == resource_id)
        if not indexes:
            return []
        names = ", ".join(index.name for index in indexes)
        return [
            Wildcard(
                f"Resource::<{_logical_id(table)}.Arn>/index/*",
                f"Access to table {resource_id!r} includes its GSIs ({names}), all declared in wiring; "
                "CDK's table grants cover them as table-arn/index/*.",
            )
        ]


def _logical_id(resource: dynamodb.Table | s3.Bucket) -> str:
    cfn = cast(CfnElement, resource.node.default_child)
    return Stack.of(resource).get_logical_id(cfn)
