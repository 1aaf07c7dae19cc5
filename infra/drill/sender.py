"""Send the planned deliveries on schedule with bounded concurrency (threads), timing each webhook.

A send never waits for a free worker longer than the schedule allows to slip: when every worker is busy the
dispatcher blocks (the drill falls behind its shape rather than queueing without bound), and what it sent late
shows in each result's `lag_s`.
"""

from __future__ import annotations

import random
import threading
import time
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime

from infra.drill.payloads import Credentials, Delivery, DrillOrder, deliveries_of, signed_request
from infra.local.demo import http

LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


class RemoteRefused(ValueError):
    """A drill against a host other than this machine without `--allow-remote`."""


def check_target(url: str, allow_remote: bool) -> str:
    """The base URL without a trailing slash; a non-loopback host is refused unless allowed."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise RemoteRefused(f"{url!r} is not an http(s) URL")
    if parts.hostname not in LOOPBACK and not allow_remote:
        raise RemoteRefused(f"{parts.hostname} is not this machine: a drill is a load test, pass --allow-remote "
                            "to aim it at a deployed stack")
    return url.rstrip("/")


@dataclass(frozen=True)
class Scheduled:
    offset_s: float
    delivery: Delivery


@dataclass(frozen=True)
class Sent:
    delivery: Delivery
    offset_s: float
    """When it was due, seconds from the start."""
    started_s: float
    """When it went out, seconds from the start (`started_s - offset_s` is the schedule's slip)."""
    latency_s: float
    status: int
    """The HTTP status; 0 when no answer came (connection refused, timeout)."""

    @property
    def accepted(self) -> bool:
        return 200 <= self.status < 300


def plan(orders: Sequence[DrillOrder], offsets: Sequence[float], credentials: Mapping[str, Credentials],
         duplicates: float, out_of_order: float, seed: int = 11) -> list[Scheduled]:
    """Each order's paid delivery at its offset; a seeded `duplicates` share redelivered 0.2-3 s later, and an
    `out_of_order` share followed 0.1-2 s later by the order's older view. Sorted by time."""
    chooser = random.Random(seed)
    schedule = []
    for order, offset in zip(orders, offsets, strict=True):
        views = deliveries_of(order, credentials)
        schedule.append(Scheduled(offset, views["first"]))
        if chooser.random() < duplicates:
            schedule.append(Scheduled(offset + chooser.uniform(0.2, 3.0), views["duplicate"]))
        if chooser.random() < out_of_order:
            schedule.append(Scheduled(offset + chooser.uniform(0.1, 2.0), views["late_view"]))
    return sorted(schedule, key=lambda s: s.offset_s)


class Sender:
    """Posts a schedule against `base_url` with at most `concurrency` requests in flight."""

    def __init__(self, base_url: str, credentials: Mapping[str, Credentials], concurrency: int = 16,
                 timeout_s: float = 15) -> None:
        self._base_url = base_url
        self._credentials = credentials
        self._concurrency = concurrency
        self._timeout_s = timeout_s
        self._slots = threading.Semaphore(concurrency)
        self._lock = threading.Lock()
        self.results: list[Sent] = []
        self.stop = threading.Event()

    def run(self, schedule: Sequence[Scheduled], started: float, deadline: float,
            on_sent: Callable[[Sent], None] | None = None) -> list[Sent]:
        """Send everything due before `deadline` (monotonic); `started` is the monotonic time of offset 0."""
        with ThreadPoolExecutor(max_workers=self._concurrency, thread_name_prefix="drill-send") as pool:
            for item in schedule:
                due = started + item.offset_s
                if due > deadline or self.stop.is_set():
                    break
                if self.stop.wait(max(0.0, due - time.monotonic())):
                    break
                self._slots.acquire()
                pool.submit(self._send, item, started, on_sent)
        return self.results

    def _send(self, item: Scheduled, started: float, on_sent: Callable[[Sent], None] | None) -> None:
        try:
            request = signed_request(item.delivery, self._credentials, datetime.now(UTC))
            begin = time.monotonic()
            try:
                status, _ = http("POST", self._base_url + request.path, request.body, request.headers,
                                 timeout_s=self._timeout_s)
            except OSError:
                status = 0
            sent = Sent(item.delivery, item.offset_s, begin - started, time.monotonic() - begin, status)
            with self._lock:
                self.results.append(sent)
            if on_sent is not None:
                on_sent(sent)
        finally:
            self._slots.release()
