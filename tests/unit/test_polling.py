"""The channel poller: high-water mark, overlapping windows, pagination, dedupe, failure handling."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta

import pytest

from ocp.adapters.memory.intake import (
    MemoryCursorStore,
    MemoryInbox,
    MemoryQuarantine,
    MemoryRawArchive,
    StaticChannelApis,
)
from ocp.adapters.memory.orders import MemoryOrderStore
from ocp.channels.base import ApiConfig
from ocp.channels.jd import JdAdapter
from ocp.domain.errors import ChannelApiUnavailable, ChannelNotConfigured, ConcurrentModification
from ocp.domain.order.polling import PollCursor
from ocp.services.order.polling import PollingDeps, PollPolicy, poll_channel
from ocp.services.order.processing import Outcome, ProcessingDeps, process_message
from tests.channel_support import CREDENTIALS, GMT8, jd_order_info
from tests.fakes.channel_apis import FakeChannelApis

NOW = datetime(2026, 11, 11, 4, 0, tzinfo=UTC)
POLICY = PollPolicy(overlap=timedelta(minutes=5), max_window=timedelta(minutes=30),
                    first_lookback=timedelta(minutes=60), max_windows_per_run=10)
ADAPTER = JdAdapter()


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(autouse=True)
def _small_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("ocp.channels.wire.jd.SEARCH_PAGE_SIZE", 2)


@pytest.fixture
def fake() -> FakeChannelApis:
    return FakeChannelApis(credentials=dict(CREDENTIALS))


def _put(fake: FakeChannelApis, order_id: int, modified: datetime, **changes: str) -> None:
    document = copy.deepcopy(jd_order_info("channels/jd/order_info.multi_line.json"))
    document.update(orderId=str(order_id), modified=modified.astimezone(GMT8).strftime("%Y-%m-%d %H:%M:%S"),
                    **changes)
    fake.put_order("jd", document)


def _deps(fake: FakeChannelApis, clock: Clock, cursors: MemoryCursorStore | None = None) -> PollingDeps:
    api = ADAPTER.api(ApiConfig(base_url="http://fake/jd/routerjson", credentials=CREDENTIALS["jd"],
                                transport=fake.transport(), now=clock))
    return PollingDeps(apis=StaticChannelApis({"jd": api}), cursors=cursors or MemoryCursorStore(),
                       archive=MemoryRawArchive(), inbox=MemoryInbox(), now=clock)


def _enqueued_ids(deps: PollingDeps) -> list[str]:
    return [m.document["orderId"] for m in deps.inbox.messages if m.document]  # type: ignore[attr-defined]


def test_first_run_looks_back_pages_through_and_sets_the_mark(fake: FakeChannelApis) -> None:
    # Given five orders modified in the last hour and one modified before it
    for i, minutes_ago in enumerate((90, 50, 40, 30, 20, 10)):
        _put(fake, 300000000001 + i, NOW - timedelta(minutes=minutes_ago))
    deps = _deps(fake, Clock(NOW))
    # When the poller runs for the first time
    result = poll_channel("jd", ADAPTER, deps, POLICY)
    # Then it read the last hour (plus the overlap) in two 30-minute windows, two orders a page,
    # enqueued each of the five once, and the mark is now
    assert sorted(_enqueued_ids(deps)) == [str(300000000002 + i) for i in range(5)]
    assert result.windows == 2 and result.enqueued == 5
    assert result.repeated == 1  # the order at the 30-minute boundary is in both windows' overlap
    cursor = deps.cursors.get("jd")
    assert cursor is not None and cursor.high_water_mark == NOW and cursor.version == 2
    # And every document is archived as polled, and travels inline
    message = deps.inbox.messages[0]  # type: ignore[attr-defined]
    assert message.archive_key.startswith("polled/jd/poll-") and message.topic == "poll"
    assert deps.archive.objects[message.archive_key]  # type: ignore[attr-defined]


def test_next_run_overlaps_and_the_processor_dedupes_what_it_sees_again(fake: FakeChannelApis) -> None:
    # Given a first run that saw an order modified 2 minutes ago
    clock, cursors = Clock(NOW), MemoryCursorStore()
    _put(fake, 300000000100, NOW - timedelta(minutes=2))
    first = _deps(fake, clock, cursors)
    poll_channel("jd", ADAPTER, first, POLICY)
    # When the next run comes 3 minutes later, and a late-indexed order shows up inside the overlap
    clock.now = NOW + timedelta(minutes=3)
    _put(fake, 300000000101, NOW - timedelta(minutes=1))
    second = _deps(fake, clock, cursors)
    poll_channel("jd", ADAPTER, second, POLICY)
    # Then the late one is caught, the repeated one is enqueued again ...
    assert sorted(_enqueued_ids(second)) == ["300000000100", "300000000101"]
    # ... and processing both runs' messages stores each order once: the repeat is a duplicate
    processing = ProcessingDeps(orders=MemoryOrderStore(), archive=MemoryRawArchive(), quarantine=MemoryQuarantine(),
                                now=clock)
    outcomes = [process_message(m, ADAPTER, processing).outcome
                for m in [*first.inbox.messages, *second.inbox.messages]]  # type: ignore[attr-defined]
    assert outcomes == [Outcome.created, Outcome.duplicate, Outcome.created]


def test_a_newer_version_of_a_polled_order_is_an_update(fake: FakeChannelApis) -> None:
    clock, cursors = Clock(NOW), MemoryCursorStore()
    _put(fake, 300000000200, NOW - timedelta(minutes=2))
    first = _deps(fake, clock, cursors)
    poll_channel("jd", ADAPTER, first, POLICY)
    clock.now = NOW + timedelta(minutes=10)
    _put(fake, 300000000200, NOW + timedelta(minutes=8), orderState="TRADE_CANCELED")
    second = _deps(fake, clock, cursors)
    poll_channel("jd", ADAPTER, second, POLICY)
    processing = ProcessingDeps(orders=MemoryOrderStore(), archive=MemoryRawArchive(), quarantine=MemoryQuarantine(),
                                now=clock)
    outcomes = [process_message(m, ADAPTER, processing).outcome
                for m in [*first.inbox.messages, *second.inbox.messages]]  # type: ignore[attr-defined]
    assert outcomes == [Outcome.created, Outcome.updated]
    stored = processing.orders.get("jd-300000000200")
    assert stored is not None and stored.status.value == "cancelled"


def test_a_failure_keeps_the_mark_at_the_last_complete_window(fake: FakeChannelApis) -> None:
    # Given a mark 50 minutes ago and a channel that fails on the second window
    cursors = MemoryCursorStore()
    cursors.put(PollCursor(channel="jd", high_water_mark=NOW - timedelta(minutes=50), version=1), 0)
    _put(fake, 300000000300, NOW - timedelta(minutes=40))
    deps = _deps(fake, Clock(NOW), cursors)
    original = fake.handle
    calls = {"n": 0}

    def flaky(method: str, target: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], bytes]:
        calls["n"] += 1
        return (503, {}, b"") if calls["n"] > 1 else original(method, target, headers, body)

    fake.handle = flaky  # type: ignore[method-assign]
    # When it polls / Then the error surfaces, and the mark moved only past the first (complete) window
    with pytest.raises(ChannelApiUnavailable):
        poll_channel("jd", ADAPTER, deps, POLICY)
    cursor = cursors.get("jd")
    assert cursor is not None and cursor.high_water_mark == NOW - timedelta(minutes=20)
    assert _enqueued_ids(deps) == ["300000000300"]


def test_catch_up_is_bounded_per_run_and_by_time(fake: FakeChannelApis) -> None:
    # Given a mark a day behind
    cursors = MemoryCursorStore()
    cursors.put(PollCursor(channel="jd", high_water_mark=NOW - timedelta(days=1), version=1), 0)
    deps = _deps(fake, Clock(NOW), cursors)
    # When a run may do 10 windows / Then it does 10 and stops, 5 hours further
    assert poll_channel("jd", ADAPTER, deps, POLICY).windows == 10
    cursor = cursors.get("jd")
    assert cursor is not None and cursor.high_water_mark == NOW - timedelta(days=1) + timedelta(hours=5)
    # And a run that is out of time starts no window at all
    assert poll_channel("jd", ADAPTER, deps, POLICY, out_of_time=lambda: True).windows == 0


def test_two_runs_racing_cannot_move_the_mark_backwards(fake: FakeChannelApis) -> None:
    cursors = MemoryCursorStore()
    cursors.put(PollCursor(channel="jd", high_water_mark=NOW - timedelta(minutes=10), version=3), 0)
    with pytest.raises(ConcurrentModification):
        cursors.put(PollCursor(channel="jd", high_water_mark=NOW - timedelta(minutes=20), version=3), 2)


def test_unconfigured_channel_is_not_polled(fake: FakeChannelApis) -> None:
    deps = _deps(fake, Clock(NOW))
    with pytest.raises(ChannelNotConfigured):
        poll_channel("taobao", ADAPTER, deps, POLICY)
