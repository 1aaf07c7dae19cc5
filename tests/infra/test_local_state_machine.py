"""State machines run locally as deployed: moto executes the ASL, its Lambda tasks run our handlers in-process.

Two ways in, both from `infra.local`:
- under `mock_aws` (integration tests): `provision(None, ...)` creates every `wiring.STATE_MACHINES` machine from its
  file and turns execution on; `stepfunctions.enable_execution()` alone does it for a machine a test creates itself;
- on the embedded server (`LocalPlatform`): the same provisioning, and moto's executions call Lambda over HTTP on
  the embedded server's port (`MOTO_PORT`).

The handlers here are probes; `stepfunctions.routed` puts a probe in place of a wiring function by its local name.
"""

from __future__ import annotations

import dataclasses
import json
import queue
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from moto import mock_aws

from infra import wiring
from infra.local import lambdas, stepfunctions
from infra.local.provision import Resources, aws_client, provision
from infra.local.runtime import LocalPlatform

PROBE = wiring.Function(id="sfn_probe", handler=f"{__name__}.probe_handler", description="state machine probe")
"""A throwaway function the tiny machines below call; routed by its local name `ocp-local-sfn_probe`."""
FAKE_RETURNS_STEPS = dataclasses.replace(
    wiring.function("returns_workflow"), handler=f"{__name__}.fake_returns_step"
)
"""`returns_workflow` with scripted steps, so the real returns definition runs without the real handler."""

_tokens: queue.Queue[tuple[str, str]] = queue.Queue()
"""(step, task token) handed to a `.waitForTaskToken` task's handler, for the test to resume it."""
_script: dict[str, Any] = {}
"""returns step → what the fake handler returns (an exception instance is raised)."""


class ProbeRefused(Exception):
    """Raised by the probe on request: a Catch must match it by this class name."""


def probe_handler(event: dict[str, Any], context: Any) -> Any:
    action = event.get("action")
    if action == "raise":
        raise ProbeRefused(f"refused {event.get('value')}")
    if action == "park":
        _tokens.put(("park", event["token"]))
        return None
    return {"echo": event.get("value"), "function": context.function_name}


def fake_returns_step(event: dict[str, Any], context: Any) -> Any:
    step = event["step"]
    if step == "await":
        _tokens.put((event["on"], event["token"]))
        return None
    outcome = _script.get(step, {"next": "done"})
    if isinstance(outcome, Exception):
        raise outcome
    return outcome


APPROVER = wiring.Function(id="approver", handler=f"{__name__}.approve_handler", description="sends a decision")


def approve_handler(event: dict[str, Any], context: Any) -> None:
    """Like an API handler resuming a workflow: SendTaskSuccess from inside an invocation."""
    sfn = aws_client("stepfunctions", event["endpoint"])
    sfn.send_task_success(taskToken=event["token"], output=json.dumps({"next": "approved"}))


def _machine(states: dict[str, Any], start: str) -> str:
    return json.dumps({"StartAt": start, "States": states})


def _probe_task(payload: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": lambdas.local_function_arn(PROBE), "Payload": payload},
        **extra,
    }


def _create(sfn: Any, definition: str) -> str:
    arn: str = sfn.create_state_machine(
        name=f"probe-{uuid.uuid4().hex[:8]}", definition=definition,
        roleArn="arn:aws:iam::123456789012:role/probe", type="STANDARD",
    )["stateMachineArn"]
    return arn


def _start(sfn: Any, machine_arn: str, payload: dict[str, Any]) -> str:
    # Always named: moto refuses a second unnamed start of the same machine and input (ExecutionAlreadyExists).
    arn: str = sfn.start_execution(stateMachineArn=machine_arn, name=uuid.uuid4().hex, input=json.dumps(payload))[
        "executionArn"
    ]
    return arn


def _next_token(expected_step: str, timeout: float = 10) -> str:
    step, token = _tokens.get(timeout=timeout)
    assert step == expected_step
    return token


@pytest.fixture(autouse=True)
def _clean_probes() -> Iterator[None]:
    _script.clear()
    while not _tokens.empty():
        _tokens.get_nowait()
    yield
    _script.clear()


@pytest.fixture
def sfn() -> Iterator[Any]:
    """moto's Step Functions in decorator mode, executing, with the probe routed."""
    with mock_aws(), stepfunctions.routed(PROBE):
        stepfunctions.enable_execution()
        yield aws_client("stepfunctions", None)


@pytest.fixture
def provisioned(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Resources, Any]]:
    """What the integration `aws` fixture does (provision under mock_aws), with returns_workflow's steps scripted."""
    with mock_aws(), stepfunctions.routed(FAKE_RETURNS_STEPS):
        resources = provision(None, {wiring.CHANNEL_SECRETS.id: {}})
        yield resources, aws_client("stepfunctions", None)


