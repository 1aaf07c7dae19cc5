"""The safety net for lost pushes (and JD's main path): poll a channel for orders modified since the last run.

Each channel keeps a high-water mark (`PollCursor`): every order modified before it has been enqueued. A run
walks windows `[mark - overlap, mark + max_window]` up to now, pages through each window, archives and
enqueues every document through the same `InboxMessage` path as a webhook, and moves the mark to the
window's end only when the whole window is enqueued. Windows overlap, so an order the channel indexed late
is still caught; the duplicates this produces cost nothing: a document is enqueued once per run, and the
processor's idempotent write turns a second copy with the same channel modification time into `duplicate`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from ocp.domain.clock import iso
from ocp.domain.order.inbox import InboxMessage
from ocp.domain.order.polling import PollCursor
from ocp.services.order.intake import INLINE_LIMIT_BYTES, POLLED_PREFIX

if TYPE_CHECKING:
    from ocp.channels.base import ChannelWire
    from ocp.ports import ChannelApis, CursorStore, Inbox, RawArchive

MAX_PAGES_PER_WINDOW = 500
"""A guard against a channel that never stops answering `next_page`."""


@dataclass(frozen=True)
class PollPolicy:
    overlap: timedelta = timedelta(minutes=5)
    max_window: timedelta = timedelta(hours=1)
    """Taobao's increment API takes at most a day, JD's search a month; an hour keeps pages few."""
    first_lookback: timedelta = timedelta(hours=1)
    """Where a channel's first run starts (no mark yet)."""
    max_windows_per_run: int = 24


@dataclass(frozen=True)
class PollingDeps:
    apis: ChannelApis
    cursors: CursorStore
    archive: RawArchive
    inbox: Inbox
    now: Callable[[], datetime]


@dataclass
class PollResult:
    channel: str
    windows: int = 0
    pages: int = 0
    enqueued: int = 0
    repeated: int = 0
    """Documents seen twice in this run (overlapping windows, shifting pages): enqueued once."""
    high_water_mark: datetime | None = None
    seen: set[str] = field(default_factory=set, repr=False)


def poll_channel(
    channel: str,
    adapter: ChannelWire,
    deps: PollingDeps,
    policy: PollPolicy = PollPolicy(),
    out_of_time: Callable[[], bool] = lambda: False,
) -> PollResult:
    """Poll one channel up to now. Raises `ChannelNotConfigured` (no API configured: nothing to do),
    `ChannelApiUnavailable` / `ChannelApiRejected` (the mark stays where the last complete window ended) or
    `ConcurrentModification` (another run moved the mark meanwhile)."""
    api = deps.apis.api(channel)
    now = deps.now()
    cursor = deps.cursors.get(channel)
    mark = cursor.high_water_mark if cursor else now - policy.first_lookback
    version = cursor.version if cursor else 0
    result = PollResult(channel=channel, high_water_mark=mark)
    while mark < now and result.windows < policy.max_windows_per_run and not out_of_time():
        start, end = mark - policy.overlap, min(now, mark + policy.max_window)
        page: str | None = None
        for _ in range(MAX_PAGES_PER_WINDOW):
            found = api.modified_orders(start, end, page)
            result.pages += 1
            for document in found.documents:
                _enqueue(channel, adapter, document, deps, now, result)
            page = found.next_page
            if not page:
                break
        deps.cursors.put(PollCursor(channel=channel, high_water_mark=end, version=version + 1, updated_at=now),
                         expected_version=version)
        mark, version = end, version + 1
        result.windows += 1
        result.high_water_mark = mark
    return result


def _enqueue(
    channel: str, adapter: ChannelWire, document: dict[str, Any], deps: PollingDeps, now: datetime,
    result: PollResult,
) -> None:
    body = json.dumps(document, ensure_ascii=False, sort_keys=True).encode("utf-8")
    digest = hashlib.sha256(body).hexdigest()[:32]
    if digest in result.seen:
        result.repeated += 1
        return
    result.seen.add(digest)
    try:
        reference = adapter.order_ref(document)
    except (KeyError, TypeError, ValueError, AttributeError):
        reference = "unknown"  # the processor quarantines it with the mapping's reasons
    delivery_id = f"poll-{reference}-{digest}"
    key = f"{POLLED_PREFIX}/{channel}/{delivery_id}.json"
    deps.archive.put(key, body)
    deps.inbox.send(InboxMessage(
        delivery_id=delivery_id, message_id=delivery_id, channel=channel, topic="poll", archive_key=key,
        received_at=iso(now), document=document if len(body) <= INLINE_LIMIT_BYTES else None,
    ))
    result.enqueued += 1
