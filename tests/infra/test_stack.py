"""The synthesized OcpStack agrees with infra/wiring.py, passes cdk-nag and cfn-lint, and ships staged assets.

One synth per module (about 10 s): the `synth` fixture stages the real functions/ and shared/ocp into a
temporary build dir, synthesizes with cdk.json's feature flags and cdk-nag's AwsSolutions pack, and every
test reads from that one cloud assembly.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, cast

import pytest
from aws_cdk import App, Aspects, CfnElement, CfnResource, Stack
from aws_cdk.assertions import Annotations, Match, Template
from cdk_nag import AwsSolutionsChecks
from cfnlint.api import ManualArgs, lint

from infra import wiring
from infra.app import build, cdk_json_context
from infra.build import LAYER_DISTRIBUTIONS, REPO_ROOT, StagedAssets, handler_package, stage
from infra.constructs.layers import POWERTOOLS_ACCOUNT, POWERTOOLS_LAYER_NAME
from infra.stack import OcpStack
from ocp.domain.fulfillment.wms import WMS_QUEUE_PREFIX

pytestmark = pytest.mark.infra

STAGE = "test"
# With this cdk.json flag on, any cdk-nag error fails the synth itself (so `cdk synth` is a gate). Here it is
# off, so that a finding fails the nag test below with its message instead of erroring every test.
ANNOTATIONS_FAIL_SYNTH = "@aws-cdk/core:annotationsInValidationReport"
NAG_RULES = re.compile(r"AwsSolutions-.*")
# The rules this stack acknowledges on purpose. A new one must be added here, deliberately, with its reason.
ACKNOWLEDGED_RULES = {
    "AwsSolutions-IAM4",
    "AwsSolutions-IAM5",
    "AwsSolutions-L1",
    "AwsSolutions-SMG4",
    "AwsSolutions-APIG3",
    "AwsSolutions-APIG4",
    "AwsSolutions-COG4",
}


@dataclass(frozen=True)
class Synth:
    stack: OcpStack
    template: Template
    resources: dict[str, Any]
    outdir: Path
    staged: StagedAssets

    def logical_id(self, resource_id: str) -> str:
        """The CloudFormation logical id of the resource wiring calls `resource_id`."""
        element = cast(CfnElement, self.stack.registry.get(resource_id).node.default_child)
        return self.stack.get_logical_id(element)

    def function_logical_id(self, function_id: str) -> str:
        element = cast(CfnElement, self.stack.functions.by_id[function_id].function.node.default_child)
        return self.stack.get_logical_id(element)

    def construct_paths(self) -> dict[str, str]:
        """Logical id → construct path (the Resource ID cdk-nag's report uses)."""
        return {
            self.stack.get_logical_id(node): node.node.path
            for node in self.stack.node.find_all()
            if isinstance(node, CfnResource)
        }

    def of_type(self, cfn_type: str) -> dict[str, Any]:
        return {lid: r for lid, r in self.resources.items() if r["Type"] == cfn_type}


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synth]:
    root = tmp_path_factory.mktemp("synth")
    staged = stage(build_dir=root / "build")
    context = {**cdk_json_context(), "stage": STAGE, ANNOTATIONS_FAIL_SYNTH: False}
    app = App(outdir=str(root / "cdk.out"), context=context)
    stack = build(app, build_dir=staged.root)
    Aspects.of(app).add(AwsSolutionsChecks())
    template = Template.from_stack(stack)
    yield Synth(stack, template, template.to_json()["Resources"], root / "cdk.out", staged)


def _refs(value: Any) -> set[str]:
    """Logical ids a CloudFormation value points at through Ref or Fn::GetAtt (pseudo parameters aside)."""
    found: set[str] = set()
    if isinstance(value, dict):
        if "Ref" in value and isinstance(value["Ref"], str) and not value["Ref"].startswith("AWS::"):
            found.add(value["Ref"])
        if "Fn::GetAtt" in value:
            found.add(value["Fn::GetAtt"][0])
        for item in value.values():
            found |= _refs(item)
    elif isinstance(value, list):
        for item in value:
            found |= _refs(item)
    return found


# ---- functions ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("spec", wiring.FUNCTIONS, ids=lambda f: f.id)
def test_each_wiring_function_is_one_lambda_with_the_house_settings(synth: Synth, spec: wiring.Function) -> None:
    # Given the function as wiring declares it
    # When it is looked up in the template by its handler path
    matches = synth.template.find_resources("AWS::Lambda::Function", {"Properties": {"Handler": spec.handler}})

    # Then exactly one function carries it, with the factory's constants and wiring's sizing
    assert len(matches) == 1, f"{spec.handler} should be deployed exactly once"
    props = next(iter(matches.values()))["Properties"]
    assert props["Runtime"] == "python3.12"
    assert props["Architectures"] == ["arm64"]
    assert props["TracingConfig"] == {"Mode": "Active"}
    assert props["LoggingConfig"]["LogFormat"] == "JSON"
    assert props["MemorySize"] == spec.memory_mb
    assert props["Timeout"] == spec.timeout_s
    assert props["Description"] == spec.description


