"""Step Functions locally: each `wiring.StateMachine` from its own ASL file, executed by moto, its Lambda tasks
running our handlers in-process.

The definition is the deployed one: the same file, with each `${Placeholder}` replaced by the local ARN of the
function `StateMachine.tasks` names, where CDK puts the deployed ARN (`definition_substitutions`).

moto (5.2.x) only *executes* a state machine with its `stepfunctions.execute_state_machine` option on; with
`lambda.use_docker` off, its "simple" Lambda backend answers every invoke with the request payload. `enable_execution`
turns both on and routes that backend's `invoke` to `lambdas.invoke`, by function name. A handler's exception comes
back as real Lambda returns it (payload `{"errorType": <class name>, "errorMessage": ...}`, header
`x-amz-function-error: Unhandled`), so the ASL's Retry and Catch match on the exception's class name.

Both ways of running moto are covered: the embedded server (`aws.py`) runs in this process, so its backends, its
options and the patched class are the ones set here; moto's SFN calls Lambda over HTTP at `localhost:$MOTO_PORT`,
which `EmbeddedAws` points at itself. Under `mock_aws` (the tests' decorator mode) SFN's Lambda calls go through
moto's botocore stubber instead, and `mock_aws` restores the options when it exits.

`LambdaSimpleBackend.invoke` is private to moto: moto must stay pinned (see `_check_moto`).
"""

from __future__ import annotations

import inspect
import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

from infra import wiring
from infra.build import REPO_ROOT
from infra.local import config, lambdas

log = logging.getLogger("ocp.local.sfn")

PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_]+)\}")
"""`${Name}` in an ASL file: what `definition_substitutions` (CloudFormation `DefinitionSubstitutions`) replaces."""

EXECUTION_CONFIG: dict[str, dict[str, bool]] = {
    "stepfunctions": {"execute_state_machine": True},
    "lambda": {"use_docker": False},
}
"""The moto options `enable_execution` sets (the keys of `moto.core.config.default_user_config`)."""

_INVOKE_PARAMETERS = ("self", "function_name", "qualifier", "body", "headers", "response_headers")
_install_lock = threading.Lock()
_original_invoke: Callable[..., Any] | None = None
_extra_functions: dict[str, wiring.Function] = {}


class DefinitionError(ValueError):
    """An ASL file and its `wiring.StateMachine.tasks` disagree about the placeholders."""


def definition_path(spec: wiring.StateMachine) -> Path:
    return REPO_ROOT / spec.definition


def placeholders(spec: wiring.StateMachine) -> set[str]:
    """The `${Name}` placeholders the ASL file uses."""
    return set(PLACEHOLDER.findall(definition_path(spec).read_text(encoding="utf-8")))


def substituted_definition(spec: wiring.StateMachine, function_arns: Mapping[str, str]) -> str:
    """The ASL file with every placeholder replaced by the ARN of its task function (`function_arns`: id → ARN).

    Strict both ways, like a deploy should be: a placeholder no task names, or a task the file never uses, is an
    error rather than a definition that fails only when that state runs."""
    text = definition_path(spec).read_text(encoding="utf-8")
    used = set(PLACEHOLDER.findall(text))
    if used != set(spec.tasks):
        raise DefinitionError(
            f"{spec.definition}: placeholders {sorted(used)} but {spec.id!r} declares tasks {sorted(spec.tasks)}"
        )
    return PLACEHOLDER.sub(lambda match: function_arns[spec.tasks[match.group(1)]], text)


def local_definition(spec: wiring.StateMachine) -> str:
    """The definition as the embedded AWS runs it: placeholders → `arn:aws:lambda:…:function:ocp-local-<id>`."""
    arns = {fid: lambdas.local_function_arn(wiring.function(fid)) for fid in spec.tasks.values()}
    return substituted_definition(spec, arns)


def local_role_arn(spec: wiring.StateMachine) -> str:
    """moto checks only the shape of a state machine's role ARN; nothing assumes it locally."""
    return f"arn:aws:iam::{config.ACCOUNT_ID}:role/ocp-local-{spec.id}"


