"""The returns state machine through Step Functions: start one execution per after-sale, resume its paused
`.waitForTaskToken` tasks."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError

# SendTaskSuccess's answers for a token that is no longer waiting: timed out, already completed (or its
# execution ended), or never one of ours.
_TOKEN_GONE = frozenset({"TaskTimedOut", "TaskDoesNotExist", "InvalidToken"})


class StepFunctionsWorkflows:
    def __init__(self, client: Any, state_machine_arn: str) -> None:
        """`client` is a boto3 `stepfunctions` client; `state_machine_arn` the returns state machine's ARN."""
        self._client = client
        self._state_machine_arn = state_machine_arn

    def start(self, name: str, payload: Mapping[str, Any]) -> bool:
        # StartExecution answers success (the running execution) for a repeat with the same name and input:
        # look first, so a repeat while it runs is a False too. Two racing first starts can both answer True.
        try:
            self._client.describe_execution(executionArn=self._execution_arn(name))
            return False
        except ClientError as exc:
            if _code(exc) != "ExecutionDoesNotExist":
                raise
        try:
            self._client.start_execution(stateMachineArn=self._state_machine_arn, name=name,
                                         input=json.dumps(dict(payload), ensure_ascii=False))
        except ClientError as exc:
            if _code(exc) == "ExecutionAlreadyExists":  # the name ran before, or runs with another input
                return False
            raise
        return True

    def resume(self, token: str, output: Mapping[str, Any]) -> bool:
        try:
            self._client.send_task_success(taskToken=token, output=json.dumps(dict(output), ensure_ascii=False))
        except ClientError as exc:
            if _code(exc) in _TOKEN_GONE:
                return False
            raise
        return True

    def _execution_arn(self, name: str) -> str:
        # arn:aws:states:<region>:<account>:stateMachine:<machine> → …:execution:<machine>:<name>
        return self._state_machine_arn.replace(":stateMachine:", ":execution:", 1) + f":{name}"


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))