def test_the_stack_has_no_function_that_wiring_does_not_declare(synth: Synth) -> None:
    # Given the handlers wiring declares
    declared = sorted(spec.handler for spec in wiring.FUNCTIONS)

    # When every Lambda function in the template is listed
    deployed = sorted(r["Properties"]["Handler"] for r in synth.of_type("AWS::Lambda::Function").values())

    # Then they are the same set: no custom-resource or helper function sneaked in
    assert deployed == declared


_EXPECTED_REF = {
    # (CloudFormation type, wiring attribute) → how CloudFormation spells that value
    ("AWS::DynamoDB::Table", "name"): lambda lid: {"Ref": lid},
    ("AWS::DynamoDB::Table", "arn"): lambda lid: {"Fn::GetAtt": [lid, "Arn"]},
    ("AWS::S3::Bucket", "name"): lambda lid: {"Ref": lid},
    ("AWS::S3::Bucket", "arn"): lambda lid: {"Fn::GetAtt": [lid, "Arn"]},
    ("AWS::SQS::Queue", "url"): lambda lid: {"Ref": lid},
    ("AWS::SQS::Queue", "arn"): lambda lid: {"Fn::GetAtt": [lid, "Arn"]},
    ("AWS::SQS::Queue", "name"): lambda lid: {"Fn::GetAtt": [lid, "QueueName"]},
    ("AWS::SecretsManager::Secret", "arn"): lambda lid: {"Ref": lid},
    ("AWS::Events::EventBus", "name"): lambda lid: {"Ref": lid},
    ("AWS::Events::EventBus", "arn"): lambda lid: {"Fn::GetAtt": [lid, "Arn"]},
    ("AWS::SNS::Topic", "arn"): lambda lid: {"Ref": lid},
    ("AWS::SNS::Topic", "name"): lambda lid: {"Fn::GetAtt": [lid, "TopicName"]},
}


@pytest.mark.parametrize("spec", wiring.FUNCTIONS, ids=lambda f: f.id)
def test_function_env_is_wiring_env_with_refs_resolved_to_the_right_resource(
    synth: Synth, spec: wiring.Function
) -> None:
    # Given the function's environment in the template
    variables = synth.resources[synth.function_logical_id(spec.id)]["Properties"]["Environment"]["Variables"]

    # Then it has exactly wiring's variables
    assert set(variables) == set(spec.env)
    for name, value in spec.env.items():
        if isinstance(value, wiring.Ref):
            # and each Ref points at the declared resource, in the declared form (name, url or arn)
            lid = synth.logical_id(value.resource)
            cfn_type = synth.resources[lid]["Type"]
            if cfn_type == "AWS::StepFunctions::StateMachine":
                # a state machine by the ARN its fixed name gives, not by reference (infra.constructs.workflows)
                assert variables[name] == _state_machine_arns(synth, lid)[0], name
                continue
            assert variables[name] == _EXPECTED_REF[(cfn_type, value.attribute)](lid), name
        else:
            assert variables[name] == value, name


@pytest.mark.parametrize("spec", wiring.FUNCTIONS, ids=lambda f: f.id)
def test_function_has_the_powertools_layer_for_its_runtime_and_the_ocp_layer(
    synth: Synth, spec: wiring.Function
) -> None:
    # Given the function's layers
    layers = synth.resources[synth.function_logical_id(spec.id)]["Properties"]["Layers"]
    rendered = json.dumps(layers)
    ocp_layers = synth.of_type("AWS::Lambda::LayerVersion")

    # Then one is AWS's public Powertools v3 layer for python3.12/arm64 in the stack's own region
    assert f":{POWERTOOLS_ACCOUNT}:layer:{POWERTOOLS_LAYER_NAME}:" in rendered
    assert POWERTOOLS_LAYER_NAME.endswith("python312-arm64")
    assert '{"Ref": "AWS::Region"}' in rendered
    # and the other is the stack's own ocp layer, built for the same runtime and architecture
    assert len(ocp_layers) == 1
    (ocp_lid, ocp_layer) = next(iter(ocp_layers.items()))
    assert {"Ref": ocp_lid} in layers
    assert ocp_layer["Properties"]["CompatibleRuntimes"] == ["python3.12"]
    assert ocp_layer["Properties"]["CompatibleArchitectures"] == ["arm64"]


_WRITE_ACTIONS = {
    "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem",
    "s3:PutObject", "s3:DeleteObject*", "s3:DeleteObject", "sqs:SendMessage", "sqs:DeleteMessage",
}  # fmt: skip
_READ_ACTIONS = {
    "dynamodb:GetItem", "dynamodb:Query", "dynamodb:Scan", "dynamodb:BatchGetItem",
    "s3:GetObject*", "s3:GetObject", "s3:List*", "sqs:ReceiveMessage", "secretsmanager:GetSecretValue",
}  # fmt: skip


