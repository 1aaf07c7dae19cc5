"""The local stand-in for EventBridge schedules: the event shape and the timer thread."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

from infra import wiring
from infra.local.scheduler import ScheduleRunner, scheduled_event
from infra.local.sqs_poller import InFlight

_SCHEDULE = wiring.Schedule(id="tick", function="f", rate_minutes=5)
_FUNCTION = wiring.Function(id="f", handler="functions.f.handler.lambda_handler", description="")


def test_scheduled_event_has_eventbridges_shape() -> None:
    # Given a schedule / When its event is built for a moment
    event = scheduled_event(_SCHEDULE, datetime(2026, 11, 11, 12, 0, 5, tzinfo=UTC))
    # Then it is the "Scheduled Event" EventBridge sends, naming the rule
    assert event["detail-type"] == "Scheduled Event"
    assert event["source"] == "aws.events"
    assert event["time"] == "2026-11-11T12:00:05Z"
    assert event["detail"] == {}
    assert event["resources"][0].endswith(":rule/ocp-local-tick")


def test_runner_ticks_every_interval_and_survives_a_raising_handler() -> None:
    # Given a handler that raises on its first tick and counts the others
    calls: list[dict[str, Any]] = []
    third = threading.Event()

    def invoke(function: wiring.Function, event: dict[str, Any]) -> None:
        calls.append(event)
        if len(calls) == 1:
            raise RuntimeError("first tick fails")
        if len(calls) >= 3:
            third.set()

    runner = ScheduleRunner(_SCHEDULE, _FUNCTION, invoke, InFlight(), interval_s=0.01)
    # When it runs for a few intervals
    runner.start()
    try:
        assert third.wait(5)
    finally:
        runner.stop()
    # Then it kept ticking after the failure, each time with a scheduled event
    assert len(calls) >= 3
    assert {c["detail-type"] for c in calls} == {"Scheduled Event"}
    assert runner.interval_s == 0.01
    assert ScheduleRunner(_SCHEDULE, _FUNCTION, invoke, InFlight()).interval_s == 300
