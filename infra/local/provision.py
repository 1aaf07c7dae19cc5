"""Create, in the embedded AWS, every table, bucket, queue, secret, bus, topic and state machine that
`infra/wiring.py` declares.

Nothing is listed here: a resource added to the wiring exists locally on the next start. Each resource
gets the local name `ocp-local-<id>`; `Resources` maps a wiring `Ref` to that name, its URL or its ARN.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import boto3

from infra import wiring
from infra.local import config, stepfunctions

NAME_PREFIX = "ocp-local-"
_DLQ_RETENTION_S = 14 * 24 * 3600


@dataclass(frozen=True)
class LocalResource:
    name: str
    arn: str
    url: str | None = None


@dataclass
class Resources:
    by_id: dict[str, LocalResource] = field(default_factory=dict)

    def add(self, resource_id: str, resource: LocalResource) -> None:
        self.by_id[resource_id] = resource

    def resolve(self, ref: wiring.Ref) -> str:
        resource = self.by_id.get(ref.resource)
        if resource is None:
            raise KeyError(f"Ref to undeclared resource {ref.resource!r}")
        value = {"name": resource.name, "arn": resource.arn, "url": resource.url}[ref.attribute]
        if value is None:
            raise KeyError(f"resource {ref.resource!r} has no {ref.attribute}")
        return value


def local_name(resource_id: str) -> str:
    return f"{NAME_PREFIX}{resource_id}"


def aws_client(service: str, endpoint_url: str | None) -> Any:
    """A client for the embedded AWS (None: the in-process moto mock) that ignores the process environment."""
    return boto3.session.Session().client(
        service,  # type: ignore[call-overload]
        endpoint_url=endpoint_url,
        region_name=config.REGION,
        aws_access_key_id=config.FAKE_AWS_ENV["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=config.FAKE_AWS_ENV["AWS_SECRET_ACCESS_KEY"],
    )


def provision(
    endpoint_url: str | None,
    secret_values: Mapping[str, Any],
    queue_overrides: Mapping[str, wiring.Queue] | None = None,
) -> Resources:
    """Create everything; `queue_overrides` replaces a declared queue by id (tests shorten timeouts)."""
    resources = Resources()
    _create_tables(aws_client("dynamodb", endpoint_url), wiring.TABLES, resources)
    _create_buckets(aws_client("s3", endpoint_url), wiring.BUCKETS, resources)
    queues = [(queue_overrides or {}).get(q.id, q) for q in wiring.QUEUES]
    _create_queues(aws_client("sqs", endpoint_url), queues, resources)
    _create_secrets(aws_client("secretsmanager", endpoint_url), wiring.SECRETS, secret_values, resources)
    _create_buses(aws_client("events", endpoint_url), wiring.EVENT_BUSES, resources)
    _create_topics(aws_client("sns", endpoint_url), wiring.TOPICS, resources)
    _create_state_machines(aws_client("stepfunctions", endpoint_url), wiring.STATE_MACHINES, resources)
    _create_usage_plans(aws_client("apigateway", endpoint_url), wiring.USAGE_PLANS, resources)
    return resources


def stream_id(table_id: str) -> str:
    """The `Resources` id under which a table's DynamoDB stream (its ARN) is recorded."""
    return f"{table_id}#stream"