def _queue_prefix_arn(prefix: str) -> dict[str, Any]:
    """`arn:<partition>:sqs:<region>:<account>:<prefix>*` as the template writes it: the stack's account and region."""
    return {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":sqs:", {"Ref": "AWS::Region"}, ":",
                              {"Ref": "AWS::AccountId"}, f":{prefix}*"]]}


def _state_machine_arns(synth: Synth, lid: str) -> tuple[Any, Any]:
    """A state machine's ARN and its executions' (`execution:<name>:*`), built from its StateMachineName."""
    name = synth.resources[lid]["Properties"]["StateMachineName"]["Fn::Join"][1]
    prefix = ["arn:", {"Ref": "AWS::Partition"}, ":states:", {"Ref": "AWS::Region"}, ":", {"Ref": "AWS::AccountId"}]
    return ({"Fn::Join": ["", [*prefix, ":stateMachine:", *name]]},
            {"Fn::Join": ["", [*prefix, ":execution:", *name[:-1], f"{name[-1]}:*"]]})


def _actions(statement: dict[str, Any]) -> set[str]:
    return {statement["Action"]} if isinstance(statement["Action"], str) else set(statement["Action"])


def _resources(statement: dict[str, Any]) -> list[Any]:
    """A statement's resources (CDK merges statements with the same actions into one with a list)."""
    resource = statement["Resource"]
    return resource if isinstance(resource, list) else [resource]


def _role_statements(synth: Synth, function_id: str) -> list[dict[str, Any]]:
    role = synth.resources[synth.function_logical_id(function_id)]["Properties"]["Role"]["Fn::GetAtt"][0]
    statements: list[dict[str, Any]] = []
    for policy in synth.of_type("AWS::IAM::Policy").values():
        if {"Ref": role} in policy["Properties"]["Roles"]:
            statements += policy["Properties"]["PolicyDocument"]["Statement"]
    return statements


@pytest.mark.parametrize("spec", wiring.FUNCTIONS, ids=lambda f: f.id)
def test_function_role_reaches_only_what_wiring_grants_at_the_granted_level(
    synth: Synth, spec: wiring.Function
) -> None:
    # Given the function's own role, its log group and the resources wiring grants it
    function = synth.stack.functions.by_id[spec.id]
    role = synth.stack.get_logical_id(cast(CfnElement, function.role.node.default_child))
    log_group = synth.stack.get_logical_id(cast(CfnElement, function.log_group.node.default_child))
    prefixes = {p.id: _queue_prefix_arn(p.prefix) for p in wiring.QUEUE_PREFIXES}
    granted = {synth.logical_id(g.resource): g for g in spec.grants if g.resource not in prefixes}
    prefix_arns = [prefixes[g.resource] for g in spec.grants if g.resource in prefixes]
    forbidden = {"read": _WRITE_ACTIONS, "consume": _WRITE_ACTIONS - {"sqs:DeleteMessage"},
                 "redrive": _WRITE_ACTIONS - {"sqs:DeleteMessage"},
                 "write": _READ_ACTIONS, "send": _READ_ACTIONS, "read_write": set(),
                 "publish": _READ_ACTIONS | _WRITE_ACTIONS}  # fmt: skip
    # State machines are granted by name (infra.constructs.workflows): statement resource → the actions allowed there
    machine_actions: dict[str, set[str]] = {}
    for g in spec.grants:
        if g.access in ("start", "callback"):
            machine, executions = _state_machine_arns(synth, synth.logical_id(g.resource))
            on_machine = {"states:StartExecution"} if g.access == "start" else {
                "states:SendTaskSuccess", "states:SendTaskFailure", "states:SendTaskHeartbeat"}
            machine_actions.setdefault(json.dumps(machine, sort_keys=True), set()).update(on_machine)
            if g.access == "start":
                on_executions = machine_actions.setdefault(json.dumps(executions, sort_keys=True), set())
                on_executions.add("states:DescribeExecution")

    # When its policies are read, statement by statement
    statements = _role_statements(synth, spec.id)

    # Then the role has no managed policy, and every statement is one the grants explain
    assert "ManagedPolicyArns" not in synth.resources[role]["Properties"]
    assert statements
    for statement in statements:
        assert statement["Effect"] == "Allow"
        actions = {statement["Action"]} if isinstance(statement["Action"], str) else set(statement["Action"])
        assert not {a for a in actions if a.startswith("s3:Delete")}, "the raw archive is append-only"
        if statement["Resource"] == "*":
            # the unscoped statements are X-Ray's and a stream consumer's ListStreams, which IAM cannot scope
            unscoped = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}
            if any(t.function == spec.id for t in wiring.STREAM_TRIGGERS):
                unscoped.add("dynamodb:ListStreams")
            assert actions <= unscoped
            continue
        if statement["Resource"] in prefix_arns:
            # queues others create, by name prefix in this account and region: sending only
            assert actions == {"sqs:SendMessage"}
            continue
        if json.dumps(statement["Resource"], sort_keys=True) in machine_actions:
            assert actions <= machine_actions[json.dumps(statement["Resource"], sort_keys=True)], statement
            continue
        targets = _refs(statement["Resource"])
        assert targets, statement
        for lid in targets:
            if lid == log_group:
                assert actions <= {"logs:CreateLogStream", "logs:PutLogEvents"}
                continue
            assert lid in granted, f"{spec.id} reaches {lid}, which wiring does not grant it"
            grant = granted[lid]
            assert not actions & forbidden[grant.access], (
                f"{spec.id}: {grant} but may {actions & forbidden[grant.access]}"
            )


