"""The embedded AWS's patches: DynamoDB transactions without whole-table copies (all or nothing, no stream
records from a cancelled transaction, the live table kept in place), and SQS retention and visibility as before."""

from __future__ import annotations

import copy
import inspect
import threading
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.dynamodb import models as dynamodb_models
from moto.dynamodb.models import DynamoDBBackend, dynamodb_backends
from moto.sqs import models as sqs_models
from moto.sqs.models import SQSBackend, sqs_backends

from infra.local import moto_patches

REGION = "us-east-1"


@pytest.fixture
def dynamodb(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": REGION}.items():
        monkeypatch.setenv(name, value)
    with moto_patches.installed(), mock_aws():
        client = boto3.client("dynamodb", region_name=REGION)
        client.create_table(
            TableName="stock", BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                  {"AttributeName": "sk", "AttributeType": "S"}],
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )
        client.create_table(
            TableName="orders", BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "order_id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "order_id", "AttributeType": "S"}],
        )
        yield client


def _stock(units: int) -> dict[str, Any]:
    return {"pk": {"S": "SKU-1"}, "sk": {"S": "WH-GZ"}, "available": {"N": str(units)}}


def _reserve(units: int, order_id: str) -> list[dict[str, Any]]:
    """The shape of an order's reservation: take units if enough remain, store the order, both or neither."""
    return [
        {"Update": {"TableName": "stock", "Key": {"pk": {"S": "SKU-1"}, "sk": {"S": "WH-GZ"}},
                    "UpdateExpression": "SET available = available - :n",
                    "ConditionExpression": "available >= :n",
                    "ExpressionAttributeValues": {":n": {"N": str(units)}}}},
        {"Put": {"TableName": "orders", "Item": {"order_id": {"S": order_id}, "units": {"N": str(units)}},
                 "ConditionExpression": "attribute_not_exists(order_id)"}},
    ]


def _stream_length() -> int:
    shard = dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION].tables["stock"].stream_shard
    assert shard is not None
    return len(shard.items)


def test_a_transaction_that_succeeds_writes_everything(dynamodb: Any) -> None:
    # Given 5 units in stock
    dynamodb.put_item(TableName="stock", Item=_stock(5))
    streamed = _stream_length()
    # When an order takes 2
    dynamodb.transact_write_items(TransactItems=_reserve(2, "o-1"))
    # Then 3 remain, the order is stored and the stock change is on the stream
    stock = dynamodb.get_item(TableName="stock", Key={"pk": {"S": "SKU-1"}, "sk": {"S": "WH-GZ"}})["Item"]
    assert stock["available"] == {"N": "3"}
    assert "Item" in dynamodb.get_item(TableName="orders", Key={"order_id": {"S": "o-1"}})
    assert _stream_length() == streamed + 1


def test_a_cancelled_transaction_leaves_every_item_and_the_stream_as_they_were(dynamodb: Any) -> None:
    # Given 5 units in stock and order o-1 already stored
    dynamodb.put_item(TableName="stock", Item=_stock(5))
    dynamodb.put_item(TableName="orders", Item={"order_id": {"S": "o-1"}, "units": {"N": "1"}})
    backend = dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION]
    tables_before, streamed = dict(backend.tables), _stream_length()
    # When o-1 arrives again: the stock update runs first (and succeeds), then the order's put fails its condition
    with pytest.raises(ClientError) as cancelled:
        dynamodb.transact_write_items(TransactItems=_reserve(2, "o-1"))
    # Then the transaction is cancelled with the put's reason, the units are back and nothing reached the stream
    assert cancelled.value.response["Error"]["Code"] == "TransactionCanceledException"
    reasons = [r["Code"] for r in cancelled.value.response["CancellationReasons"]]
    assert reasons == ["None", "ConditionalCheckFailed"]
    stock = dynamodb.get_item(TableName="stock", Key={"pk": {"S": "SKU-1"}, "sk": {"S": "WH-GZ"}})["Item"]
    assert stock["available"] == {"N": "5"}
    assert _stream_length() == streamed
    # And the live tables were kept (stream readers hold them), not swapped for copies
    assert all(backend.tables[name] is table for name, table in tables_before.items())


def test_a_cancelled_transaction_removes_the_items_it_created(dynamodb: Any) -> None:
    # Given 1 unit in stock
    dynamodb.put_item(TableName="stock", Item=_stock(1))
    # When a new order o-2 is put first and the stock check fails after it
    items = list(reversed(_reserve(2, "o-2")))
    with pytest.raises(ClientError):
        dynamodb.transact_write_items(TransactItems=items)
    # Then o-2 does not exist
    assert "Item" not in dynamodb.get_item(TableName="orders", Key={"order_id": {"S": "o-2"}})
    assert dynamodb.scan(TableName="orders")["Count"] == 0


def test_other_writes_made_before_a_cancelled_transaction_stay(dynamodb: Any) -> None:
    # Given an unrelated order written before a transaction that is cancelled
    dynamodb.put_item(TableName="stock", Item=_stock(0))
    dynamodb.put_item(TableName="orders", Item={"order_id": {"S": "other"}})
    with pytest.raises(ClientError):
        dynamodb.transact_write_items(TransactItems=_reserve(1, "o-3"))
    # Then it is still there
    assert [i["order_id"]["S"] for i in dynamodb.scan(TableName="orders")["Items"]] == ["other"]


