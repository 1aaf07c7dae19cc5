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
from infra.build import LAMBDA_PYTHON, LAYER_DISTRIBUTIONS, REPO_ROOT, StagedAssets, handler_package, stage
from infra.constructs.console import DEPLOYMENT_HANDLER_PREFIX
from infra.constructs.layers import POWERTOOLS_ACCOUNT, POWERTOOLS_LAYER_NAME
from infra.constructs.registry import USAGE_KEY_PATHS
from infra.stack import CONSOLE_ORIGIN_ENV, OcpStack
from ocp.api import cors
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
    "AwsSolutions-CFR1",
    "AwsSolutions-CFR2",
    "AwsSolutions-CFR3",
    "AwsSolutions-CFR4",
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

    # When every Lambda function in the template is listed, but the console's BucketDeployment handler
    deployed = sorted(r["Properties"]["Handler"] for lid, r in synth.of_type("AWS::Lambda::Function").items()
                      if lid not in _console_deployment_handlers(synth))

    # Then they are the same set: no other custom-resource or helper function sneaked in
    assert deployed == declared
    assert len(_console_deployment_handlers(synth)) == 1


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

    # Then it has exactly wiring's variables, and the console's origin where the function serves API routes
    assert set(variables) == set(spec.env) | ({CONSOLE_ORIGIN_ENV} if spec.id in _API_FUNCTIONS else set())
    for name, value in spec.env.items():
        if isinstance(value, wiring.Ref) and value.resource in _USAGE_PLAN_IDS:
            # a usage plan by its fixed name (a reference would be a cycle through the API: infra.constructs.registry)
            assert variables[name] == _usage_plan_name(value.resource), name
            continue
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
    ocp_layers = {lid: layer for lid, layer in synth.of_type("AWS::Lambda::LayerVersion").items()
                  if lid not in _console_deployment_layers(synth)}  # the console upload's AWS CLI layer aside

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


_USAGE_PLAN_IDS = frozenset(plan.id for plan in wiring.USAGE_PLANS)
_KEY_MANAGERS = frozenset(spec.id for spec in wiring.FUNCTIONS
                          if any(g.access == "manage_keys" for g in spec.grants))


def _usage_plan_name(plan_id: str) -> dict[str, Any]:
    """`<stack name>-<kind>` as the template writes it."""
    return {"Fn::Join": ["", [{"Ref": "AWS::StackName"}, f"-{plan_id}"]]}


def _apigateway_path_arn(path: str) -> dict[str, Any]:
    return {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":apigateway:", {"Ref": "AWS::Region"}, f"::{path}"]]}