def test_only_the_instruction_senders_may_send_to_registered_wms_queues_and_only_by_name_prefix(synth: Synth) -> None:
    # Given the queue-name prefix a WMS queue registered at runtime must carry
    prefix_arn = _queue_prefix_arn(wiring.WMS_QUEUE_PREFIX)
    for spec in wiring.FUNCTIONS:
        # When the function's statements are read
        statements = _role_statements(synth, spec.id)
        on_prefix = [s for s in statements if prefix_arn in _resources(s)]
        if spec.id in ("dispatcher", "reconciliation"):
            # Then the senders of warehouse instructions may SendMessage there and do nothing else there
            assert [_actions(s) for s in on_prefix] == [{"sqs:SendMessage"}], spec.id
        else:
            assert on_prefix == [], spec.id
        # and no function may send to every queue
        assert not [s for s in statements if s["Resource"] == "*" and any(a.startswith("sqs:") for a in _actions(s))]
    # and the prefix is the one the warehouses API enforces
    assert wiring.WMS_QUEUE_PREFIX == WMS_QUEUE_PREFIX


def test_the_wms_signing_secret_is_readable_by_the_instruction_senders_only(synth: Synth) -> None:
    # Given the WMS secret's ARN / When each function's statements are read
    secret = {"Ref": synth.logical_id(wiring.WMS_SECRETS.id)}
    readers = {spec.id for spec in wiring.FUNCTIONS
               if any(secret in _resources(s) for s in _role_statements(synth, spec.id))}
    # Then exactly the functions that sign HTTP instructions may read it
    assert readers == {"dispatcher", "reconciliation"}


# ---- storage ------------------------------------------------------------------------------------------


def test_there_is_one_table_per_wiring_table(synth: Synth) -> None:
    # Given / When
    tables = synth.of_type("AWS::DynamoDB::Table")

    # Then
    assert sorted(tables) == sorted(synth.logical_id(t.id) for t in wiring.TABLES)


@pytest.mark.parametrize("spec", wiring.TABLES, ids=lambda t: t.id)
def test_table_keys_indexes_billing_recovery_and_encryption_follow_wiring(synth: Synth, spec: wiring.Table) -> None:
    # Given the declared keys and indexes
    def schema(partition: str, sort: str | None) -> list[dict[str, str]]:
        keys = [{"AttributeName": partition, "KeyType": "HASH"}]
        return keys + ([{"AttributeName": sort, "KeyType": "RANGE"}] if sort else [])

    attributes = {spec.partition_key, spec.sort_key} | {
        key for index in spec.indexes for key in (index.partition_key, index.sort_key)
    }

    # When the table is read from the template
    props = synth.resources[synth.logical_id(spec.id)]["Properties"]

    # Then keys, GSIs (ALL projection), string attributes, on-demand, PITR and encryption are as declared
    assert props["KeySchema"] == schema(spec.partition_key, spec.sort_key)
    assert sorted(props["AttributeDefinitions"], key=lambda a: a["AttributeName"]) == [
        {"AttributeName": name, "AttributeType": "S"} for name in sorted(a for a in attributes if a)
    ]
    assert props.get("GlobalSecondaryIndexes", []) == [
        {
            "IndexName": index.name,
            "KeySchema": schema(index.partition_key, index.sort_key),
            "Projection": {"ProjectionType": "ALL"},
        }
        for index in spec.indexes
    ]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["SSESpecification"] == {"SSEEnabled": True}
    assert synth.resources[synth.logical_id(spec.id)]["DeletionPolicy"] == "Retain"
    # and TTL exactly where declared (the duplicate check's keys)
    expected_ttl = {"AttributeName": spec.ttl_attribute, "Enabled": True} if spec.ttl_attribute else None
    assert props.get("TimeToLiveSpecification") == expected_ttl


