"""The returns workflow adapter against Step Functions on moto, its in-memory twin, and the local carrier fake.

moto 5.2.5 has two Step Functions backends: the default one keeps every execution RUNNING and accepts any task
token (SendTaskSuccess does nothing); with `execute_state_machine` it runs the definition and answers
`InvalidToken` for a token no task waits on. Each test names the one whose behaviour it relies on."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.core.config import DefaultConfig

from ocp.adapters.aws.workflows import StepFunctionsWorkflows
from ocp.adapters.memory.carriers import LocalCarriers
from ocp.adapters.memory.workflows import MemoryWorkflows

ROLE = "arn:aws:iam::123456789012:role/ocp-returns-workflow"
PASS = {"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}}
EXECUTE: DefaultConfig = {"stepfunctions": {"execute_state_machine": True}}


def _machine(client: Any, name: str, definition: dict[str, Any]) -> str:
    return str(client.create_state_machine(name=name, roleArn=ROLE, definition=json.dumps(definition))
               ["stateMachineArn"])


def _eventually(check: Callable[[], Any], seconds: float = 10.0) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        found = check()
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


@pytest.fixture
def executing() -> Iterator[Any]:
    with mock_aws(config=EXECUTE):
        yield boto3.client("stepfunctions")


def test_a_name_starts_one_execution_even_while_it_runs_with_the_same_input() -> None:
    # The default backend keeps executions RUNNING and, like AWS for a STANDARD machine, answers a repeat with the
    # same name and input with the running execution instead of ExecutionAlreadyExists.
    with mock_aws():
        client = boto3.client("stepfunctions")
        arn = _machine(client, "returns", PASS)
        workflows = StepFunctionsWorkflows(client, arn)
        assert workflows.start("taobao-as-1", {"return_id": "taobao-as-1", "名": "退货"}) is True
        assert workflows.start("taobao-as-1", {"return_id": "taobao-as-1", "名": "退货"}) is False
        assert workflows.start("taobao-as-1", {"return_id": "other input"}) is False
        executions = client.list_executions(stateMachineArn=arn)["executions"]
        assert [e["name"] for e in executions] == ["taobao-as-1"]
        described = client.describe_execution(executionArn=executions[0]["executionArn"])
        assert json.loads(described["input"]) == {"return_id": "taobao-as-1", "名": "退货"}
        assert workflows.start("taobao-as-2", {}) is True


def test_a_finished_execution_name_cannot_start_again(executing: Any) -> None:
    arn = _machine(executing, "returns", PASS)
    workflows = StepFunctionsWorkflows(executing, arn)
    assert workflows.start("jd-as-7", {"return_id": "jd-as-7"}) is True
    execution = f"{arn.replace(':stateMachine:', ':execution:')}:jd-as-7"
    assert _eventually(lambda: executing.describe_execution(executionArn=execution)["status"] == "SUCCEEDED")
    assert workflows.start("jd-as-7", {"return_id": "jd-as-7"}) is False


def test_resume_completes_the_waiting_task_once_and_refuses_unknown_tokens(executing: Any) -> None:
    # Given an execution paused on a task that hands its token out through a queue
    sqs = boto3.client("sqs")
    queue = sqs.create_queue(QueueName="tokens")["QueueUrl"]
    arn = _machine(executing, "returns", {"StartAt": "AwaitReceipt", "States": {"AwaitReceipt": {
        "Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
        "Parameters": {"QueueUrl": queue, "MessageBody": {"token.$": "$$.Task.Token"}}, "End": True}}})
    workflows = StepFunctionsWorkflows(executing, arn)
    assert workflows.start("douyin-as-3", {}) is True
    messages = _eventually(lambda: sqs.receive_message(QueueUrl=queue).get("Messages"))
    token = json.loads(messages[0]["Body"])["token"]
    # When it is resumed / Then the execution ends with that output; a repeat and a stranger find nothing waiting
    assert workflows.resume("not-a-token", {"received": True}) is False
    assert workflows.resume(token, {"received": True, "仓": "WH-GZ"}) is True
    execution = f"{arn.replace(':stateMachine:', ':execution:')}:douyin-as-3"
    described = _eventually(lambda: (d := executing.describe_execution(executionArn=execution))["status"]
                            == "SUCCEEDED" and d)
    assert json.loads(described["output"]) == {"received": True, "仓": "WH-GZ"}
    assert workflows.resume(token, {"received": True}) is False


def test_the_memory_twin_records_starts_and_resumes_once_each() -> None:
    workflows = MemoryWorkflows()
    assert workflows.start("r-1", {"return_id": "r-1"}) is True
    assert workflows.start("r-1", {"return_id": "again"}) is False
    assert workflows.started == {"r-1": {"return_id": "r-1"}}
    workflows.gone.add("expired")
    assert workflows.resume("t-1", {"ok": True}) is True
    assert workflows.resume("t-1", {"ok": False}) is False
    assert workflows.resume("expired", {"ok": True}) is False
    assert workflows.resumed == {"t-1": {"ok": True}}


def test_local_carriers_answer_the_first_booking_for_a_repeated_reference() -> None:
    carriers = LocalCarriers()
    buyer, warehouse = {"name": "张三", "mobile": "13800000000"}, {"name": "WH-GZ"}
    first = carriers.book_return("taobao-as-1", buyer, warehouse, 1)
    assert first.carrier == "SF"
    assert first.waybill_no.startswith("SF") and len(first.waybill_no) == 14 and first.waybill_no[2:].isdigit()
    assert carriers.book_return("taobao-as-1", {"name": "other"}, warehouse, 2) == first
    # Derived from the reference alone: a fresh instance (a restart) books the same; another reference differs
    assert LocalCarriers().book_return("taobao-as-1", buyer, warehouse, 1) == first
    other = carriers.book_return("taobao-as-2", buyer, warehouse, 1)
    assert other.waybill_no != first.waybill_no
    assert set(carriers.bookings) == {"taobao-as-1", "taobao-as-2"}
    assert LocalCarriers("JD").book_return("jd-as-1", buyer, warehouse, 1).waybill_no.startswith("JD")
    with pytest.raises(ValueError):
        carriers.book_return("taobao-as-3", buyer, warehouse, 0)
