"""What became of each drill order: poll `GET /orders?channel=&channel_order_id=` until it is decided.

Decided means reserved (or further along: the dispatcher takes a reserved order on at once) or held. The
webhook→decision time is measured on this client's clock, from the order's first webhook going out to the first
poll that sees it decided; a round of polls takes a while, so the true moment lies after the last poll that saw
it undecided: `resolution_s` is that gap, reported beside the figure. When polls are slow (a busy stack, many
orders pending) the order's own timeline says it better, to the second: `server_decision_s`.
"""

from __future__ import annotations

import threading
import time
import urllib.parse
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from infra.drill.payloads import DrillOrder
from infra.local.demo import http

RESERVED_STATUSES = frozenset({"reserved", "dispatched", "accepted", "picked", "packed", "shipped", "delivered"})
DECIDED_STATUSES = RESERVED_STATUSES | {"held", "cancelled"}


@dataclass
class Observed:
    order: DrillOrder
    first_sent_s: float
    status: str | None = None
    document: dict[str, Any] | None = None
    decided_s: float | None = None
    last_undecided_s: float | None = None

    @property
    def decided(self) -> bool:
        return self.decided_s is not None

    @property
    def decision_latency_s(self) -> float | None:
        return None if self.decided_s is None else self.decided_s - self.first_sent_s

    @property
    def server_decision_s(self) -> float | None:
        """From the order's own timeline (the stack's clock, whole seconds): its first `reserved` or `held` entry
        less its first `received` one. Free of polling and of clock skew, but only to the second."""
        timeline = (self.document or {}).get("timeline") or []
        received = next((e.get("at") for e in timeline if e.get("event") == "received"), None)
        decided = next((e.get("at") for e in timeline if e.get("event") in ("reserved", "held")), None)
        if not isinstance(received, str) or not isinstance(decided, str):
            return None
        try:
            return (datetime.fromisoformat(decided.replace("Z", "+00:00"))
                    - datetime.fromisoformat(received.replace("Z", "+00:00"))).total_seconds()
        except ValueError:
            return None

    @property
    def resolution_s(self) -> float | None:
        if self.decided_s is None:
            return None
        return self.decided_s - max(self.last_undecided_s or self.first_sent_s, self.first_sent_s)


@dataclass
class Observer:
    base_url: str
    api_key: str
    workers: int = 4
    poll_interval_s: float = 0.2
    timeout_s: float = 5
    orders: dict[tuple[str, str], Observed] = field(default_factory=dict)
    errors: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self.stop = threading.Event()

    def expect(self, order: DrillOrder, sent_s: float) -> None:
        """The order's first accepted webhook went out at `sent_s` (seconds from the drill's start)."""
        with self._lock:
            key = (order.channel, order.channel_order_id)
            if key not in self.orders or sent_s < self.orders[key].first_sent_s:
                self.orders[key] = Observed(order, sent_s)

    def counts(self) -> tuple[int, int, int]:
        """(decided, reserved, held) so far."""
        with self._lock:
            seen = list(self.orders.values())
        return (sum(o.decided for o in seen), sum(o.status in RESERVED_STATUSES for o in seen),
                sum(o.status == "held" for o in seen))

    def watch(self, started: float, sending_done: threading.Event, deadline: float) -> None:
        """Poll undecided orders until sending is over and all are decided, or `deadline` (monotonic)."""
        with ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="drill-watch") as pool:
            while time.monotonic() < deadline and not self.stop.is_set():
                with self._lock:
                    pending = [o for o in self.orders.values() if not o.decided]
                if not pending and sending_done.is_set():
                    return
                list(pool.map(lambda o: self._poll(o, started, deadline), pending))
                time.sleep(self.poll_interval_s)

    def refresh(self, started: float, deadline: float) -> None:
        """Read every order once more (until `deadline`): its final status and reservation for the report."""
        with ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="drill-watch") as pool:
            list(pool.map(lambda o: self._poll(o, started, deadline), list(self.orders.values())))

    def _poll(self, observed: Observed, started: float, deadline: float) -> None:
        if time.monotonic() >= deadline or self.stop.is_set():
            return  # a round of slow look-ups must not carry the drill past its bound
        found = self._find(observed.order)
        now = time.monotonic() - started
        with self._lock:
            if found is None:
                observed.last_undecided_s = now if not observed.decided else observed.last_undecided_s
                return
            observed.document, observed.status = found, str(found.get("status"))
            if observed.status in DECIDED_STATUSES and not observed.decided:
                observed.decided_s = now
            elif not observed.decided:
                observed.last_undecided_s = now

    def _find(self, order: DrillOrder) -> dict[str, Any] | None:
        query = urllib.parse.urlencode({"channel": order.channel, "channel_order_id": order.channel_order_id})
        try:
            status, body = http("GET", f"{self.base_url}/orders?{query}", headers={"x-api-key": self.api_key},
                                timeout_s=self.timeout_s)
        except OSError:
            status, body = 0, None
        if status != 200 or not isinstance(body, dict):
            with self._lock:
                self.errors += 1
            return None
        found = body.get("orders") or []
        return found[0] if found and isinstance(found[0], dict) else None

    def documents(self) -> Iterable[dict[str, Any]]:
        return [o.document for o in self.orders.values() if o.document is not None]
