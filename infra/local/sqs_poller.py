"""Lambda's SQS event source mapping, locally: long-poll a queue, invoke the function with a real SQS batch
event, delete what succeeded.

Partial batch responses are honoured the way Lambda does with `ReportBatchItemFailures`: every message not
named in `batchItemFailures` is deleted; failed ones stay and reappear after the visibility timeout, and
the queue's RedrivePolicy (applied by the embedded SQS on receive) moves them to the DLQ once they were
received `maxReceiveCount` times. A handler that raises fails the whole batch, and so does a response
naming an id that is not in the batch.
"""

from __future__ import annotations

import base64
import contextlib
import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from infra import wiring
from infra.local import config

log = logging.getLogger("ocp.local.sqs")

Invoker = Callable[[wiring.Function, dict[str, Any]], Any]
_SQS_MAX_RECEIVE = 10


class InFlight:
    """Counts invocations under way, so `wait_idle` knows when nothing is being processed."""

    def __init__(self) -> None:
        self._count = 0
        self._lock = threading.Lock()

    @property
    def count(self) -> int:
        with self._lock:
            return self._count

    @contextlib.contextmanager
    def track(self) -> Iterator[None]:
        with self._lock:
            self._count += 1
        try:
            yield
        finally:
            with self._lock:
                self._count -= 1


def lambda_message_attributes(attributes: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """SQS API message attributes (`StringValue`, bytes `BinaryValue`) → Lambda's camel-case, base64 shape."""
    return {
        name: {
            "stringValue": value.get("StringValue"),
            "binaryValue": _b64(value["BinaryValue"]) if "BinaryValue" in value else None,
            "stringListValues": list(value.get("StringListValues") or []),
            "binaryListValues": [_b64(v) for v in value.get("BinaryListValues") or []],
            "dataType": value["DataType"],
        }
        for name, value in attributes.items()
    }


def _b64(value: bytes | str) -> str:
    raw = value.encode() if isinstance(value, str) else value
    return base64.b64encode(raw).decode("ascii")


def sqs_event(messages: Iterable[dict[str, Any]], queue_arn: str) -> dict[str, Any]:
    """The event Lambda sends for a batch of `ReceiveMessage` results."""
    return {"Records": [_record(message, queue_arn) for message in messages]}


def _record(message: dict[str, Any], queue_arn: str) -> dict[str, Any]:
    record = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": dict(message.get("Attributes") or {}),
        "messageAttributes": lambda_message_attributes(message.get("MessageAttributes") or {}),
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": config.REGION,
    }
    if message.get("MD5OfMessageAttributes"):
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    return record


def succeeded_ids(result: Any, message_ids: list[str]) -> set[str]:
    """Ids to delete after an invocation that returned `result` (a partial batch response or nothing)."""
    failures = (result or {}).get("batchItemFailures") if isinstance(result, dict) else None
    if not failures:
        return set(message_ids)
    failed = {f.get("itemIdentifier") if isinstance(f, dict) else None for f in failures}
    if not failed <= set(message_ids):
        log.error("batchItemFailures names ids outside the batch (%s): the whole batch failed", failed)
        return set()
    return set(message_ids) - failed


class QueuePoller:
    """One `QueueTrigger`: a thread that receives, invokes and deletes until `stop()`."""

    def __init__(
        self,
        trigger: wiring.QueueTrigger,
        function: wiring.Function,
        queue_url: str,
        queue_arn: str,
        sqs: Any,
        invoke: Invoker,
        in_flight: InFlight,
        wait_s: int = 1,
    ) -> None:
        self.trigger, self.function = trigger, function
        self._queue_url, self._queue_arn = queue_url, queue_arn
        self._sqs, self._invoke, self._in_flight = sqs, invoke, in_flight
        self._wait_s = wait_s
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"ocp-local-sqs-{trigger.queue}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout_s: float = 10) -> None:
        """Stop after the current receive (at most `wait_s`) and invocation; wait at most `timeout_s`."""
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout=timeout_s)
            if self._thread.is_alive():
                log.warning("poller for %s did not stop within %.0f s", self.trigger.queue, timeout_s)

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                self.poll_once()
            except Exception:
                log.exception("polling %s failed; retrying", self.trigger.queue)
                self._stopping.wait(1)

    def poll_once(self) -> int:
        """One receive → invoke → delete cycle; the number of messages received."""
        messages = self._sqs.receive_message(
            QueueUrl=self._queue_url,
            MaxNumberOfMessages=min(self.trigger.batch_size, _SQS_MAX_RECEIVE),
            WaitTimeSeconds=self._wait_s,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if messages:
            with self._in_flight.track():
                self._process(messages)
        return len(messages)

    def _process(self, messages: list[dict[str, Any]]) -> None:
        try:
            result = self._invoke(self.function, sqs_event(messages, self._queue_arn))
        except Exception:
            log.exception("%s raised on a batch of %d: nothing deleted", self.function.id, len(messages))
            return
        ok = succeeded_ids(result, [m["MessageId"] for m in messages])
        self._delete([m for m in messages if m["MessageId"] in ok])
        if len(ok) < len(messages):
            log.warning("%s failed %d of %d messages", self.function.id, len(messages) - len(ok), len(messages))

    def _delete(self, messages: list[dict[str, Any]]) -> None:
        if not messages:
            return
        entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)]
        failed = self._sqs.delete_message_batch(QueueUrl=self._queue_url, Entries=entries).get("Failed")
        if failed:
            log.error("could not delete %d processed messages from %s: %s", len(failed), self.trigger.queue, failed)