@pytest.mark.parametrize("spec", wiring.BUCKETS, ids=lambda b: b.id)
def test_archive_bucket_is_private_encrypted_versioned_logged_and_tls_only(synth: Synth, spec: wiring.Bucket) -> None:
    # Given the bucket wiring declares
    lid = synth.logical_id(spec.id)

    # When its properties and policy are read
    props = synth.resources[lid]["Properties"]
    policies = [
        p["Properties"]["PolicyDocument"]["Statement"]
        for p in synth.of_type("AWS::S3::BucketPolicy").values()
        if p["Properties"]["Bucket"] == {"Ref": lid}
    ]

    # Then it blocks public access, encrypts, versions, logs access and denies non-TLS requests
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert props["VersioningConfiguration"] == {"Status": "Enabled"}
    assert _refs(props["LoggingConfiguration"]["DestinationBucketName"]) - {lid}
    assert len(policies) == 1
    assert any(
        s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in policies[0]
    )


# ---- queues -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("spec", wiring.QUEUES, ids=lambda q: q.id)
def test_queue_redrives_to_its_own_dlq_after_wirings_receive_count(synth: Synth, spec: wiring.Queue) -> None:
    # Given the queue and its DLQ
    queue = synth.resources[synth.logical_id(spec.id)]["Properties"]
    dlq_lid = synth.logical_id(spec.dlq_id)

    # Then the queue hands poison messages to the DLQ after max_receive_count deliveries
    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": [dlq_lid, "Arn"]},
        "maxReceiveCount": spec.max_receive_count,
    }
    assert queue["VisibilityTimeout"] == spec.visibility_timeout_s
    # and both are encrypted and refuse non-TLS access
    for lid in (synth.logical_id(spec.id), dlq_lid):
        assert synth.resources[lid]["Properties"]["SqsManagedSseEnabled"] is True
        synth.template.has_resource_properties(
            "AWS::SQS::QueuePolicy",
            {
                "Queues": [{"Ref": lid}],
                "PolicyDocument": {
                    "Statement": Match.array_with(
                        [Match.object_like({"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}})]
                    )
                },
            },
        )


@pytest.mark.parametrize("spec", wiring.QUEUES, ids=lambda q: q.id)
def test_queue_visibility_timeout_covers_its_consumers_timeout(synth: Synth, spec: wiring.Queue) -> None:
    # Given the functions that consume this queue
    consumers = [wiring.function(t.function) for t in wiring.QUEUE_TRIGGERS if t.queue == spec.id]

    # Then a message stays hidden at least as long as a consumer may work on it (CloudFormation rejects less)
    for consumer in consumers:
        assert spec.visibility_timeout_s >= consumer.timeout_s, consumer.id


@pytest.mark.parametrize("spec", wiring.QUEUES, ids=lambda q: q.id)
def test_dlq_depth_alarm_notifies_on_the_first_dead_letter(synth: Synth, spec: wiring.Queue) -> None:
    # Given the DLQ
    dlq_lid = synth.logical_id(spec.dlq_id)

    # When alarms on its visible-message count are looked up
    alarms = [
        a["Properties"]
        for a in synth.of_type("AWS::CloudWatch::Alarm").values()
        if a["Properties"].get("MetricName") == "ApproximateNumberOfMessagesVisible"
        and a["Properties"]["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": [dlq_lid, "QueueName"]}}]
    ]

    # Then one alarm fires at one message and notifies the alarm topic
    assert len(alarms) == 1
    alarm = alarms[0]
    assert alarm["Namespace"] == "AWS/SQS"
    assert alarm["Threshold"] == 1
    assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert alarm["TreatMissingData"] == "notBreaching"
    topics = set(synth.of_type("AWS::SNS::Topic"))
    assert _refs(alarm["AlarmActions"]) & topics


def test_every_function_has_an_error_alarm(synth: Synth) -> None:
    # Given the Errors alarms in the template
    alarmed = {
        next(iter(_refs(a["Properties"]["Dimensions"])))
        for a in synth.of_type("AWS::CloudWatch::Alarm").values()
        if a["Properties"].get("MetricName") == "Errors" and a["Properties"].get("Namespace") == "AWS/Lambda"
    }

    # Then every wiring function is covered
    assert alarmed == {synth.function_logical_id(spec.id) for spec in wiring.FUNCTIONS}


@pytest.mark.parametrize("trigger", wiring.QUEUE_TRIGGERS, ids=lambda t: f"{t.queue}->{t.function}")
def test_queue_trigger_is_an_event_source_mapping_reporting_batch_item_failures(
    synth: Synth, trigger: wiring.QueueTrigger
) -> None:
    # Given / When / Then: the mapping joins wiring's queue to wiring's function with wiring's batching
    synth.template.has_resource_properties(
        "AWS::Lambda::EventSourceMapping",
        {
            "EventSourceArn": {"Fn::GetAtt": [synth.logical_id(trigger.queue), "Arn"]},
            "FunctionName": {"Ref": synth.function_logical_id(trigger.function)},
            "BatchSize": trigger.batch_size,
            "MaximumBatchingWindowInSeconds": trigger.max_batching_window_s,
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
        },
    )


def test_there_is_one_event_source_mapping_per_queue_trigger(synth: Synth) -> None:
    # Given / When / Then (and one per stream trigger)
    synth.template.resource_count_is("AWS::Lambda::EventSourceMapping",
                                     len(wiring.QUEUE_TRIGGERS) + len(wiring.STREAM_TRIGGERS))


# ---- API ----------------------------------------------------------------------------------------------


def _method_paths(synth: Synth) -> dict[tuple[str, str], dict[str, Any]]:
    """(HTTP method, resource path) → method properties, with paths rebuilt from the resource tree."""
    api_resources = synth.of_type("AWS::ApiGateway::Resource")

    def path_of(resource_id: Any) -> str:
        if isinstance(resource_id, dict) and "Ref" in resource_id:
            node = api_resources[resource_id["Ref"]]["Properties"]
            parent = path_of(node["ParentId"])
            return f"{parent.rstrip('/')}/{node['PathPart']}"
        return "/"  # the RestApi's RootResourceId

    return {
        (m["Properties"]["HttpMethod"], path_of(m["Properties"]["ResourceId"])): m["Properties"]
        for m in synth.of_type("AWS::ApiGateway::Method").values()
    }


def test_api_has_exactly_the_wiring_routes(synth: Synth) -> None:
    # Given / When
    methods = _method_paths(synth)

    # Then every route is a method and no method exists that wiring does not declare
    assert sorted(methods) == sorted((r.method, r.path) for r in wiring.ROUTES)


@pytest.mark.parametrize("route", wiring.ROUTES, ids=lambda r: f"{r.method} {r.path}")
def test_route_is_a_lambda_proxy_to_its_function_with_api_key_as_declared(synth: Synth, route: wiring.Route) -> None:
    # Given the method for the route
    method = _method_paths(synth)[(route.method, route.path)]

    # Then it proxies to the route's function, requires an API key as declared and validates the request
    assert method["Integration"]["Type"] == "AWS_PROXY"
    assert method["Integration"]["IntegrationHttpMethod"] == "POST"
    assert synth.function_logical_id(route.function) in _refs(method["Integration"]["Uri"])
    assert method["ApiKeyRequired"] is route.api_key_required
    assert _refs(method["RequestValidatorId"]) <= set(synth.of_type("AWS::ApiGateway::RequestValidator"))
    for name in re.findall(r"\{(\w+)\}", route.path):
        assert method["RequestParameters"][f"method.request.path.{name}"] is True


def test_api_stage_is_named_by_context_traced_logged_and_keyed(synth: Synth) -> None:
    # Given / When
    stages = list(synth.of_type("AWS::ApiGateway::Stage").values())

    # Then the one stage takes its name from the `stage` context, traces, access-logs, logs without bodies
    assert len(stages) == 1
    props = stages[0]["Properties"]
    assert props["StageName"] == STAGE
    assert props["TracingEnabled"] is True
    assert _refs(props["AccessLogSetting"]["DestinationArn"]) <= set(synth.of_type("AWS::Logs::LogGroup"))
    assert props["MethodSettings"][0]["LoggingLevel"] == "INFO"
    assert props["MethodSettings"][0]["DataTraceEnabled"] is False
    # and API keys work: a key bound to a usage plan on this stage
    synth.template.resource_count_is("AWS::ApiGateway::ApiKey", 1)
    synth.template.has_resource_properties(
        "AWS::ApiGateway::UsagePlan",
        {"ApiStages": [Match.object_like({"Stage": {"Ref": next(iter(synth.of_type("AWS::ApiGateway::Stage")))}})]},
    )
    synth.template.resource_count_is("AWS::ApiGateway::UsagePlanKey", 1)


# ---- cdk-nag and cfn-lint -----------------------------------------------------------------------------


def test_cdk_nag_aws_solutions_finds_nothing_unacknowledged(synth: Synth) -> None:
    # Given the stack synthesized with the AwsSolutions pack applied to the app
    annotations = Annotations.from_stack(synth.stack)

    # When its findings are collected
    errors = annotations.find_error("*", Match.string_like_regexp(NAG_RULES.pattern))
    warnings = annotations.find_warning("*", Match.string_like_regexp(NAG_RULES.pattern))

    # Then nothing is left that is neither fixed nor acknowledged with a reason
    assert [f"{e.id}: {e.entry.data}" for e in errors] == []
    assert [f"{w.id}: {w.entry.data}" for w in warnings] == []


def test_cdk_synth_fails_on_any_unacknowledged_finding() -> None:
    # Given / When / Then: cdk.json turns error annotations (cdk-nag's findings) into synth failures
    assert cdk_json_context()[ANNOTATIONS_FAIL_SYNTH] is True


def _suppressions(synth: Synth) -> list[tuple[str, dict[str, Any]]]:
    return [
        (lid, rule)
        for lid, resource in synth.resources.items()
        for rule in resource.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", [])
    ]


def test_every_suppression_is_specific_and_gives_a_real_reason(synth: Synth) -> None:
    # Given every cdk-nag suppression in the template
    suppressions = _suppressions(synth)

    # Then there are some, none is stack-wide, each names an expected rule, and each reason says something
    assert suppressions
    assert "cdk_nag" not in synth.template.to_json().get("Metadata", {})
    for lid, rule in suppressions:
        reason = " ".join(rule["reason"].split())
        assert rule["id"] in ACKNOWLEDGED_RULES, f"{lid}: unexpected suppression of {rule['id']}"
        assert len(reason) >= 40, f"{lid} {rule['id']}: reason too short: {reason!r}"
        assert len(set(reason.lower().split())) >= 8, f"{lid} {rule['id']}: reason is boilerplate"
        assert not re.fullmatch(r"(?i)(todo|n/?a|ok|fine|suppressed?|ignore[d]?|false positive)\W*", reason)
        if rule["id"] in ("AwsSolutions-IAM5", "AwsSolutions-IAM4"):
            # wildcard and managed-policy findings are acknowledged one by one, never wholesale
            assert rule.get("applies_to"), f"{lid}: {rule['id']} suppressed without applies_to"


def test_every_suppression_is_used(synth: Synth) -> None:
    # Given the NagReport cdk-nag wrote into the cloud assembly
    (report,) = synth.outdir.glob(f"AwsSolutions-*{synth.stack.artifact_id}-NagReport.csv")
    with report.open(newline="") as handle:
        suppressed = {(row["Rule ID"], row["Resource ID"], row["Exception Reason"]) for row in csv.DictReader(handle)
                      if row["Compliance"] == "Suppressed"}  # fmt: skip
    suppressed_rules = {(rule, path) for rule, path, _ in suppressed}
    reasons = {reason for _, _, reason in suppressed}

    # When each suppression in the template is looked for in the report
    paths = synth.construct_paths()
    for lid, rule in _suppressions(synth):
        path = paths[lid]
        # Then it silenced a real finding on that resource (no stale acknowledgements)
        assert (rule["id"], path) in suppressed_rules, f"{path}: {rule['id']} suppressed but never raised"
        for applies_to in rule.get("applies_to", []):
            assert f"[{applies_to}] {rule['reason']}" in reasons, f"{path}: {applies_to} never matched"


def test_cfn_lint_finds_no_errors_in_the_template(synth: Synth) -> None:
    # Given the synthesized template as CloudFormation will receive it
    body = json.dumps(synth.template.to_json())

    # When cfn-lint checks it against two regions' resource specs
    matches = lint(body, config=ManualArgs(regions=["us-east-1", "ap-southeast-1"]))

    # Then there are no errors, and the only warning is CDK's redundant role DependsOn (W3005)
    assert [f"{m.rule.id} {m.message}" for m in matches if m.rule.id.startswith("E")] == []
    assert {m.rule.id for m in matches} <= {"W3005"}


# ---- assets -------------------------------------------------------------------------------------------


def _files(directory: Path) -> set[str]:
    return {str(p.relative_to(directory)) for p in directory.rglob("*") if p.is_file()}


@pytest.mark.parametrize("spec", wiring.FUNCTIONS, ids=lambda f: f.id)
def test_function_asset_holds_its_own_package_only_and_is_what_lambda_ships(
    synth: Synth, spec: wiring.Function
) -> None:
    # Given the staged asset and the asset CDK packaged for the function (by its S3 key's hash)
    package = handler_package(spec)
    staged = synth.staged.functions[spec.id]
    s3_key = synth.resources[synth.function_logical_id(spec.id)]["Properties"]["Code"]["S3Key"]
    shipped = synth.outdir / f"asset.{s3_key.removesuffix('.zip')}"

    for asset in (staged, shipped):
        # Then functions/ holds its __init__.py and this function's package, nothing else
        assert sorted(p.name for p in (asset / "functions").iterdir()) == sorted(["__init__.py", package[-1]])
        assert [p.name for p in asset.iterdir()] == ["functions"]
        # and the package is the source, file for file, without caches
        source = REPO_ROOT.joinpath(*package)
        expected = {f for f in _files(source) if "__pycache__" not in f and not f.endswith(".pyc")}
        assert _files(asset.joinpath(*package)) == expected
        assert (asset.joinpath(*package) / "handler.py").is_file() == (source / "handler.py").is_file()


def test_ocp_layer_asset_is_shared_ocp_under_python(synth: Synth) -> None:
    # Given the staged layer
    layer = synth.staged.layer
    source = REPO_ROOT / "shared" / "ocp"

    # Then it has python/ocp, mirroring shared/ocp without caches or READMEs, beside only the declared dependencies
    assert [p.name for p in layer.iterdir()] == ["python"]
    declared = {Path(str(f)).parts[0] for name in LAYER_DISTRIBUTIONS for f in metadata.distribution(name).files or []}
    assert {p.name for p in (layer / "python").iterdir()} == {"ocp"} | {d for d in declared if d != ".."}
    expected = {f for f in _files(source) if "__pycache__" not in f and not f.endswith((".pyc", "README.md"))}
    assert _files(layer / "python" / "ocp") == expected


def test_stack_tags_name_project_and_stage(synth: Synth) -> None:
    # Given / When
    tags = {t["Key"]: t["Value"] for t in synth.resources[synth.logical_id(wiring.ORDERS.id)]["Properties"]["Tags"]}

    # Then resources carry the project and the stage from context
    assert tags == {"project": "ocp", "stage": STAGE, "managed-by": "cdk"}
    assert Stack.of(synth.stack).tags.tag_values() == tags


# ---- inventory: streams, schedules, buses, topics, routes ---------------------------------------------


@pytest.mark.parametrize("trigger", wiring.STREAM_TRIGGERS, ids=lambda t: f"{t.table}->{t.function}")
def test_stream_trigger_reads_the_tables_stream_in_batches_and_isolates_poison_records(
    synth: Synth, trigger: wiring.StreamTrigger
) -> None:
    # Given the table's stream / Then the mapping joins it to wiring's function, retrying and bisecting
    table = synth.resources[synth.logical_id(trigger.table)]["Properties"]
    assert table["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}
    synth.template.has_resource_properties(
        "AWS::Lambda::EventSourceMapping",
        {
            "EventSourceArn": {"Fn::GetAtt": [synth.logical_id(trigger.table), "StreamArn"]},
            "FunctionName": {"Ref": synth.function_logical_id(trigger.function)},
            "BatchSize": trigger.batch_size,
            "MaximumBatchingWindowInSeconds": trigger.max_batching_window_s,
            "MaximumRetryAttempts": trigger.retry_attempts,
            "BisectBatchOnFunctionError": True,
            "StartingPosition": "LATEST",
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
        },
    )


def test_only_declared_tables_have_streams(synth: Synth) -> None:
    streamed = {lid for lid, r in synth.of_type("AWS::DynamoDB::Table").items()
                if "StreamSpecification" in r["Properties"]}
    assert streamed == {synth.logical_id(t.id) for t in wiring.TABLES if t.stream}


@pytest.mark.parametrize("schedule", wiring.SCHEDULES, ids=lambda s: s.id)
def test_schedule_is_an_eventbridge_rate_rule_invoking_its_function(synth: Synth, schedule: wiring.Schedule) -> None:
    # Given the schedule / When its rule is looked up by its target
    function = synth.function_logical_id(schedule.function)
    rules = [r["Properties"] for r in synth.of_type("AWS::Events::Rule").values()
             if any(function in _refs(t["Arn"]) for t in r["Properties"].get("Targets", []))]
    # Then one rule fires at wiring's rate, and the function lets EventBridge invoke it from that rule only
    unit = "minute" if schedule.rate_minutes == 1 else "minutes"
    assert [r["ScheduleExpression"] for r in rules] == [f"rate({schedule.rate_minutes} {unit})"]
    assert rules[0]["State"] == "ENABLED"
    permissions = [p["Properties"] for p in synth.of_type("AWS::Lambda::Permission").values()
                   if p["Properties"]["Principal"] == "events.amazonaws.com"
                   and function in _refs(p["Properties"]["FunctionName"])]
    assert len(permissions) == 1


def test_buses_and_topics_are_the_declared_ones_and_topics_are_tls_only(synth: Synth) -> None:
    assert sorted(synth.of_type("AWS::Events::EventBus")) == sorted(synth.logical_id(b.id) for b in wiring.EVENT_BUSES)
    topics = {synth.logical_id(t.id) for t in wiring.TOPICS}
    assert topics <= set(synth.of_type("AWS::SNS::Topic"))
    policies = [p["Properties"] for p in synth.of_type("AWS::SNS::TopicPolicy").values()]
    for topic in topics:
        statements = [s for p in policies if {"Ref": topic} in p["Topics"] for s in p["PolicyDocument"]["Statement"]]
        assert any(s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
                   for s in statements)


def test_no_two_routes_name_one_path_level_differently() -> None:
    # API Gateway refuses sibling resources with different variable names ({sku} beside {warehouse}).
    seen: dict[str, str] = {}
    for route in wiring.ROUTES:
        parts = route.path.strip("/").split("/")
        for depth, part in enumerate(parts):
            if part.startswith("{"):
                parent = "/".join(parts[:depth])
                assert seen.setdefault(parent, part) == part, f"{route.path}: {part} beside {seen[parent]}"
