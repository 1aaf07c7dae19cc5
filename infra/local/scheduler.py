"""EventBridge schedules, locally: a timer thread per `wiring.Schedule` that invokes the function in-process
with the same "Scheduled Event" payload an EventBridge `rate(N minutes)` rule sends.

A tick that raises is logged and the next tick runs as usual (the CDK rule has no retries either).
Tests shorten the interval (`LocalPlatform(schedule_interval_s=...)`) or fire a tick on demand
(`LocalPlatform.run_schedule(id)`).
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from infra import wiring
from infra.local import config
from infra.local.sqs_poller import InFlight

log = logging.getLogger("ocp.local.schedule")

Invoker = Callable[[wiring.Function, dict[str, Any]], Any]


def rule_arn(schedule: wiring.Schedule) -> str:
    return f"arn:aws:events:{config.REGION}:{config.ACCOUNT_ID}:rule/ocp-local-{schedule.id}"


def scheduled_event(schedule: wiring.Schedule, at: datetime | None = None) -> dict[str, Any]:
    """The event EventBridge sends a Lambda target for a scheduled rule."""
    moment = (at or datetime.now(UTC)).astimezone(UTC)
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": config.ACCOUNT_ID,
        "time": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": config.REGION,
        "resources": [rule_arn(schedule)],
        "detail": {},
    }


class ScheduleRunner:
    """One `Schedule`: a thread that invokes the function every interval until `stop()`."""

    def __init__(
        self,
        schedule: wiring.Schedule,
        function: wiring.Function,
        invoke: Invoker,
        in_flight: InFlight,
        interval_s: float | None = None,
    ) -> None:
        self.schedule, self.function = schedule, function
        self._invoke, self._in_flight = invoke, in_flight
        self.interval_s = interval_s if interval_s is not None else schedule.rate_minutes * 60.0
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"ocp-local-schedule-{schedule.id}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout_s: float = 10) -> None:
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout=timeout_s)
            if self._thread.is_alive():
                log.warning("schedule %s did not stop within %.0f s", self.schedule.id, timeout_s)

    def run_once(self) -> Any:
        """One tick now, on the caller's thread; the handler's result (exceptions propagate)."""
        with self._in_flight.track():
            return self._invoke(self.function, scheduled_event(self.schedule))

    def _run(self) -> None:
        # Like EventBridge: the first tick comes one interval after the rule is created.
        while not self._stopping.wait(self.interval_s):
            try:
                self.run_once()
            except Exception:
                log.exception("scheduled %s (%s) raised; the next tick runs as usual", self.schedule.id,
                              self.function.id)
