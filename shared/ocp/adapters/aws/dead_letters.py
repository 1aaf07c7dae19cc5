"""Dead-letter redrive: SQS message move tasks in AWS; a receive/send/delete copy where SQS has no move tasks (the
local runtime's embedded SQS, moto 5.2, does not implement `StartMessageMoveTask`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from ocp.domain.order.replay import DeadLetterRedrive, DlqRedriveRefused

COPY_LIMIT = 1000
"""Messages one copy redrive moves at most (run it again for more)."""


@dataclass(frozen=True)
class QueuePair:
    queue_url: str
    dlq_url: str


class _SqsDeadLetters:
    def __init__(self, client: Any, pairs: Mapping[str, QueuePair]) -> None:
        self._client = client
        self._pairs = dict(pairs)

    def queues(self) -> list[str]:
        return sorted(self._pairs)

    def _attributes(self, url: str, *names: str) -> dict[str, str]:
        attributes: dict[str, str] = self._client.get_queue_attributes(QueueUrl=url, AttributeNames=list(names))[
            "Attributes"]
        return attributes

    @staticmethod
    def _name(url: str) -> str:
        return url.rstrip("/").rsplit("/", 1)[-1]


class SqsMoveTaskDeadLetters(_SqsDeadLetters):
    """`StartMessageMoveTask` from the DLQ to its source queue: SQS moves them in the background."""

    def redrive(self, queue: str) -> DeadLetterRedrive:
        pair = self._pairs[queue]
        dlq = self._attributes(pair.dlq_url, "QueueArn", "ApproximateNumberOfMessages")
        target = self._attributes(pair.queue_url, "QueueArn")["QueueArn"]
        try:
            task = self._client.start_message_move_task(SourceArn=dlq["QueueArn"], DestinationArn=target)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            raise DlqRedriveRefused(f"SQS refused to move the dead letters of {queue}: {error.get('Message', exc)}",
                                    details={"aws_code": error.get("Code")}) from None
        return DeadLetterRedrive(queue=queue, dlq=self._name(pair.dlq_url), task=task["TaskHandle"],
                                 waiting=int(dlq.get("ApproximateNumberOfMessages", 0)))


class SqsCopyDeadLetters(_SqsDeadLetters):
    """Receive from the DLQ, send the same body and attributes to the source queue, then delete: at least once
    (a crash between send and delete sends one twice; the consumers are idempotent), at most `COPY_LIMIT`."""

    def redrive(self, queue: str) -> DeadLetterRedrive:
        pair = self._pairs[queue]
        waiting = int(self._attributes(pair.dlq_url, "ApproximateNumberOfMessages").get(
            "ApproximateNumberOfMessages", 0))
        moved = 0
        while moved < COPY_LIMIT:
            received = self._client.receive_message(
                QueueUrl=pair.dlq_url, MaxNumberOfMessages=10, WaitTimeSeconds=0, VisibilityTimeout=30,
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            if not received:
                break
            for message in received:
                send: dict[str, Any] = {"QueueUrl": pair.queue_url, "MessageBody": message["Body"]}
                if message.get("MessageAttributes"):
                    send["MessageAttributes"] = message["MessageAttributes"]
                self._client.send_message(**send)
                self._client.delete_message(QueueUrl=pair.dlq_url, ReceiptHandle=message["ReceiptHandle"])
                moved += 1
        return DeadLetterRedrive(queue=queue, dlq=self._name(pair.dlq_url), moved=moved, waiting=waiting)
