"""WMS adapters: an SQS queue per warehouse that its WMS consumes, an HTTP push with retries, and the router.

Both carry the idempotency key `<order_id>:<instruction version>` (SQS message attribute `idempotency_key`,
HTTP header `Idempotency-Key`), so a re-sent instruction is one instruction to a WMS that dedupes on it.
"""

from __future__ import annotations

import json
import random
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from email.message import Message
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ocp.domain.fulfillment.dispatch import WarehouseInstruction, WmsRejected, WmsUnavailable
from ocp.ports import WmsAdapter


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
        except (ClientError, BotoCoreError) as exc:
            raise WmsUnavailable(f"queue for {instruction.warehouse} did not take the instruction: {exc}") from exc
        return f"sqs message {response['MessageId']}"


_RETRYABLE_STATUSES = {408, 409, 425, 429}
"""Besides 5xx: timeout, idempotency key in flight (409), too early, throttled."""


class HttpWms:
    """A WMS that takes pushes: POST the instruction as JSON; 2xx is handed over.

    Retries network errors, 5xx and the statuses above with full-jitter exponential backoff (honouring a
    `Retry-After` in seconds, capped), then raises `WmsUnavailable`; any other 4xx raises `WmsRejected` at once.
    The defaults keep the worst case near 20 s, well inside the dispatcher's timeout: the dispatch queue's
    redelivery is the slower, longer retry.
    """

    def __init__(
        self,
        endpoint: str,
        *,
        headers: Mapping[str, str] | None = None,
        attempts: int = 3,
        timeout_s: float = 5.0,
        base_delay_s: float = 0.5,
        max_delay_s: float = 2.0,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self._endpoint = endpoint
        self._headers = dict(headers or {})
        self._attempts = attempts
        self._timeout_s = timeout_s
        self._base_delay_s = base_delay_s
        self._max_delay_s = max_delay_s
        self._sleep = sleep
        self._jitter = jitter

    def send(self, instruction: WarehouseInstruction) -> str:
        body = instruction.model_dump_json().encode("utf-8")
        headers = {**self._headers, "Content-Type": "application/json",
                   "Idempotency-Key": instruction.idempotency_key}
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


class WmsRouter:
    """Picks the warehouse's adapter; a warehouse without one is refused (recorded on the order, not retried)."""

    def __init__(self, by_warehouse: Mapping[str, WmsAdapter]) -> None:
        self._by_warehouse = dict(by_warehouse)

    def send(self, instruction: WarehouseInstruction) -> str:
        adapter = self._by_warehouse.get(instruction.warehouse)
        if adapter is None:
            raise WmsRejected(f"no WMS is configured for warehouse {instruction.warehouse!r}")
        return adapter.send(instruction)
