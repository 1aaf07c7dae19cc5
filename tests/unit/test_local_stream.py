"""The local stand-in for a DynamoDB stream event source: event shape and partial batch failures."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from infra.local.stream_poller import failed_from, stream_event


def _record(sequence: str) -> dict[str, Any]:
    return {"eventID": sequence, "eventName": "MODIFY", "dynamodb": {
        "Keys": {"stock_id": {"S": "WH#0#SKU"}}, "SequenceNumber": sequence,
        "ApproximateCreationDateTime": datetime(2026, 11, 11, tzinfo=UTC), "StreamViewType": "NEW_AND_OLD_IMAGES"}}


def test_stream_event_has_lambdas_shape() -> None:
    # Given two GetRecords results / When they become a Lambda event
    event = stream_event([_record("1"), _record("2")], "arn:stream")
    # Then each record is an aws:dynamodb record with epoch seconds and the stream ARN
    first = event["Records"][0]
    assert (first["eventSource"], first["eventSourceARN"], first["awsRegion"]) == ("aws:dynamodb", "arn:stream",
                                                                                   "us-east-1")
    assert first["dynamodb"]["ApproximateCreationDateTime"] == 1794355200
    assert first["dynamodb"]["Keys"] == {"stock_id": {"S": "WH#0#SKU"}}


def test_a_partial_failure_retries_from_the_first_failed_record() -> None:
    # Given a batch of three
    batch = [_record("1"), _record("2"), _record("3")]
    # When / Then: nothing failed; the 2nd and 3rd failed (retry from the 2nd); an unknown id fails it all
    assert failed_from({"batchItemFailures": []}, batch) is None
    assert failed_from(None, batch) is None
    assert failed_from({"batchItemFailures": [{"itemIdentifier": "3"}, {"itemIdentifier": "2"}]}, batch) == 1
    assert failed_from({"batchItemFailures": [{"itemIdentifier": "9"}]}, batch) == 0