def _is_usage_key_statement(statement: dict[str, Any]) -> bool:
    expected = [_apigateway_path_arn(path) for path in USAGE_KEY_PATHS]
    return _resources(statement) == expected


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
    granted = {synth.logical_id(g.resource): g for g in spec.grants
               if g.resource not in prefixes and g.access != "manage_keys"}
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
        if spec.id in _KEY_MANAGERS and _is_usage_key_statement(statement):
            # API keys and plan keys by path in this region (principals are created at runtime): nothing else
            assert actions == {"apigateway:GET", "apigateway:POST", "apigateway:DELETE"}, statement
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

    # Then keys, GSIs (declared projections), string attributes, on-demand, PITR and encryption are as declared
    assert props["KeySchema"] == schema(spec.partition_key, spec.sort_key)
    assert sorted(props["AttributeDefinitions"], key=lambda a: a["AttributeName"]) == [
        {"AttributeName": name, "AttributeType": "S"} for name in sorted(a for a in attributes if a)
    ]
    assert props.get("GlobalSecondaryIndexes", []) == [
        {
            "IndexName": index.name,
            "KeySchema": schema(index.partition_key, index.sort_key),
            "Projection": index.projection_spec(),
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
    # Given / When: every method but the console's CORS preflights (mock OPTIONS, see test_cors_preflight_...)
    methods = {key: m for key, m in _method_paths(synth).items() if m["Integration"]["Type"] != "MOCK"}

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

    bytecode = synth.staged.bytecode_by is not None
    tag = f"cpython-{''.join(map(str, LAMBDA_PYTHON))}"
    for asset in (staged, shipped):
        # Then functions/ holds its __init__.py (and its bytecode) and this function's package, nothing else
        assert sorted(p.name for p in (asset / "functions").iterdir()) == sorted(
            ["__init__.py", package[-1], *(["__pycache__"] if bytecode else [])])
        assert [p.name for p in asset.iterdir()] == ["functions"]
        # and the package is the source, file for file, plus the Lambda runtime's bytecode of each module
        source = REPO_ROOT.joinpath(*package)
        sources = {f for f in _files(source) if "__pycache__" not in f and not f.endswith(".pyc")}
        compiled = {str(Path(f).parent / "__pycache__" / f"{Path(f).stem}.{tag}.pyc")
                    for f in sources if f.endswith(".py")} if bytecode else set()
        assert _files(asset.joinpath(*package)) == sources | compiled
        assert (asset.joinpath(*package) / "handler.py").is_file() == (source / "handler.py").is_file()


def test_ocp_layer_asset_is_shared_ocp_under_python(synth: Synth) -> None:
    # Given the staged layer
    layer = synth.staged.layer
    source = REPO_ROOT / "shared" / "ocp"

    # Then it has python/ocp, mirroring shared/ocp without caches or READMEs (plus the Lambda runtime's bytecode of
    # each module), beside only the declared dependencies
    assert [p.name for p in layer.iterdir()] == ["python"]
    declared = {Path(str(f)).parts[0] for name in LAYER_DISTRIBUTIONS for f in metadata.distribution(name).files or []}
    assert {p.name for p in (layer / "python").iterdir()} - {"__pycache__"} == {"ocp"} | {d for d in declared
                                                                                          if d != ".."}
    expected = {f for f in _files(source) if "__pycache__" not in f and not f.endswith((".pyc", "README.md"))}
    tag = f"cpython-{''.join(map(str, LAMBDA_PYTHON))}"
    if synth.staged.bytecode_by is not None:
        expected |= {str(Path(f).parent / "__pycache__" / f"{Path(f).stem}.{tag}.pyc") for f in expected
                     if f.endswith(".py")}
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


# ---- the operator console -----------------------------------------------------------------------------

_API_FUNCTIONS = frozenset(route.function for route in wiring.ROUTES)


def _console_deployment_handlers(synth: Synth) -> set[str]:
    return {synth.stack.get_logical_id(cast(CfnElement, child.node.default_child))
            for child in synth.stack.node.children if child.node.id.startswith(DEPLOYMENT_HANDLER_PREFIX)}


def _console_deployment_layers(synth: Synth) -> set[str]:
    return {synth.stack.get_logical_id(node) for node in synth.stack.console.node.find_all()
            if isinstance(node, CfnResource) and node.cfn_resource_type == "AWS::Lambda::LayerVersion"}


def _console_bucket(synth: Synth) -> str:
    return synth.stack.get_logical_id(cast(CfnElement, synth.stack.console.bucket.node.default_child))


def _distribution(synth: Synth) -> dict[str, Any]:
    (distribution,) = synth.of_type("AWS::CloudFront::Distribution").values()
    config: dict[str, Any] = distribution["Properties"]["DistributionConfig"]
    return config


def test_console_bucket_is_private_encrypted_logged_and_tls_only(synth: Synth) -> None:
    # Given the console's bucket
    bucket = _console_bucket(synth)
    props = synth.resources[bucket]["Properties"]

    # Then no public access of any kind, SSE, server access logs to the stack's log bucket, no ACLs
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True, "BlockPublicPolicy": True, "IgnorePublicAcls": True, "RestrictPublicBuckets": True,
    }
    assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "AES256"}
    assert props["LoggingConfiguration"]["DestinationBucketName"] == {"Ref": synth.stack.get_logical_id(
        cast(CfnElement, synth.stack.storage.access_logs.node.default_child))}
    assert props["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    assert "WebsiteConfiguration" not in props


def test_console_bucket_policy_lets_only_cloudfront_read_and_denies_plain_http(synth: Synth) -> None:
    # Given the console bucket's policy
    (policy,) = [p["Properties"] for p in synth.of_type("AWS::S3::BucketPolicy").values()
                 if p["Properties"]["Bucket"] == {"Ref": _console_bucket(synth)}]
    statements = policy["PolicyDocument"]["Statement"]
    allows = [s for s in statements if s["Effect"] == "Allow"]
    distribution = next(iter(synth.of_type("AWS::CloudFront::Distribution")))

    # Then every Allow is CloudFront's service principal reading objects, for this distribution only (OAC)
    assert allows
    for statement in allows:
        assert statement["Principal"] == {"Service": "cloudfront.amazonaws.com"}
        assert statement["Action"] == "s3:GetObject"
        source = statement["Condition"]["StringEquals"]["AWS:SourceArn"]
        assert distribution in _refs(source)
    assert not any(s.get("Principal") in ("*", {"AWS": "*"}) for s in allows)
    # and any request without TLS is refused
    assert any(s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
               for s in statements)


def test_console_distribution_serves_the_bucket_through_oac_over_https_only(synth: Synth) -> None:
    # Given the console's distribution
    config = _distribution(synth)
    behavior = config["DefaultCacheBehavior"]
    (origin,) = config["Origins"]
    (oac,) = synth.of_type("AWS::CloudFront::OriginAccessControl").values()

    # Then index.html at the root, HTTP redirected to HTTPS, GET/HEAD only, the bucket reached with signed requests
    assert config["DefaultRootObject"] == "index.html"
    assert config["Enabled"] is True
    assert behavior["ViewerProtocolPolicy"] == "redirect-to-https"
    assert behavior["AllowedMethods"] == ["GET", "HEAD"]
    assert _console_bucket(synth) in _refs(origin["DomainName"])
    assert origin["S3OriginConfig"]["OriginAccessIdentity"] == ""
    assert next(iter(_refs(origin["OriginAccessControlId"]))) in synth.of_type("AWS::CloudFront::OriginAccessControl")
    assert oac["Properties"]["OriginAccessControlConfig"]["SigningBehavior"] == "always"
    assert oac["Properties"]["OriginAccessControlConfig"]["OriginAccessControlOriginType"] == "s3"


def test_console_responses_carry_the_security_headers(synth: Synth) -> None:
    # Given the response headers policy on the console's default behaviour
    (lid, policy) = next(iter(synth.of_type("AWS::CloudFront::ResponseHeadersPolicy").items()))
    assert _distribution(synth)["DefaultCacheBehavior"]["ResponseHeadersPolicyId"] == {"Ref": lid}
    headers = policy["Properties"]["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]

    # Then HSTS, no framing, no sniffing, no referrer, and a CSP that keeps scripts to the console's own files
    assert headers["StrictTransportSecurity"]["AccessControlMaxAgeSec"] >= 31_536_000
    assert headers["FrameOptions"]["FrameOption"] == "DENY"
    assert headers["ContentTypeOptions"]["Override"] is True
    assert headers["ReferrerPolicy"]["ReferrerPolicy"] == "no-referrer"
    csp = json.dumps(headers["ContentSecurityPolicy"]["ContentSecurityPolicy"])
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "execute-api" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp


def test_console_is_deployed_with_a_config_naming_the_api_and_invalidated(synth: Synth) -> None:
    # Given the console's BucketDeployment custom resource
    (deployment,) = synth.template.find_resources("Custom::CDKBucketDeployment").values()
    props = deployment["Properties"]
    api = synth.stack.get_logical_id(cast(CfnElement, synth.stack.api.rest_api.node.default_child))

    # Then it copies into the console bucket, prunes old files and invalidates every cached path
    assert props["DestinationBucketName"] == {"Ref": _console_bucket(synth)}
    assert props["Prune"] is True
    assert props["DistributionPaths"] == ["/*"]
    assert next(iter(synth.of_type("AWS::CloudFront::Distribution"))) in _refs(props["DistributionId"])
    # and one of its sources is the generated config.json, whose `api` is the deployed API's URL
    (config_marker,) = [m for m in props["SourceMarkers"] if m]
    assert api in _refs(config_marker)
    assert len(props["SourceObjectKeys"]) == 2


def test_console_url_is_a_stack_output(synth: Synth) -> None:
    outputs = synth.template.to_json()["Outputs"]
    url = json.dumps(outputs["ConsoleUrl"]["Value"])
    distribution = next(iter(synth.of_type("AWS::CloudFront::Distribution")))
    assert "https://" in url and distribution in url and "DomainName" in url


def test_api_functions_know_the_consoles_origin_and_the_distribution_does_not_depend_on_the_api(
    synth: Synth,
) -> None:
    # Given the distribution's logical id and what the console's distribution refers to
    distribution = next(iter(synth.of_type("AWS::CloudFront::Distribution")))
    refers_to = _refs(synth.resources[distribution])
    api = synth.stack.get_logical_id(cast(CfnElement, synth.stack.api.rest_api.node.default_child))

    # Then every function behind a route gets https://<the distribution's domain> as CONSOLE_ORIGIN
    for function_id in _API_FUNCTIONS:
        variables = synth.resources[synth.function_logical_id(function_id)]["Properties"]["Environment"]["Variables"]
        origin = variables[CONSOLE_ORIGIN_ENV]
        assert origin == {"Fn::Join": ["", ["https://", {"Fn::GetAtt": [distribution, "DomainName"]}]]}
    # and no function outside the API has it
    for spec in wiring.FUNCTIONS:
        if spec.id not in _API_FUNCTIONS:
            variables = synth.resources[synth.function_logical_id(spec.id)]["Properties"]["Environment"]["Variables"]
            assert CONSOLE_ORIGIN_ENV not in variables
    # and the distribution refers to nothing of the API (the functions depend on it, not the other way round)
    assert api not in refers_to
    assert not refers_to & {synth.function_logical_id(f) for f in _API_FUNCTIONS}


# ---- access and operations as deployed: authorizer, gateway responses, throttles, alarms, dashboard, queries ----

_GATEWAY_ANSWERS = {
    # API Gateway response type → (status, the contract's code); None keeps API Gateway's status
    "UNAUTHORIZED": ("401", "missing_api_key"),
    "ACCESS_DENIED": ("403", "$context.authorizer.error_code"),
    "INVALID_API_KEY": ("403", "invalid_api_key"),
    "MISSING_AUTHENTICATION_TOKEN": ("404", "route_not_found"),
    "THROTTLED": ("429", "throttled"),
    "QUOTA_EXCEEDED": ("429", "throttled"),
    "REQUEST_TOO_LARGE": ("413", "payload_too_large"),
    "DEFAULT_4XX": (None, "bad_request"),
    "DEFAULT_5XX": (None, "internal"),
}


def _gateway_responses(synth: Synth) -> dict[str, dict[str, Any]]:
    return {r["Properties"]["ResponseType"]: r["Properties"]
            for r in synth.of_type("AWS::ApiGateway::GatewayResponse").values()}


def _body(template: str) -> dict[str, Any]:
    """A gateway response template as the caller receives it (API Gateway substitutes the quoted message)."""
    parsed: dict[str, Any] = json.loads(template.replace("$context.error.messageString", '"what API Gateway says"'))
    return parsed


@pytest.mark.parametrize("response_type", sorted(_GATEWAY_ANSWERS))
def test_gateway_response_answers_the_contracts_error_body_and_status(synth: Synth, response_type: str) -> None:
    # Given API Gateway's own answer of this type
    props = _gateway_responses(synth)[response_type]
    status, code = _GATEWAY_ANSWERS[response_type]

    # Then it has the contract's status, a JSON {"error": {"code", "message"}} body and the console's CORS origin
    assert props.get("StatusCode") == status
    body = _body(props["ResponseTemplates"]["application/json"])
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    assert props["ResponseParameters"]["gatewayresponse.header.Content-Type"] == "'application/json'"
    origin = json.dumps(props["ResponseParameters"]["gatewayresponse.header.Access-Control-Allow-Origin"])
    assert "https://" in origin and next(iter(synth.of_type("AWS::CloudFront::Distribution"))) in origin


def test_gateway_answers_use_the_local_runtimes_codes_for_the_same_refusals(synth: Synth) -> None:
    # Given what the local runtime answers before any handler: an unknown path and a body over 10 MB
    from infra.local.apigw import MAX_BODY_BYTES, HttpRequest, HttpResponse, RouteTable, check_request

    routes = RouteTable(wiring.ROUTES)
    local = {
        "MISSING_AUTHENTICATION_TOKEN": check_request(HttpRequest("GET", "/no-such-route"), routes),
        "REQUEST_TOO_LARGE": check_request(HttpRequest("POST", "/orders:bulk", body=b"x" * (MAX_BODY_BYTES + 1)),
                                           routes),
    }
    answers = _gateway_responses(synth)
    for response_type, response in local.items():
        assert isinstance(response, HttpResponse)
        # Then AWS answers the same status and code
        cloud = answers[response_type]
        assert cloud["StatusCode"] == str(response.status)
        assert _body(cloud["ResponseTemplates"]["application/json"])["error"]["code"] == json.loads(
            response.body)["error"]["code"]


def test_denials_take_their_code_and_message_from_the_authorizers_context(synth: Synth) -> None:
    # Given the ACCESS_DENIED answer (an unknown key and a key without the route's scope are both a deny)
    template = _gateway_responses(synth)["ACCESS_DENIED"]["ResponseTemplates"]["application/json"]

    # Then the code (forbidden / invalid_api_key) is the authorizer's, and the message names the route and the key's
    # principal and scopes, all from variables the authorizer's answer and the request define
    error = json.loads(template)["error"]
    assert error["code"] == "$context.authorizer.error_code"
    for variable in ("$context.httpMethod", "$context.resourcePath", "$context.authorizer.principal",
                     "$context.authorizer.scopes"):
        assert variable in error["message"]
    # and the authorizer's deny of an unknown key defines them (code invalid_api_key, empty principal and scopes)
    from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import (
        APIGatewayAuthorizerRequestEvent,
    )

    from functions.authorizer.handler import policy_for

    event = APIGatewayAuthorizerRequestEvent({
        "type": "REQUEST", "httpMethod": "GET", "resource": "/orders", "path": "/orders", "headers": {},
        "methodArn": "arn:aws:execute-api:ap-southeast-1:123456789012:abcdef1234/test/GET/orders"})
    answer = policy_for(event, None)
    assert answer["context"] == {"principal": "", "scopes": "", "error_code": "invalid_api_key"}
    assert answer["policyDocument"]["Statement"][0]["Effect"] == "Deny"


def _authorizer(synth: Synth) -> tuple[str, dict[str, Any]]:
    ((lid, authorizer),) = synth.of_type("AWS::ApiGateway::Authorizer").items()
    return lid, authorizer["Properties"]


def test_the_authorizer_function_checks_the_x_api_key_and_is_cached_per_key(synth: Synth) -> None:
    # Given the API's one authorizer
    _, props = _authorizer(synth)

    # Then it is a REQUEST authorizer on the x-api-key header, cached AUTHORIZER_CACHE_S, backed by `authorizer`
    assert props["Type"] == "REQUEST"
    assert props["IdentitySource"] == "method.request.header.x-api-key"
    assert props["AuthorizerResultTtlInSeconds"] == wiring.AUTHORIZER_CACHE_S == 60
    assert synth.function_logical_id("authorizer") in _refs(props["AuthorizerUri"])
    # and API Gateway may invoke it
    assert any(p["Properties"]["Principal"] == "apigateway.amazonaws.com"
               and synth.function_logical_id("authorizer") in _refs(p["Properties"]["FunctionName"])
               for p in synth.of_type("AWS::Lambda::Permission").values())
    # and usage plans count the key the authorizer names, not a header the caller sends
    (api,) = synth.of_type("AWS::ApiGateway::RestApi").values()
    assert api["Properties"]["ApiKeySourceType"] == "AUTHORIZER"


@pytest.mark.parametrize("route", wiring.ROUTES, ids=lambda r: f"{r.method} {r.path}")
def test_keyed_routes_pass_the_authorizer_and_public_ones_do_not(synth: Synth, route: wiring.Route) -> None:
    # Given the route's method and the authorizer
    method = _method_paths(synth)[(route.method, route.path)]
    authorizer, _ = _authorizer(synth)

    # Then a route with scopes needs the authorizer and an API key (its usage plan); a public one neither
    if route.scopes:
        assert method["AuthorizationType"] == "CUSTOM"
        assert method["AuthorizerId"] == {"Ref": authorizer}
        assert method["ApiKeyRequired"] is True
    else:
        assert method["AuthorizationType"] == "NONE"
        assert "AuthorizerId" not in method
        assert method["ApiKeyRequired"] is False


@pytest.mark.parametrize("plan", wiring.USAGE_PLANS, ids=lambda p: p.id)
def test_each_kind_of_principal_has_a_usage_plan_with_wirings_throttle_on_the_stage(
    synth: Synth, plan: wiring.UsagePlan
) -> None:
    # Given the plan named for the kind
    (props,) = [p["Properties"] for p in synth.of_type("AWS::ApiGateway::UsagePlan").values()
                if p["Properties"]["UsagePlanName"] == _usage_plan_name(plan.id)]
    stage = next(iter(synth.of_type("AWS::ApiGateway::Stage")))

    # Then its per-key throttle is wiring's and it covers the API's stage
    assert props["Throttle"] == {"RateLimit": plan.rate_per_s, "BurstLimit": plan.burst}
    assert [s["Stage"] for s in props["ApiStages"]] == [{"Ref": stage}]
    # and principals_api finds it by that name
    variables = synth.resources[synth.function_logical_id("principals_api")]["Properties"]["Environment"]["Variables"]
    assert variables[wiring.usage_plan_env(plan.id)] == _usage_plan_name(plan.id)


def test_usage_plans_are_exactly_the_declared_kinds_and_the_old_shared_key_is_gone(synth: Synth) -> None:
    names = [p["Properties"]["UsagePlanName"] for p in synth.of_type("AWS::ApiGateway::UsagePlan").values()]
    assert sorted(json.dumps(n) for n in names) == sorted(json.dumps(_usage_plan_name(p.id))
                                                          for p in wiring.USAGE_PLANS)
    # one API key only: the bootstrap principal's throttle bucket (principals get theirs at runtime)
    assert len(synth.of_type("AWS::ApiGateway::ApiKey")) == 1


def test_the_bootstrap_key_is_generated_and_its_throttle_bucket_is_in_the_declared_plan(synth: Synth) -> None:
    # Given the bootstrap secret, the one API key and the plan keys
    secret = synth.resources[synth.logical_id(wiring.BOOTSTRAP_KEY.id)]["Properties"]
    ((key_lid, key),) = synth.of_type("AWS::ApiGateway::ApiKey").items()
    generated = secret["GenerateSecretString"]

    # Then CloudFormation generates the key (letters and digits) beside the admin principal and its usage key
    assert generated["GenerateStringKey"] == "api_key"
    assert generated["ExcludePunctuation"] is True and generated["PasswordLength"] >= 32
    template = "".join(p if isinstance(p, str) else "<stack>" for p in generated["SecretStringTemplate"]["Fn::Join"][1])
    value = "".join(p if isinstance(p, str) else "<stack>" for p in key["Properties"]["Value"]["Fn::Join"][1])
    assert json.loads(template) == {"principal": "admin", "usage_key": value}
    # and that API key is in the plan wiring names for the bootstrap principal
    (plan_key,) = [k["Properties"] for k in synth.of_type("AWS::ApiGateway::UsagePlanKey").values()
                   if k["Properties"]["KeyId"] == {"Ref": key_lid}]
    plan = synth.resources[plan_key["UsagePlanId"]["Ref"]]["Properties"]
    assert plan["UsagePlanName"] == _usage_plan_name(wiring.BOOTSTRAP_USAGE_PLAN)


def test_stage_and_webhook_throttles_are_wirings_live_stream_sizes(synth: Synth) -> None:
    # Given the stage's method settings
    (stage,) = synth.of_type("AWS::ApiGateway::Stage").values()
    settings = {(s["ResourcePath"], s["HttpMethod"]): s for s in stage["Properties"]["MethodSettings"]}

    # Then every method has the stage ceiling, and the channels' webhook route its own, logged like the rest
    assert settings[("/*", "*")]["ThrottlingRateLimit"] == wiring.STAGE_THROTTLE.rate_per_s
    assert settings[("/*", "*")]["ThrottlingBurstLimit"] == wiring.STAGE_THROTTLE.burst
    webhook = settings[("/~1webhooks~1{channel}", "POST")]
    assert webhook["ThrottlingRateLimit"] == wiring.WEBHOOK_THROTTLE.rate_per_s
    assert webhook["ThrottlingBurstLimit"] == wiring.WEBHOOK_THROTTLE.burst
    assert webhook["LoggingLevel"] == "INFO" and webhook["DataTraceEnabled"] is False
    # and the per-principal plans fit under the stage ceiling
    assert all(plan.rate_per_s <= wiring.STAGE_THROTTLE.rate_per_s for plan in wiring.USAGE_PLANS)


def test_cors_preflight_answers_the_consoles_origin_and_headers(synth: Synth) -> None:
    # Given the preflight (OPTIONS) methods the console's origin adds
    preflights = {path: m for (verb, path), m in _method_paths(synth).items() if verb == "OPTIONS"}
    keyed_paths = {r.path for r in wiring.ROUTES if r.scopes}

    # Then every keyed path has one, answered by API Gateway itself with the console's origin and headers
    assert keyed_paths <= set(preflights)
    for method in preflights.values():
        assert method["Integration"]["Type"] == "MOCK"
        assert method["AuthorizationType"] == "NONE"
        params = method["Integration"]["IntegrationResponses"][0]["ResponseParameters"]
        headers = params["method.response.header.Access-Control-Allow-Headers"].strip("'").split(",")
        assert {"x-api-key", "x-ocp-actor", "If-Match", "content-type"} <= set(headers)
        assert "https://" in json.dumps(params["method.response.header.Access-Control-Allow-Origin"])
        # and the same headers and max age as the functions' own CORS answers (one source: ocp.api.cors)
        assert headers == cors.ALLOWED_HEADERS
        assert params["method.response.header.Access-Control-Max-Age"] == f"'{cors.MAX_AGE_S}'"


def _alarms(synth: Synth) -> list[dict[str, Any]]:
    return [a["Properties"] for a in synth.of_type("AWS::CloudWatch::Alarm").values()]


def _alarm_topic(synth: Synth) -> dict[str, Any]:
    return {"Ref": synth.stack.get_logical_id(cast(CfnElement, synth.stack.monitoring.topic.node.default_child))}


@pytest.mark.parametrize("spec", wiring.QUEUES, ids=lambda q: q.id)
def test_every_queue_alarms_on_the_age_of_its_oldest_message_before_it_dead_letters(
    synth: Synth, spec: wiring.Queue
) -> None:
    from infra.constructs.monitoring import max_message_age_s

    # Given the queue's age alarm
    queue = synth.stack.get_logical_id(cast(CfnElement, synth.stack.queues.queues[spec.id].node.default_child))
    (alarm,) = [a for a in _alarms(synth) if a.get("MetricName") == "ApproximateAgeOfOldestMessage"
                and a["Dimensions"] == [{"Name": "QueueName", "Value": {"Fn::GetAtt": [queue, "QueueName"]}}]]

    # Then it fires on the queue's documented threshold, sustained, to the on-call topic
    assert alarm["Threshold"] == max_message_age_s(spec)
    assert alarm["ComparisonOperator"] == "GreaterThanThreshold"
    assert alarm["Statistic"] == "Maximum" and alarm["EvaluationPeriods"] >= 2
    assert alarm["AlarmActions"] == [_alarm_topic(synth)]
    # and it sees a stalled consumer before the message would reach the DLQ (and the DLQ alarm)
    assert alarm["Threshold"] < spec.visibility_timeout_s * spec.max_receive_count


def test_a_failed_returns_workflow_execution_raises_an_alarm_to_the_on_call_topic(synth: Synth) -> None:
    machine = synth.logical_id(wiring.RETURNS_WORKFLOW.id)
    (alarm,) = [a for a in _alarms(synth) if a.get("MetricName") == "ExecutionsFailed"
                and a["Namespace"] == "AWS/States" and machine in _refs(a["Dimensions"])]
    assert alarm["Threshold"] == 1 and alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert alarm["AlarmActions"] == [_alarm_topic(synth)]


def test_orders_stuck_at_any_hop_and_overdue_refunds_raise_alarms(synth: Synth) -> None:
    from infra.constructs.monitoring import stuck_hops

    # Given the watchdog's per-hop alarms
    by_hop = {d["Value"]: a for a in _alarms(synth) if a.get("MetricName") == "StuckOrders"
              for d in a["Dimensions"] if d["Name"] == "hop"}

    # Then every hop of the built-in SLA, the refund hop included, has one to the on-call topic
    assert set(by_hop) == {*stuck_hops(), "refund_overdue"}
    assert {"processing", "dispatch", "wms_acceptance", "carrier_pickup", "channel_writeback"} <= set(by_hop)
    for alarm in by_hop.values():
        assert {"Name": "service", "Value": "watchdog"} in alarm["Dimensions"]
        assert alarm["Namespace"] == "OCP" and alarm["Threshold"] == 1
        assert alarm["AlarmActions"] == [_alarm_topic(synth)]


def _dashboard(synth: Synth) -> list[dict[str, Any]]:
    """The dashboard's widgets, tokens (region, names) replaced by a placeholder."""
    ((_, dashboard),) = synth.of_type("AWS::CloudWatch::Dashboard").items()
    parts = dashboard["Properties"]["DashboardBody"]["Fn::Join"][1]
    widgets: list[dict[str, Any]] = json.loads("".join(p if isinstance(p, str) else "TOKEN" for p in parts))["widgets"]
    return widgets


def _widget(synth: Synth, title_start: str) -> dict[str, Any]:
    (widget,) = [w for w in _dashboard(synth) if w["properties"].get("title", "").startswith(title_start)]
    return widget


def test_the_dashboard_draws_the_order_funnel_from_the_metrics_the_code_emits(synth: Synth) -> None:
    from ocp.observability import FUNNEL

    # Given the funnel graph
    metrics = _widget(synth, "Order funnel: received")["properties"]["metrics"]

    # Then it has one line per stage, in funnel order, each the emitting service's metric in the OCP namespace
    assert [(m[0], m[1], m[2], m[3], m[4]["label"]) for m in metrics] == [
        ("OCP", name, "service", service, stage) for stage, name, service in FUNNEL
    ]
    # and held orders by reason (every reason the processor emits, found by SEARCH)
    held = json.dumps(_widget(synth, "New orders held, by reason")["properties"]["metrics"])
    assert "SEARCH" in held and "OrdersHeld" in held and "reason" in held


def test_the_dashboard_shows_inventory_signals_and_the_returns_pipeline(synth: Synth) -> None:
    inventory = json.dumps(_widget(synth, "Inventory signals")["properties"]["metrics"])
    assert all(f"Signals_{s}" in inventory for s in ("stock_low", "coupon_suspend", "coupon_resume", "listing_update"))
    returns = json.dumps(_widget(synth, "Returns pipeline")["properties"]["metrics"])
    assert all(name in returns for name in ("ReturnsRequested", "ReturnReceipts", "RefundsSettled", "refund_overdue"))


def test_saved_queries_find_one_order_everywhere_errors_by_function_and_the_slowest_webhooks(synth: Synth) -> None:
    # Given the saved Logs Insights queries, by the end of their names
    queries = {}
    for q in synth.of_type("AWS::Logs::QueryDefinition").values():
        name = q["Properties"]["Name"]["Fn::Join"][1][-1]
        queries[name.rsplit("/", 1)[-1]] = q["Properties"]
    function_logs = {synth.stack.get_logical_id(cast(CfnElement, fn.log_group.node.default_child))
                     for fn in synth.stack.functions.by_id.values()}
    access_logs = synth.stack.get_logical_id(cast(CfnElement, synth.stack.api.access_logs.node.default_child))

    # Then there are the three, over the right log groups
    assert set(queries) == {"one order across every function", "errors by function", "slowest webhooks"}
    one_order = queries["one order across every function"]
    assert _refs(one_order["LogGroupNames"]) == function_logs
    assert 'correlation_id = "ORDER_ID"' in one_order["QueryString"] and "sort @timestamp asc" in one_order[
        "QueryString"]
    errors = queries["errors by function"]
    assert _refs(errors["LogGroupNames"]) == function_logs
    assert '"ERROR"' in errors["QueryString"] and "by service" in errors["QueryString"]
    slowest = queries["slowest webhooks"]
    assert _refs(slowest["LogGroupNames"]) == {access_logs}
    assert '/webhooks/{channel}' in slowest["QueryString"] and "sort latencyMs desc" in slowest["QueryString"]
    # and the access log writes latencyMs as a number, so the sort is numeric
    (stage,) = synth.of_type("AWS::ApiGateway::Stage").values()
    assert '"latencyMs":$context.responseLatency' in stage["Properties"]["AccessLogSetting"]["Format"]


def test_the_dashboard_alarms_and_bootstrap_secret_are_stack_outputs(synth: Synth) -> None:
    outputs = synth.template.to_json()["Outputs"]
    names = " ".join(outputs)
    for wanted in ("DashboardUrl", "AlarmsUrl", "AlarmTopicArn", "BootstrapKeySecretArn", "Url"):
        assert wanted in names, wanted
