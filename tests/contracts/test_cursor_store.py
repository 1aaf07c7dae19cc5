"""One behavioural suite for the CursorStore port (pollers' high-water marks): in-memory twin and DynamoDB."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from moto import mock_aws

from infra import wiring
from infra.local.provision import table_definition
from ocp.adapters.dynamodb.cursors import DynamoCursorStore
from ocp.adapters.memory.intake import MemoryCursorStore
from ocp.domain.errors import ConcurrentModification
from ocp.domain.order.polling import PollCursor
from ocp.ports import CursorStore

MARK = datetime(2026, 11, 11, 4, 0, tzinfo=UTC)


@pytest.fixture(params=["memory", "dynamodb"])
def store(request: pytest.FixtureRequest) -> Iterator[CursorStore]:
    if request.param == "memory":
        yield MemoryCursorStore()
        return
    with mock_aws():
        # Only the table under test, as the wiring declares it (provisioning everything costs a second a test).
        definition = table_definition(wiring.CHANNEL_CURSORS)
        boto3.client("dynamodb").create_table(**definition)
        yield DynamoCursorStore(boto3.resource("dynamodb").Table(definition["TableName"]))


def test_no_cursor_until_one_is_put(store: CursorStore) -> None:
    assert store.get("jd") is None


def test_first_put_then_each_next_version_moves_it(store: CursorStore) -> None:
    # Given a first mark
    store.put(PollCursor(channel="jd", high_water_mark=MARK, version=1, updated_at=MARK), expected_version=0)
    # When moved on from version 1
    later = PollCursor(channel="jd", high_water_mark=MARK + timedelta(minutes=30), version=2, updated_at=MARK)
    store.put(later, expected_version=1)
    # Then it reads back exactly, per channel
    assert store.get("jd") == later
    assert store.get("taobao") is None


def test_a_stale_writer_is_refused(store: CursorStore) -> None:
    # Given a cursor at version 2
    store.put(PollCursor(channel="jd", high_water_mark=MARK, version=1), expected_version=0)
    store.put(PollCursor(channel="jd", high_water_mark=MARK + timedelta(minutes=5), version=2), expected_version=1)
    # When a run that read version 1 (or none) tries to write / Then it is refused and nothing changes
    with pytest.raises(ConcurrentModification):
        store.put(PollCursor(channel="jd", high_water_mark=MARK - timedelta(hours=1), version=2), expected_version=1)
    with pytest.raises(ConcurrentModification):
        store.put(PollCursor(channel="jd", high_water_mark=MARK - timedelta(hours=1), version=1), expected_version=0)
    current = store.get("jd")
    assert current is not None and current.high_water_mark == MARK + timedelta(minutes=5)