# ---- mock_aws (decorator mode) ------------------------------------------------------------------------


def test_a_lambda_task_returns_the_handlers_result(sfn: Any) -> None:
    # Given a machine whose one task invokes the probe by its local ARN
    definition = _machine(
        {"Echo": _probe_task({"value.$": "$.value"}, ResultSelector={"result.$": "$.Payload"}, End=True)}, "Echo"
    )
    machine = _create(sfn, definition)

    # When it runs
    described = stepfunctions.wait_for_execution(sfn, _start(sfn, machine, {"value": 42}))

    # Then the handler ran in-process, with a Lambda context, and its return value is the task's payload
    assert described["status"] == "SUCCEEDED", described
    assert json.loads(described["output"]) == {"result": {"echo": 42, "function": "ocp-local-sfn_probe"}}


def test_a_raised_exception_is_caught_by_its_class_name(sfn: Any) -> None:
    # Given a task that raises ProbeRefused, with a Catch for another error before the one for ProbeRefused
    catch = [
        {"ErrorEquals": ["SomethingElse"], "Next": "Wrong"},
        {"ErrorEquals": ["ProbeRefused"], "ResultPath": "$.error", "Next": "Caught"},
    ]
    definition = _machine(
        {
            "Refuse": _probe_task({"action": "raise", "value.$": "$.value"}, Catch=catch, End=True),
            "Wrong": {"Type": "Fail", "Error": "WrongCatch"},
            "Caught": {"Type": "Pass", "End": True},
        },
        "Refuse",
    )
    machine = _create(sfn, definition)

    # When it runs
    described = stepfunctions.wait_for_execution(sfn, _start(sfn, machine, {"value": "r-1"}))

    # Then the Catch on the class name took it, with Lambda's error payload as the cause
    assert described["status"] == "SUCCEEDED", described
    error = json.loads(described["output"])["error"]
    assert error["Error"] == "ProbeRefused"
    assert json.loads(error["Cause"]) == {"errorType": "ProbeRefused", "errorMessage": "refused r-1"}


def test_an_uncaught_exception_fails_the_execution_with_the_class_name(sfn: Any) -> None:
    # Given a task that raises, with no Catch
    machine = _create(sfn, _machine({"Refuse": _probe_task({"action": "raise"}, End=True)}, "Refuse"))

    # When it runs
    described = stepfunctions.wait_for_execution(sfn, _start(sfn, machine, {}))

    # Then the execution fails with the exception's class name as its error
    assert described["status"] == "FAILED"
    assert described["error"] == "ProbeRefused"


def test_a_wait_for_task_token_task_is_resumed_by_send_task_success(sfn: Any) -> None:
    # Given a callback task that hands its token to the handler
    definition = _machine(
        {
            "Park": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                "Parameters": {
                    "FunctionName": lambdas.local_function_arn(PROBE),
                    "Payload": {"action": "park", "token.$": "$$.Task.Token"},
                },
                "ResultPath": "$.decision",
                "TimeoutSeconds": 30,
                "End": True,
            }
        },
        "Park",
    )
    execution = _start(sfn, _create(sfn, definition), {"return_id": "r-1"})
    token = _next_token("park")
    assert sfn.describe_execution(executionArn=execution)["status"] == "RUNNING"

    # When the token comes back with a result
    sfn.send_task_success(taskToken=token, output=json.dumps({"next": "approved"}))

    # Then the execution carries on with that result
    described = stepfunctions.wait_for_execution(sfn, execution)
    assert described["status"] == "SUCCEEDED", described
    assert json.loads(described["output"]) == {"return_id": "r-1", "decision": {"next": "approved"}}


def test_an_unknown_function_still_gets_motos_echo(sfn: Any) -> None:
    # Given a task naming a function that is neither in wiring nor routed
    definition = _machine(
        {"Other": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                   "Parameters": {"FunctionName": "arn:aws:lambda:us-east-1:123456789012:function:someone-else",
                                  "Payload": {"x": 1}},
                   "ResultSelector": {"p.$": "$.Payload"}, "End": True}},
        "Other",
    )

    # When it runs / Then moto's simple Lambda answers as before: the payload back
    described = stepfunctions.wait_for_execution(sfn, _start(sfn, _create(sfn, definition), {}))
    assert json.loads(described["output"]) == {"p": {"x": 1}}


# ---- the returns definition, as provisioned -----------------------------------------------------------