def enable_execution() -> None:
    """Make moto (embedded server or `mock_aws`, both in this process) execute state machines and run Lambda tasks
    through our handlers. Idempotent; call it before creating state machines (moto picks the executing backend per
    request from these options, and a machine created without them is unknown to it)."""
    from moto.core.config import default_user_config

    for section, values in EXECUTION_CONFIG.items():
        # Whole sections replaced, not mutated: `mock_aws` snapshots the top-level dict and restores it on exit.
        default_user_config[section] = dict(values)  # type: ignore[literal-required]
    _install_lambda_router()


@contextmanager
def routed(*functions: wiring.Function) -> Iterator[None]:
    """Also route invokes of these (test-only) functions, by their local names, while the block runs."""
    names = {lambdas.local_function_name(function): function for function in functions}
    _extra_functions.update(names)
    try:
        yield
    finally:
        for name in names:
            _extra_functions.pop(name, None)


def wait_for_execution(sfn: Any, execution_arn: str, timeout: float = 10, poll_s: float = 0.05) -> dict[str, Any]:
    """`DescribeExecution` once the execution has left RUNNING (moto runs it on a background thread)."""
    deadline = time.monotonic() + timeout
    while True:
        described: dict[str, Any] = sfn.describe_execution(executionArn=execution_arn)
        if described["status"] != "RUNNING":
            return described
        if time.monotonic() > deadline:
            raise TimeoutError(f"{execution_arn} still RUNNING after {timeout} s")
        time.sleep(poll_s)


def _check_moto() -> Callable[..., Any]:
    from moto.awslambda_simple.models import LambdaSimpleBackend

    invoke = LambdaSimpleBackend.invoke
    parameters = tuple(inspect.signature(invoke).parameters)
    if parameters != _INVOKE_PARAMETERS:
        import moto

        raise RuntimeError(
            f"moto {moto.__version__}: LambdaSimpleBackend.invoke{parameters} is not the private method this "
            f"routing was written for {_INVOKE_PARAMETERS} (moto 5.2.5); re-check infra/local/stepfunctions.py"
        )
    return invoke


def _install_lambda_router() -> None:
    global _original_invoke
    with _install_lock:
        if _original_invoke is not None:
            return
        from moto.awslambda_simple.models import LambdaSimpleBackend

        _original_invoke = _check_moto()
        LambdaSimpleBackend.invoke = _routed_invoke  # type: ignore[method-assign]


def _wired_function(function_name: str) -> wiring.Function | None:
    """`ocp-local-<id>`, `…:function:ocp-local-<id>[:qualifier]` or a partial ARN → the wiring function, if ours."""
    name = function_name.split(":function:", 1)[-1].split(":", 1)[0]
    if name in _extra_functions:
        return _extra_functions[name]
    if not name.startswith(lambdas.FUNCTION_NAME_PREFIX):
        return None
    try:
        return wiring.function(name.removeprefix(lambdas.FUNCTION_NAME_PREFIX))
    except KeyError:
        return None


def _routed_invoke(
    self: Any, function_name: str, qualifier: str | None, body: Any, headers: Any, response_headers: Any
) -> str | bytes | None:
    function = _wired_function(function_name)
    if function is None:
        assert _original_invoke is not None
        return _original_invoke(self, function_name, qualifier, body, headers, response_headers)
    event = json.loads(body) if body else {}
    try:
        # Waits for the process-wide invoke lock like any other trigger: this runs on moto's request thread (server)
        # or the execution's own thread (mock_aws), never on a thread that holds the lock.
        result = lambdas.invoke(function, event)
    except Exception as exc:
        log.info("%s raised %s in a state machine task", function.id, type(exc).__name__, exc_info=True)
        return _function_error(response_headers, type(exc).__name__, str(exc))
    try:
        return json.dumps(result, default=_decimal).encode()
    except (TypeError, ValueError) as exc:
        return _function_error(response_headers, "Runtime.MarshalError", f"Unable to marshal response: {exc}")


def _function_error(response_headers: Any, error_type: str, message: str) -> bytes:
    response_headers["x-amz-function-error"] = "Unhandled"
    return json.dumps({"errorType": error_type, "errorMessage": message}).encode()


def _decimal(value: Any) -> Any:
    """The Python runtime marshals a `Decimal` as a float; anything else unknown fails, as in Lambda."""
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")
