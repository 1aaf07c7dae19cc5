"""In-process Lambda: import a function's handler by its dotted path and invoke it with a Lambda context.

Invocations are serialised process-wide. In AWS each container runs one event at a time, and the
handlers' module singletons (powertools Logger, Metrics, Tracer, cached clients) rely on that; here
every function shares one process, so one lock stands in for "one event per container".
"""

from __future__ import annotations

import importlib
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from infra import wiring
from infra.local import config

Handler = Callable[[Any, Any], Any]

_INVOKE_LOCK = threading.RLock()


@cache
def load_handler(dotted_path: str) -> Handler:
    """`functions.<id>.handler.lambda_handler` → the callable (imported once per process)."""
    module_name, _, attribute = dotted_path.rpartition(".")
    handler = getattr(importlib.import_module(module_name), attribute)
    if not callable(handler):
        raise TypeError(f"{dotted_path} is not callable")
    return handler


FUNCTION_NAME_PREFIX = "ocp-local-"


def local_function_name(function: wiring.Function) -> str:
    return f"{FUNCTION_NAME_PREFIX}{function.id}"


def local_function_arn(function: wiring.Function) -> str:
    """The ARN a local caller (a state machine's task) names the function by."""
    return f"arn:aws:lambda:{config.REGION}:{config.ACCOUNT_ID}:function:{local_function_name(function)}"


@dataclass
class LocalLambdaContext:
    """The attributes of `awslambdaric`'s LambdaContext that handlers and powertools read."""

    function_name: str
    memory_limit_in_mb: int
    invoked_function_arn: str
    timeout_s: int
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = ""
    identity: Any = None
    client_context: Any = None
    _deadline: float = field(default=0.0, repr=False)

    def __post_init__(self) -> None:
        self._deadline = time.monotonic() + self.timeout_s
        self.log_group_name = self.log_group_name or f"/aws/lambda/{self.function_name}"
        self.log_stream_name = self.log_stream_name or f"local/[$LATEST]{self.aws_request_id.replace('-', '')}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def context_for(function: wiring.Function) -> LocalLambdaContext:
    return LocalLambdaContext(
        function_name=local_function_name(function),
        memory_limit_in_mb=function.memory_mb,
        invoked_function_arn=local_function_arn(function),
        timeout_s=function.timeout_s,
    )


def invoke(function: wiring.Function, event: dict[str, Any]) -> Any:
    """Run the function's handler on `event`; exceptions propagate to the caller (API GW, a poller, or the state
    machine Lambda router, which turns them into Lambda function errors)."""
    handler = load_handler(function.handler)
    with _INVOKE_LOCK:
        return handler(event, context_for(function))
