"""The local SQS event source without servers: Lambda's event shape and partial-batch deletes."""

from __future__ import annotations

from typing import Any

import pytest
from aws_lambda_powertools.utilities.parser.models import SqsModel

from infra import wiring
from infra.local.sqs_poller import InFlight, QueuePoller, sqs_event, succeeded_ids

QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:ocp-local-orders-inbox"


def _message(message_id: str, body: str = "{}", **extra: Any) -> dict[str, Any]:
    return {
        "MessageId": message_id,
        "ReceiptHandle": f"rh-{message_id}",
        "MD5OfBody": "99914b932bd37a50b983c5e7c90ae93b",
        "Body": body,
        "Attributes": {"SenderId": "AIDAEXAMPLE", "SentTimestamp": "1795000000000",
                       "ApproximateReceiveCount": "1", "ApproximateFirstReceiveTimestamp": "1795000000100"},
        **extra,
    }


def test_event_is_lambdas_sqs_event() -> None:
    # Given a received message with a string and a binary attribute
    message = _message("m-1", MessageAttributes={
        "channel": {"DataType": "String", "StringValue": "shopify"},
        "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
    }, MD5OfMessageAttributes="abc")
    # When
    event = sqs_event([message], QUEUE_ARN)
    # Then it has Lambda's shape, down to the powertools model of it
    SqsModel.model_validate(event)
    [record] = event["Records"]
    assert record["messageId"] == "m-1" and record["receiptHandle"] == "rh-m-1"
    assert record["eventSource"] == "aws:sqs" and record["eventSourceARN"] == QUEUE_ARN
    assert record["awsRegion"] == "us-east-1" and record["md5OfMessageAttributes"] == "abc"
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert record["messageAttributes"]["channel"] == {
        "stringValue": "shopify", "binaryValue": None, "stringListValues": [], "binaryListValues": [],
        "dataType": "String",
    }
    assert record["messageAttributes"]["blob"]["binaryValue"] == "AAE="


@pytest.mark.parametrize(("result", "deleted"), [
    (None, {"a", "b", "c"}),
    ({"batchItemFailures": []}, {"a", "b", "c"}),
    ({"batchItemFailures": [{"itemIdentifier": "b"}]}, {"a", "c"}),
    ({"batchItemFailures": [{"itemIdentifier": "zzz"}]}, set()),  # Lambda: an unknown id fails the batch
    ({"batchItemFailures": [{"itemIdentifier": None}]}, set()),
])
def test_only_messages_not_reported_as_failed_are_deleted(result: Any, deleted: set[str]) -> None:
    # Given a batch of three / When the function answers `result` / Then
    assert succeeded_ids(result, ["a", "b", "c"]) == deleted


class _FakeSqs:
    def __init__(self, messages: list[dict[str, Any]]) -> None:
        self.messages = messages
        self.deleted: list[str] = []

    def receive_message(self, **kwargs: Any) -> dict[str, Any]:
        batch, self.messages = self.messages[: kwargs["MaxNumberOfMessages"]], []
        return {"Messages": batch}

    def delete_message_batch(self, QueueUrl: str, Entries: list[dict[str, str]]) -> dict[str, Any]:  # noqa: N803
        self.deleted += [e["ReceiptHandle"] for e in Entries]
        return {"Successful": [{"Id": e["Id"]} for e in Entries]}


def _poller(sqs: _FakeSqs, invoke: Any) -> QueuePoller:
    trigger = wiring.QueueTrigger(queue="q", function="f", batch_size=10)
    function = wiring.Function(id="f", handler="x.f.handler.lambda_handler", description="")
    return QueuePoller(trigger, function, "http://q", QUEUE_ARN, sqs, invoke, InFlight())


def test_a_poll_deletes_what_succeeded_and_keeps_the_failures() -> None:
    # Given two messages and a function that fails the second
    sqs = _FakeSqs([_message("a"), _message("b")])
    poller = _poller(sqs, lambda fn, event: {"batchItemFailures": [{"itemIdentifier": "b"}]})
    # When
    received = poller.poll_once()
    # Then
    assert received == 2
    assert sqs.deleted == ["rh-a"]


def test_a_function_that_raises_deletes_nothing() -> None:
    # Given
    sqs = _FakeSqs([_message("a"), _message("b")])

    def explode(fn: Any, event: Any) -> Any:
        raise RuntimeError("boom")

    # When
    _poller(sqs, explode).poll_once()
    # Then every message stays for redelivery
    assert sqs.deleted == []
