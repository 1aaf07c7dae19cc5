"""The synthesized state machines: one per wiring.StateMachine, its ASL file inline, traced, logged, alarmed, and
reachable by the functions wiring grants (by the machine's name, see infra.constructs.workflows).

One synth per module, the same way as test_stack.py (cdk.json's flags, cdk-nag's AwsSolutions pack applied).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from aws_cdk import App, Aspects
from aws_cdk.assertions import Annotations, Match, Template
from cdk_nag import AwsSolutionsChecks

from infra import wiring
from infra.app import build, cdk_json_context
from infra.build import REPO_ROOT, stage
from infra.local import stepfunctions
from tests.infra.test_stack import ANNOTATIONS_FAIL_SYNTH, NAG_RULES, STAGE, Synth

pytestmark = pytest.mark.infra

_TASK_RESPONSE = {"states:SendTaskSuccess", "states:SendTaskFailure", "states:SendTaskHeartbeat"}


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


def _machine(synth: Synth, spec: wiring.StateMachine) -> dict[str, Any]:
    props: dict[str, Any] = synth.resources[synth.logical_id(spec.id)]["Properties"]
    return props


def _arns(synth: Synth, spec: wiring.StateMachine) -> tuple[dict[str, Any], dict[str, Any]]:
    """The machine's ARN and its executions' ARN (`execution:<name>:*`), built from its StateMachineName."""
    name = _machine(synth, spec)["StateMachineName"]["Fn::Join"][1]
    prefix = ["arn:", {"Ref": "AWS::Partition"}, ":states:", {"Ref": "AWS::Region"}, ":", {"Ref": "AWS::AccountId"}]
    machine = {"Fn::Join": ["", [*prefix, ":stateMachine:", *name]]}
    executions = {"Fn::Join": ["", [*prefix, ":execution:", *name[:-1], f"{name[-1]}:*"]]}
    return machine, executions


def _statements(synth: Synth, role_lid: str) -> list[dict[str, Any]]:
    return [
        statement
        for policy in synth.of_type("AWS::IAM::Policy").values()
        if {"Ref": role_lid} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def _function_statements(synth: Synth, function_id: str) -> list[dict[str, Any]]:
    role = synth.resources[synth.function_logical_id(function_id)]["Properties"]["Role"]["Fn::GetAtt"][0]
    return _statements(synth, role)


def _actions(statement: dict[str, Any]) -> set[str]:
    return {statement["Action"]} if isinstance(statement["Action"], str) else set(statement["Action"])


def _allowed(statements: list[dict[str, Any]], resource: Any) -> set[str]:
    return {a for s in statements if s["Effect"] == "Allow" and s["Resource"] == resource for a in _actions(s)}


def test_there_is_one_state_machine_per_wiring_state_machine(synth: Synth) -> None:
    # Given / When
    machines = synth.of_type("AWS::StepFunctions::StateMachine")

    # Then
    assert sorted(machines) == sorted(synth.logical_id(spec.id) for spec in wiring.STATE_MACHINES)


@pytest.mark.parametrize("spec", wiring.STATE_MACHINES, ids=lambda s: s.id)
def test_state_machine_is_standard_traced_and_logs_every_event_without_data(
    synth: Synth, spec: wiring.StateMachine
) -> None:
    # Given / When
    props = _machine(synth, spec)

    # Then it is a Standard machine with X-Ray on, logging ALL events (no payloads) to its own log group
    assert props["StateMachineType"] == "STANDARD"
    assert props["TracingConfiguration"] == {"Enabled": True}
    logging = props["LoggingConfiguration"]
    assert logging["Level"] == "ALL"
    assert logging["IncludeExecutionData"] is False
    (destination,) = logging["Destinations"]
    log_group = destination["CloudWatchLogsLogGroup"]["LogGroupArn"]["Fn::GetAtt"][0]
    assert synth.resources[log_group]["Type"] == "AWS::Logs::LogGroup"
    assert synth.resources[log_group]["Properties"]["RetentionInDays"] > 0
    # and its name is fixed per stack, which is how the functions address it
    assert props["StateMachineName"] == {"Fn::Join": ["", [{"Ref": "AWS::StackName"}, f"-{spec.id}"]]}


@pytest.mark.parametrize("spec", wiring.STATE_MACHINES, ids=lambda s: s.id)
def test_definition_is_the_asl_file_with_its_placeholders_substituted_by_the_task_functions_arns(
    synth: Synth, spec: wiring.StateMachine
) -> None:
    # Given the ASL file and the template's definition
    source = (REPO_ROOT / spec.definition).read_text()
    props = _machine(synth, spec)

    # Then the definition is the file, every state included
    assert props["DefinitionString"] == source
    assert json.loads(props["DefinitionString"])["States"].keys() == json.loads(source)["States"].keys()
    # and each placeholder is substituted by the ARN of the function wiring names for it, and only those
    assert set(re.findall(r"\$\{(\w+)\}", source)) == set(spec.tasks) == set(props["DefinitionSubstitutions"])
    for placeholder, function_id in spec.tasks.items():
        assert props["DefinitionSubstitutions"][placeholder] == {
            "Fn::GetAtt": [synth.function_logical_id(function_id), "Arn"]
        }
    # and the local runtime reads the same placeholders from the same file
    assert stepfunctions.placeholders(spec) == set(spec.tasks)


@pytest.mark.parametrize("spec", wiring.STATE_MACHINES, ids=lambda s: s.id)
def test_state_machine_role_may_invoke_exactly_its_task_functions(synth: Synth, spec: wiring.StateMachine) -> None:
    # Given the machine's role
    role = _machine(synth, spec)["RoleArn"]["Fn::GetAtt"][0]
    trust = synth.resources[role]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    statements = _statements(synth, role)

    # Then only Step Functions assumes it, without managed policies
    assert [s["Principal"] for s in trust] == [{"Service": "states.amazonaws.com"}]
    assert "ManagedPolicyArns" not in synth.resources[role]["Properties"]
    # and it invokes the task functions (unqualified ARNs, as the definition names them) and nothing else
    invokes = [s for s in statements if "lambda:InvokeFunction" in _actions(s)]
    resources = [r for s in invokes for r in (s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]])]
    expected = {synth.function_logical_id(function_id) for function_id in spec.tasks.values()}
    assert sorted(json.dumps(r, sort_keys=True) for r in resources) == sorted(
        json.dumps({"Fn::GetAtt": [lid, "Arn"]}, sort_keys=True) for lid in expected
    )
    assert all(_actions(s) == {"lambda:InvokeFunction"} for s in invokes)
    # and its other statements are log delivery and X-Ray, which IAM cannot scope
    for statement in statements:
        if statement not in invokes:
            assert statement["Resource"] == "*"
            assert all(a.startswith(("logs:", "xray:")) for a in _actions(statement)), statement


@pytest.mark.parametrize("spec", wiring.STATE_MACHINES, ids=lambda s: s.id)
@pytest.mark.parametrize("metric", ["ExecutionsFailed", "ExecutionsTimedOut"])
def test_state_machine_alarms_on_the_first_failed_or_timed_out_execution(
    synth: Synth, spec: wiring.StateMachine, metric: str
) -> None:
    # Given the alarms on this machine's metric
    lid = synth.logical_id(spec.id)
    alarms = [
        a["Properties"] for a in synth.of_type("AWS::CloudWatch::Alarm").values()
        if a["Properties"].get("MetricName") == metric
        and a["Properties"]["Dimensions"] == [{"Name": "StateMachineArn", "Value": {"Ref": lid}}]
    ]

    # Then one fires at the first one and notifies on-call's alarm topic
    assert len(alarms) == 1
    alarm = alarms[0]
    assert alarm["Namespace"] == "AWS/States"
    assert alarm["Threshold"] == 1
    assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert alarm["TreatMissingData"] == "notBreaching"
    topic = synth.stack.get_logical_id(synth.stack.monitoring.topic.node.default_child)  # type: ignore[arg-type]
    assert alarm["AlarmActions"] == [{"Ref": topic}]


_MACHINE_GRANTS = [
    (function, grant)
    for function in wiring.FUNCTIONS
    for grant in function.grants
    if grant.resource in {spec.id for spec in wiring.STATE_MACHINES}
]


@pytest.mark.parametrize("function,grant", _MACHINE_GRANTS, ids=lambda v: getattr(v, "id", None) or v.access)
def test_function_granted_a_state_machine_may_do_what_the_grant_says(
    synth: Synth, function: wiring.Function, grant: wiring.Grant
) -> None:
    # Given the machine's ARNs and the function's statements
    spec = next(s for s in wiring.STATE_MACHINES if s.id == grant.resource)
    machine, executions = _arns(synth, spec)
    statements = _function_statements(synth, function.id)

    # Then `start` may start executions and describe them, `callback` may answer task tokens, on this machine
    if grant.access == "start":
        assert "states:StartExecution" in _allowed(statements, machine)
        assert _allowed(statements, executions) == {"states:DescribeExecution"}
    else:
        assert _allowed(statements, machine) >= _TASK_RESPONSE


def test_returns_api_may_start_and_resume_the_returns_workflow(synth: Synth) -> None:
    # Given / When
    machine, _ = _arns(synth, wiring.RETURNS_WORKFLOW)
    allowed = _allowed(_function_statements(synth, "returns_api"), machine)

    # Then
    assert {"states:StartExecution", "states:SendTaskSuccess", "states:SendTaskFailure"} <= allowed


def test_no_function_may_act_on_state_machines_it_is_not_granted(synth: Synth) -> None:
    # Given the functions and the state-machine actions in their policies
    for function in wiring.FUNCTIONS:
        granted = {(g.resource, g.access) for g in function.grants}
        statements = _function_statements(synth, function.id)
        for spec in wiring.STATE_MACHINES:
            machine, executions = _arns(synth, spec)
            # Then each action on a machine comes from a grant of that machine
            expected = (({"states:StartExecution"} if (spec.id, "start") in granted else set())
                        | (_TASK_RESPONSE if (spec.id, "callback") in granted else set()))  # fmt: skip
            assert _allowed(statements, machine) == expected, function.id
            assert _allowed(statements, executions) == (
                {"states:DescribeExecution"} if (spec.id, "start") in granted else set()
            ), function.id
        # and no statement reaches every state machine
        assert not [s for s in statements if s["Resource"] == "*" and any(a.startswith("states:") for a in _actions(s))]


@pytest.mark.parametrize("spec", wiring.STATE_MACHINES, ids=lambda s: s.id)
def test_function_env_points_at_the_machine_by_its_name_without_a_reference(
    synth: Synth, spec: wiring.StateMachine
) -> None:
    # Given every function whose environment refers to the machine's ARN
    machine, _ = _arns(synth, spec)
    lid = synth.logical_id(spec.id)
    for function in wiring.FUNCTIONS:
        props = synth.resources[synth.function_logical_id(function.id)]["Properties"]
        for name, value in function.env.items():
            if value == wiring.Ref(spec.id, "arn"):
                # Then the value is the ARN the machine's name gives
                assert props["Environment"]["Variables"][name] == machine, (function.id, name)
        # and no function references the machine resource itself: its task functions would make that a cycle
        assert lid not in json.dumps(props), function.id


def test_cdk_nag_finds_nothing_on_the_workflows(synth: Synth) -> None:
    # Given the findings on anything under the Workflows construct (SF1 logging, SF2 tracing, IAM5 wildcards)
    annotations = Annotations.from_stack(synth.stack)
    path = f"/{synth.stack.workflows.node.path}/"
    findings = [
        *annotations.find_error("*", Match.string_like_regexp(NAG_RULES.pattern)),
        *annotations.find_warning("*", Match.string_like_regexp(NAG_RULES.pattern)),
    ]

    # Then there are none
    assert [f"{f.id}: {f.entry.data}" for f in findings if f.id.startswith(path)] == []