def test_a_receive_hands_out_messages_within_their_retention_only(dynamodb: Any) -> None:
    # Given a queue keeping messages 60 s, with two messages, the second one aged past that
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.create_queue(QueueName="inbox", Attributes={"MessageRetentionPeriod": "60"})["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="new")
    sqs.send_message(QueueUrl=url, MessageBody="old")
    queue = sqs_backends[DEFAULT_ACCOUNT_ID][REGION].get_queue("inbox")
    old: Any = next(m for m in queue._messages if m.body == "old")
    old.sent_timestamp -= 61_000
    # When a consumer receives
    received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    # Then it gets the message still within its retention, not the expired one
    assert [m["Body"] for m in received] == ["new"]


def test_a_received_message_stays_invisible_for_its_visibility_timeout_then_comes_back(dynamodb: Any) -> None:
    # Given a message received with a 1 s visibility timeout (moto's SQS clock is the patched one)
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.create_queue(QueueName="visibility")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="order")
    assert len(sqs.receive_message(QueueUrl=url, VisibilityTimeout=1)["Messages"]) == 1
    # Then it is not handed out again at once, and it is once the timeout has passed
    assert "Messages" not in sqs.receive_message(QueueUrl=url)
    time.sleep(1.1)
    again = sqs.receive_message(QueueUrl=url, MessageSystemAttributeNames=["ApproximateReceiveCount"])["Messages"]
    assert [(m["Body"], m["Attributes"]["ApproximateReceiveCount"]) for m in again] == [("order", "2")]


def _moto_as_is() -> list[Any]:
    return [dynamodb_models.copy, sqs_models.unix_time_millis, SQSBackend.is_message_valid_based_on_retention_period,
            *(getattr(DynamoDBBackend, name) for name in
              ("transact_write_items", "put_item", "update_item", "delete_item", "execute_statement"))]


def test_installed_patches_moto_for_the_block_only() -> None:
    # Given moto as this process has it (unpatched, unless something here installed the patches for good)
    before = _moto_as_is()
    # When the patches are installed for a block
    with moto_patches.installed():
        during = _moto_as_is()
    # Then every patched attribute differed inside it, and afterwards each one is moto's own again
    if not moto_patches.is_installed():
        assert all(patched is not original for patched, original in zip(during, before, strict=True))
        assert dynamodb_models.copy is copy
    assert all(after is original for after, original in zip(_moto_as_is(), before, strict=True))


def test_uninstall_puts_back_moto_itself() -> None:
    was_installed = moto_patches.is_installed()
    moto_patches.uninstall()
    try:
        stock = _moto_as_is()
        moto_patches.install()
        moto_patches.install()  # idempotent: a second install must not stack
        moto_patches.uninstall()
        assert _moto_as_is() == stock and dynamodb_models.copy is copy
        assert moto_patches._WHOLE_TABLE_COPY in inspect.getsource(DynamoDBBackend.transact_write_items)
    finally:
        if was_installed:
            moto_patches.install()


def test_a_write_made_while_a_transaction_is_cancelled_keeps_its_item_and_stream_record(dynamodb: Any) -> None:
    # Given 5 units of SKU-1 at WH-GZ and order o-1 already stored
    dynamodb.put_item(TableName="stock", Item=_stock(5))
    dynamodb.put_item(TableName="orders", Item={"order_id": {"S": "o-1"}, "units": {"N": "1"}})
    backend = dynamodb_backends[DEFAULT_ACCOUNT_ID][REGION]
    streamed = _stream_length()
    other = {"pk": {"S": "SKU-2"}, "sk": {"S": "WH-SH"}, "available": {"N": "7"}}
    writer = threading.Thread(target=lambda: dynamodb.put_item(TableName="stock", Item=other))
    read_item = backend.get_item

    def get_item_then_let_another_request_write(*args: Any, **kwargs: Any) -> Any:
        if writer.ident is None:
            writer.start()
            writer.join(timeout=0.3)  # a writer that is not held back by the transaction finishes meanwhile
        return read_item(*args, **kwargs)

    backend.get_item = get_item_then_let_another_request_write  # type: ignore[method-assign]
    # When another request puts an item of the same table while o-1's transaction runs and is cancelled
    try:
        with pytest.raises(ClientError):
            dynamodb.transact_write_items(TransactItems=_reserve(2, "o-1"))
    finally:
        del backend.get_item
        writer.join(timeout=10)
    # Then that item and its stream record stay; only the transaction's own writes are undone
    got = dynamodb.get_item(TableName="stock", Key={"pk": {"S": "SKU-2"}, "sk": {"S": "WH-SH"}})
    assert got["Item"]["available"] == {"N": "7"}
    assert _stream_length() == streamed + 1
    stock = dynamodb.get_item(TableName="stock", Key={"pk": {"S": "SKU-1"}, "sk": {"S": "WH-GZ"}})["Item"]
    assert stock["available"] == {"N": "5"}