def table_definition(table: wiring.Table) -> dict[str, Any]:
    """`CreateTable` arguments: on-demand, string keys, every index projecting what its declaration says."""
    keys = [(table.partition_key, table.sort_key), *((i.partition_key, i.sort_key) for i in table.indexes)]
    definition: dict[str, Any] = {
        "TableName": local_name(table.id),
        "BillingMode": "PAY_PER_REQUEST",
        "KeySchema": _key_schema(table.partition_key, table.sort_key),
        "AttributeDefinitions": _key_attributes(keys),
    }
    if table.stream:
        definition["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    if table.indexes:
        definition["GlobalSecondaryIndexes"] = [
            {
                "IndexName": index.name,
                "KeySchema": _key_schema(index.partition_key, index.sort_key),
                "Projection": index.projection_spec(),
            }
            for index in table.indexes
        ]
    return definition


def _key_schema(partition_key: str, sort_key: str | None) -> list[dict[str, str]]:
    schema = [{"AttributeName": partition_key, "KeyType": "HASH"}]
    if sort_key:
        schema.append({"AttributeName": sort_key, "KeyType": "RANGE"})
    return schema


def _key_attributes(keys: Iterable[tuple[str, str | None]]) -> list[dict[str, str]]:
    names = dict.fromkeys(name for pair in keys for name in pair if name)
    return [{"AttributeName": name, "AttributeType": "S"} for name in names]


def _create_tables(client: Any, tables: Iterable[wiring.Table], resources: Resources) -> None:
    for table in tables:
        description = client.create_table(**table_definition(table))["TableDescription"]
        resources.add(table.id, LocalResource(name=description["TableName"], arn=description["TableArn"]))
        if table.stream:
            resources.add(stream_id(table.id), LocalResource(name=table.id, arn=description["LatestStreamArn"]))
        if table.ttl_attribute:
            client.update_time_to_live(TableName=description["TableName"], TimeToLiveSpecification={
                "Enabled": True, "AttributeName": table.ttl_attribute})


def _create_buckets(client: Any, buckets: Iterable[wiring.Bucket], resources: Resources) -> None:
    for bucket in buckets:
        name = local_name(bucket.id)
        client.create_bucket(Bucket=name)  # us-east-1: no LocationConstraint
        resources.add(bucket.id, LocalResource(name=name, arn=f"arn:aws:s3:::{name}"))


def _create_queues(client: Any, queues: Iterable[wiring.Queue], resources: Resources) -> None:
    for queue in queues:
        dlq = _create_queue(client, queue.dlq_id, {"MessageRetentionPeriod": str(_DLQ_RETENTION_S)})
        resources.add(queue.dlq_id, dlq)
        redrive = {"deadLetterTargetArn": dlq.arn, "maxReceiveCount": str(queue.max_receive_count)}
        attributes = {"VisibilityTimeout": str(queue.visibility_timeout_s), "RedrivePolicy": json.dumps(redrive)}
        resources.add(queue.id, _create_queue(client, queue.id, attributes))


def _create_queue(client: Any, queue_id: str, attributes: dict[str, str]) -> LocalResource:
    name = local_name(queue_id)
    url = client.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return LocalResource(name=name, arn=arn, url=url)


def _create_secrets(
    client: Any, secrets: Iterable[wiring.Secret], values: Mapping[str, Any], resources: Resources
) -> None:
    for secret in secrets:
        name = local_name(secret.id)
        value = values.get(secret.id, {})
        arn = client.create_secret(Name=name, SecretString=json.dumps(value))["ARN"]
        resources.add(secret.id, LocalResource(name=name, arn=arn))


def _create_usage_plans(client: Any, plans: Iterable[wiring.UsagePlan], resources: Resources) -> None:
    """The usage plans principals' throttle keys join (nothing throttles locally, but the keys are real)."""
    for plan in plans:
        name = local_name(f"usage-{plan.id}")
        created = client.create_usage_plan(name=name, throttle={"rateLimit": plan.rate_per_s,
                                                                 "burstLimit": plan.burst})
        resources.add(plan.id, LocalResource(name=created["id"], arn=f"arn:aws:apigateway:{config.REGION}::"
                                                                     f"/usageplans/{created['id']}"))


def _create_buses(client: Any, buses: Iterable[wiring.EventBus], resources: Resources) -> None:
    for bus in buses:
        name = local_name(bus.id)
        arn = client.create_event_bus(Name=name)["EventBusArn"]
        resources.add(bus.id, LocalResource(name=name, arn=arn))


def _create_topics(client: Any, topics: Iterable[wiring.Topic], resources: Resources) -> None:
    for topic in topics:
        name = local_name(topic.id)
        arn = client.create_topic(Name=name)["TopicArn"]
        resources.add(topic.id, LocalResource(name=name, arn=arn))


def _create_state_machines(client: Any, machines: Sequence[wiring.StateMachine], resources: Resources) -> None:
    if not machines:
        return
    # Before creating: moto keeps executing and non-executing state machines in separate backends.
    stepfunctions.enable_execution()
    for machine in machines:
        name = local_name(machine.id)
        arn = client.create_state_machine(
            name=name,
            definition=stepfunctions.local_definition(machine),
            roleArn=stepfunctions.local_role_arn(machine),
            type="STANDARD",
        )["stateMachineArn"]
        resources.add(machine.id, LocalResource(name=name, arn=arn))


class EnvConflict(ValueError):
    """Two functions declare different values for one variable; one process cannot honour both."""


def function_env(functions: Iterable[wiring.Function], resources: Resources) -> dict[str, str]:
    """The union of every function's environment with each `Ref` resolved to its local value."""
    merged: dict[str, str] = {}
    owner: dict[str, str] = {}
    for function in functions:
        for name, raw in function.env.items():
            value = resources.resolve(raw) if isinstance(raw, wiring.Ref) else raw
            if name in merged and merged[name] != value:
                raise EnvConflict(
                    f"{name} is {merged[name]!r} for {owner[name]} but {value!r} for {function.id}"
                )
            merged[name], owner[name] = value, function.id
    return merged
