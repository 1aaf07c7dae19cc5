"""WMS adapters: an SQS queue per warehouse that its WMS consumes, a signed HTTP push with retries, and the router
that picks one per warehouse at send time (registered with the warehouse first, else the deployed configuration).

Both carry the idempotency key `<order_id>:<instruction version>` (a split order's parcel:
`<order_id>@<warehouse>:<version>`; SQS message attribute `idempotency_key`, HTTP header `Idempotency-Key`), so a
re-sent instruction is one instruction to a WMS that dedupes on it. An HTTP push also carries `X-OCP-Signature`
(HMAC-SHA256 of the body with the warehouse's secret); without a secret nothing is sent.
"""

from __future__ import annotations

import json
import random
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from email.message import Message
from typing import TYPE_CHECKING, Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from ocp.domain.fulfillment.dispatch import WarehouseInstruction, WmsRejected, WmsUnavailable
from ocp.domain.fulfillment.wms import SIGNATURE_HEADER, SqsWmsEndpoint, WmsEndpoint, no_wms, signature

if TYPE_CHECKING:
    from ocp.ports import WmsAdapter, WmsDirectory

_NO_SUCH_QUEUE = frozenset({"AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"})
"""A queue URL that names no queue (a mistyped registration) will not start working on a retry."""


class SqsWms:
    """The warehouse's own queue (with its DLQ): sent is handed over, since SQS stores it durably before answering."""

    def __init__(self, client: Any, queue_url: str) -> None:
        self._client = client
        self._queue_url = queue_url

    def send(self, instruction: WarehouseInstruction) -> str:
        try:
            response = self._client.send_message(
                QueueUrl=self._queue_url,
                MessageBody=instruction.model_dump_json(),
                MessageAttributes={
                    name: {"DataType": "String", "StringValue": value}
                    for name, value in (
                        ("idempotency_key", instruction.idempotency_key),
                        ("order_id", instruction.order_id),
                        ("warehouse", instruction.warehouse),
                        ("instruction_version", str(instruction.version)),
                        ("kind", instruction.kind.value),
                    )
                },
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _NO_SUCH_QUEUE:
                raise WmsRejected(f"no queue at {self._queue_url} for {instruction.warehouse}") from exc
            raise WmsUnavailable(f"queue for {instruction.warehouse} did not take the instruction: {exc}") from exc
        except BotoCoreError as exc:
            raise WmsUnavailable(f"queue for {instruction.warehouse} did not take the instruction: {exc}") from exc
        return f"sqs message {response['MessageId']}"


class SigningSecrets(Protocol):
    def get(self, warehouse: str, /) -> str | None:
        """The warehouse's HTTP signing secret, or None when none is configured."""


def secret_variable(warehouse: str) -> str:
    """`WH-GZ` → `OCP_WMS_SECRET_WH_GZ`: the local runtime's stand-in for the warehouse's entry in the WMS secret."""
    return "OCP_WMS_SECRET_" + "".join(c if c.isalnum() else "_" for c in warehouse.upper())


class WmsSigningSecrets:
    """`OCP_WMS_SECRET_<WAREHOUSE>` first (local runtime), else the JSON secret `{"<warehouse>": "<secret>"}` in
    Secrets Manager, cached by powertools for a minute (a new secret is used within a minute)."""

    def __init__(self, secret_arn: str | None, overrides: Mapping[str, str]) -> None:
        """`overrides`: `settings.wms_secret_overrides()`, looked up on every call."""
        self._secret_arn = secret_arn
        self._overrides = overrides

    def get(self, warehouse: str, /) -> str | None:
        value = self._overrides.get(secret_variable(warehouse)) or self._from_secrets_manager().get(warehouse)
        return value if isinstance(value, str) and value else None

    def _from_secrets_manager(self) -> dict[str, Any]:
        if not self._secret_arn:
            return {}
        from aws_lambda_powertools.utilities import parameters
        from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

        try:
            value = parameters.get_secret(self._secret_arn, max_age=60)
        except GetParameterError as exc:
            raise WmsUnavailable(f"WMS signing secrets unreadable: {exc}") from exc
        parsed = json.loads(value) if isinstance(value, str) else value
        return parsed if isinstance(parsed, dict) else {}


_RETRYABLE_STATUSES = {408, 409, 425, 429}
"""Besides 5xx: timeout, idempotency key in flight (409), too early, throttled."""


class HttpWms:
    """A WMS that takes pushes: POST the instruction as JSON, signed with the warehouse's secret; 2xx is handed over.
    No secret for the warehouse raises `WmsRejected` before anything is sent: nothing goes out unsigned.

    Retries network errors, 5xx and the statuses above with full-jitter exponential backoff (honouring a
    `Retry-After` in seconds, capped), then raises `WmsUnavailable`; any other 4xx raises `WmsRejected` at once.
    The defaults keep the worst case near 20 s, well inside the dispatcher's timeout: the dispatch queue's
    redelivery is the slower, longer retry.
    """

    def __init__(
        self,
        endpoint: str,
        *,
        secrets: SigningSecrets,
        headers: Mapping[str, str] | None = None,
        attempts: int = 3,
        timeout_s: float = 5.0,
        base_delay_s: float = 0.5,
        max_delay_s: float = 2.0,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self._endpoint = endpoint
        self._secrets = secrets
        self._headers = dict(headers or {})
        self._attempts = attempts
        self._timeout_s = timeout_s
        self._base_delay_s = base_delay_s
        self._max_delay_s = max_delay_s
        self._sleep = sleep
        self._jitter = jitter

    def send(self, instruction: WarehouseInstruction) -> str:
        secret = self._secrets.get(instruction.warehouse)
        if not secret:
            raise WmsRejected(f"no signing secret for warehouse {instruction.warehouse}'s HTTP WMS: add it to the WMS "
                              f"secret ({secret_variable(instruction.warehouse)} locally); nothing is sent unsigned")
        body = instruction.model_dump_json().encode("utf-8")
        headers = {**self._headers, "Content-Type": "application/json",
                   "Idempotency-Key": instruction.idempotency_key, SIGNATURE_HEADER: signature(secret, body)}
        problem = "no attempt made"
        for attempt in range(1, self._attempts + 1):
            try:
                status, answer, retry_after = self._post(body, headers)
            except (urllib.error.URLError, TimeoutError, OSError) as exc:
                problem = f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}"
                retry_after = None
            else:
                if 200 <= status < 300:
                    return f"http {status}{_reference(answer)}"
                problem = f"HTTP {status}: {answer[:200].decode('utf-8', 'replace')}"
                if status < 500 and status not in _RETRYABLE_STATUSES:
                    raise WmsRejected(f"{instruction.warehouse} WMS refused the instruction: {problem}")
            if attempt < self._attempts:
                self._sleep(self._delay(attempt, retry_after))
        raise WmsUnavailable(f"{instruction.warehouse} WMS unreachable after {self._attempts} attempts: {problem}")

    def _post(self, body: bytes, headers: dict[str, str]) -> tuple[int, bytes, float | None]:
        request = urllib.request.Request(self._endpoint, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self._timeout_s) as response:
                return response.status, response.read(), None
        except urllib.error.HTTPError as exc:
            with exc:
                return exc.code, exc.read(), _retry_after(exc.headers)

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, self._max_delay_s)
        return self._jitter() * min(self._max_delay_s, self._base_delay_s * 2 ** (attempt - 1))


