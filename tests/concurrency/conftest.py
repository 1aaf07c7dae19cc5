"""The concurrency suite runs the real reservation code against AWS's DynamoDB Local (Java), started once per
test session on a free loopback port and stopped at the end (see `infra/local/dynamodb_local.py`)."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from infra.local.dynamodb_local import DynamoDBLocal
from infra.local.stock_lab import StockLab


@pytest.fixture(scope="session")
def dynamodb_local() -> Iterator[DynamoDBLocal]:
    with DynamoDBLocal() as running:
        yield running


@pytest.fixture
def lab(dynamodb_local: DynamoDBLocal) -> Iterator[StockLab]:
    created = StockLab(dynamodb_local.client, dynamodb_local.resource).create_tables()
    yield created
    created.drop_tables()


class FaultyClient:
    """A DynamoDB client that, before sending, fails a share of `TransactWriteItems` calls the way DynamoDB
    does under contention (`TransactionConflict`) or load (throttling) — which DynamoDB Local never does."""

    def __init__(self, client: Any, conflict_rate: float, throttle_rate: float, seed: int) -> None:
        self._client = client
        self._conflict_rate, self._throttle_rate = conflict_rate, throttle_rate
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self.injected: dict[str, int] = {"TransactionConflict": 0, "ThrottlingException": 0}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def transact_write_items(self, **kwargs: Any) -> Any:
        with self._lock:
            roll = self._random.random()
        if roll < self._conflict_rate:
            self.injected["TransactionConflict"] += 1
            reasons = [{"Code": "None"}] * (len(kwargs["TransactItems"]) - 1) + [{"Code": "TransactionConflict"}]
            raise ClientError({"Error": {"Code": "TransactionCanceledException", "Message": "injected conflict"},
                               "CancellationReasons": reasons}, "TransactWriteItems")
        if roll < self._conflict_rate + self._throttle_rate:
            self.injected["ThrottlingException"] += 1
            raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "injected throttling"}},
                              "TransactWriteItems")
        return self._client.transact_write_items(**kwargs)