def test_provisioning_creates_each_wiring_state_machine_from_its_file(provisioned: tuple[Resources, Any]) -> None:
    # Given the provisioned resources
    resources, sfn = provisioned

    for spec in wiring.STATE_MACHINES:
        # When the machine is described by the ARN its Ref resolves to
        arn = resources.resolve(wiring.Ref(spec.id, "arn"))
        described = sfn.describe_state_machine(stateMachineArn=arn)

        # Then it is the file with local function ARNs in place of the placeholders, and nothing else changed
        definition = json.loads(described["definition"])
        source = json.loads(stepfunctions.definition_path(spec).read_text())
        assert definition.keys() == source.keys() and definition["States"].keys() == source["States"].keys()
        assert described["type"] == "STANDARD"
        assert "${" not in described["definition"]
        for function_id in spec.tasks.values():
            assert lambdas.local_function_arn(wiring.function(function_id)) in described["definition"]


def test_the_returns_workflow_runs_through_a_manual_decision_to_a_refund(provisioned: tuple[Resources, Any]) -> None:
    # Given the deployed returns definition, whose steps decide "manual" and then refund without settlement
    resources, sfn = provisioned
    machine = resources.resolve(wiring.Ref(wiring.RETURNS_WORKFLOW.id, "arn"))
    _script.update({"validate": {"next": "ok"}, "decide": {"next": "manual"}, "route": {"next": "refund"},
                    "refund": {"next": "done", "timeout_s": 60}})  # fmt: skip
    execution = _start(sfn, machine, {"return_id": "r-1", "timing": {"decision_timeout_s": 60, "poll_s": 0}})

    # When an operator's decision comes back on the token AwaitDecision handed out
    sfn.send_task_success(taskToken=_next_token("decision"), output=json.dumps({"next": "approved"}))

    # Then the execution goes on to the refund and succeeds
    described = stepfunctions.wait_for_execution(sfn, execution)
    assert described["status"] == "SUCCEEDED", described
    assert json.loads(described["output"])["refund"] == {"next": "done", "timeout_s": 60}


class ReturnNotFound(Exception):
    pass


def test_the_returns_workflow_records_a_failed_step_and_fails(provisioned: tuple[Resources, Any]) -> None:
    # Given a validate step that raises an error no Retry covers
    resources, sfn = provisioned
    machine = resources.resolve(wiring.Ref(wiring.RETURNS_WORKFLOW.id, "arn"))
    _script.update({"validate": ReturnNotFound("r-404"), "fail": {}})

    # When it runs
    described = stepfunctions.wait_for_execution(sfn, _start(sfn, machine, {"return_id": "r-404"}))

    # Then the Catch sent it to RecordFailure, and the execution failed as the definition says
    assert described["status"] == "FAILED"
    assert described["error"] == "ReturnWorkflowFailed"
    history = sfn.get_execution_history(executionArn=described["executionArn"])["events"]
    entered = [e["stateEnteredEventDetails"]["name"] for e in history if "stateEnteredEventDetails" in e]
    assert entered == ["Validate", "RecordFailure", "Failed"]


# ---- the embedded server ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def platform() -> Iterator[LocalPlatform]:
    with stepfunctions.routed(FAKE_RETURNS_STEPS), LocalPlatform() as running:
        yield running


def test_on_the_embedded_server_the_returns_workflow_calls_lambda_over_http(platform: LocalPlatform) -> None:
    # Given the local platform's returns machine, whose validate step refuses
    sfn = platform.client("stepfunctions")
    _script.update({"validate": {"next": "refused"}})

    # When it runs (moto calls Lambda at localhost:$MOTO_PORT, the embedded server)
    execution = _start(sfn, platform.state_machine_arn(wiring.RETURNS_WORKFLOW.id), {"return_id": "r-2"})
    described = platform.wait_for_execution(execution)

    # Then the routed handler answered and the Choice took its answer
    assert described["status"] == "SUCCEEDED", described
    assert json.loads(described["output"])["last"] == {"next": "refused"}


def test_a_handler_resuming_a_callback_does_not_deadlock_the_next_task(platform: LocalPlatform) -> None:
    # Given an execution parked on AwaitDecision
    sfn = platform.client("stepfunctions")
    _script.update({"decide": {"next": "manual"}, "route": {"next": "done"}})
    execution = _start(sfn, platform.state_machine_arn(wiring.RETURNS_WORKFLOW.id),
                       {"return_id": "r-3", "timing": {"decision_timeout_s": 60, "poll_s": 0}})
    token = _next_token("decision")

    # When a handler (holding the process-wide invoke lock, as an API handler would) sends the decision
    lambdas.invoke(APPROVER, {"token": token, "endpoint": platform.aws_endpoint_url})

    # Then the execution's next Lambda tasks run once the lock is free, and it completes
    described = platform.wait_for_execution(execution)
    assert described["status"] == "SUCCEEDED", described
