"""After-sales polled from each channel (JD's only path, and the safety net for a lost push elsewhere): the ids of
after-sales modified since the channel's after-sale mark go to the after-sales inbox as signals, exactly as a push
would; the intake re-reads each record, so a repeat or an overlap costs one read and changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from ocp.domain.clock import iso
from ocp.domain.order.inbox import InboxMessage
from ocp.domain.order.polling import PollCursor
from ocp.services.order.polling import PollPolicy
from ocp.services.returns.topics import POLL_TOPIC

if TYPE_CHECKING:
    from ocp.ports import CursorStore, Inbox
    from ocp.services.returns.deps import AfterSaleApis

_POLICY = PollPolicy()


@dataclass(frozen=True)
class AfterSalePollDeps:
    apis: AfterSaleApis
    cursors: CursorStore
    inbox: Inbox
    now: Callable[[], datetime]


@dataclass
class AfterSalePoll:
    channel: str
    windows: int = 0
    enqueued: int = 0
    high_water_mark: datetime | None = None


def cursor_key(channel: str) -> str:
    """The after-sales' own mark, beside the channel's order mark in the same cursor table."""
    return f"{channel}#aftersales"


def poll_aftersales(channel: str, deps: AfterSalePollDeps, policy: PollPolicy = _POLICY,
                    out_of_time: Callable[[], bool] = lambda: False) -> AfterSalePoll:
    """Raises `ChannelNotConfigured` (nothing to do), `ChannelApiUnavailable` / `ChannelApiRejected` (the mark stays
    where the last complete window ended) or `ConcurrentModification` (another run moved the mark)."""
    api = deps.apis.aftersale_api(channel)
    now = deps.now()
    key = cursor_key(channel)
    cursor = deps.cursors.get(key)
    mark = cursor.high_water_mark if cursor else now - policy.first_lookback
    version = cursor.version if cursor else 0
    result = AfterSalePoll(channel=channel, high_water_mark=mark)
    seen: set[str] = set()
    while mark < now and result.windows < policy.max_windows_per_run and not out_of_time():
        end = min(now, mark + policy.max_window)
        for aftersale_id in api.modified_aftersales(mark - policy.overlap, end):
            if aftersale_id not in seen:
                seen.add(aftersale_id)
                _enqueue(channel, aftersale_id, end, deps)
                result.enqueued += 1
        deps.cursors.put(PollCursor(channel=key, high_water_mark=end, version=version + 1, updated_at=now),
                         expected_version=version)
        mark, version = end, version + 1
        result.windows += 1
        result.high_water_mark = mark
    return result


def _enqueue(channel: str, aftersale_id: str, window_end: datetime, deps: AfterSalePollDeps) -> None:
    message_id = f"poll-as-{aftersale_id}-{int(window_end.timestamp())}"
    deps.inbox.send(InboxMessage(delivery_id=message_id, message_id=message_id, channel=channel, topic=POLL_TOPIC,
                                 archive_key="", received_at=iso(deps.now()),
                                 document={"aftersale_id": aftersale_id}))