def _retry_after(headers: Message | None) -> float | None:
    value = headers.get("Retry-After") if headers is not None else None
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None  # an HTTP date: use our own backoff


def _reference(answer: bytes) -> str:
    """` ref <id>` when the WMS answered JSON with an id for the instruction."""
    try:
        parsed = json.loads(answer or b"null")
    except ValueError:
        return ""
    if isinstance(parsed, dict):
        reference = parsed.get("reference") or parsed.get("id")
        if isinstance(reference, str | int):
            return f" ref {reference}"
    return ""


def connector(sqs_client: Any, secrets: SigningSecrets) -> Callable[[WmsEndpoint], WmsAdapter]:
    """Builds the adapter for a registered WMS (both are cheap: no connection is opened until a send)."""
    def connect(endpoint: WmsEndpoint) -> WmsAdapter:
        if isinstance(endpoint, SqsWmsEndpoint):
            return SqsWms(sqs_client, endpoint.queue_url)
        return HttpWms(endpoint.url, secrets=secrets)
    return connect


class WmsRouter:
    """Picks the warehouse's WMS at send time: the one registered with the warehouse (`directory`), else the
    deployed configuration (`static`). A warehouse with neither is refused (recorded on the order, not retried)."""

    def __init__(
        self,
        static: Mapping[str, WmsAdapter],
        directory: WmsDirectory | None = None,
        connect: Callable[[WmsEndpoint], WmsAdapter] | None = None,
    ) -> None:
        if (directory is None) != (connect is None):
            raise ValueError("a directory of registered WMSs needs a connector, and the reverse")
        self._static = dict(static)
        self._directory = directory
        self._connect = connect

    def send(self, instruction: WarehouseInstruction) -> str:
        return self.adapter_for(instruction.warehouse).send(instruction)

    def adapter_for(self, warehouse: str) -> WmsAdapter:
        endpoint = self._registered(warehouse, recheck=False)
        if endpoint is None and warehouse not in self._static:
            endpoint = self._registered(warehouse, recheck=True)  # registered since the cache was loaded?
        if endpoint is not None and self._connect is not None:
            return self._connect(endpoint)
        if warehouse in self._static:
            return self._static[warehouse]
        raise WmsRejected(no_wms(warehouse))

    def _registered(self, warehouse: str, *, recheck: bool) -> WmsEndpoint | None:
        if self._directory is None:
            return None
        try:
            return self._directory.wms(warehouse, recheck=recheck)
        except Exception as exc:  # noqa: BLE001 — a registry outage is a retry, like a WMS outage
            raise WmsUnavailable(f"warehouses registry unreadable, {warehouse}'s WMS unknown: {exc}") from exc
