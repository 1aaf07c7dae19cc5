"""In-memory twins of intake's ports (archive, inbox, quarantine, credentials), of replay's (archive listing,
quarantine records, dead-letter queues) and of the channels' (poll cursors, API clients); `tests/contracts` holds
them to the boto3 adapters' behaviour."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from ocp.domain.clock import utc_now
from ocp.domain.errors import ChannelNotConfigured, ConcurrentModification
from ocp.domain.order.inbox import InboxMessage, QuarantineRecord
from ocp.domain.order.polling import PollCursor
from ocp.domain.order.replay import ArchivedObject, DeadLetterRedrive, QuarantineEntry, QuarantineState

if TYPE_CHECKING:
    from ocp.channels.base import ChannelApi, ChannelCredentials


class MemoryRawArchive:
    def __init__(self, now: Callable[[], datetime] = utc_now) -> None:
        self.objects: dict[str, bytes] = {}
        self.stored_at: dict[str, datetime] = {}
        self._now = now

    def put(self, key: str, content: bytes) -> None:
        self.objects[key] = content
        self.stored_at[key] = self._now()

    def get(self, key: str) -> bytes:
        return self.objects[key]

    def list_keys(self, prefix: str, start_after: str | None, limit: int) -> list[ArchivedObject]:
        keys = sorted(k for k in self.objects if k.startswith(prefix) and (start_after is None or k > start_after))
        return [ArchivedObject(key=k, stored_at=self.stored_at[k]) for k in keys[:limit]]


class MemoryInbox:
    def __init__(self) -> None:
        self.messages: list[InboxMessage] = []

    def send(self, message: InboxMessage) -> None:
        self.messages.append(message)


class MemoryQuarantine:
    def __init__(self) -> None:
        self.records: dict[str, QuarantineRecord] = {}
        self.redriven: dict[str, str] = {}

    def put(self, record: QuarantineRecord) -> None:
        # Like the table's put_item: a record quarantined again is open again.
        self.records[record.quarantine_id] = record
        self.redriven.pop(record.quarantine_id, None)

    def get(self, quarantine_id: str) -> QuarantineEntry | None:
        record = self.records.get(quarantine_id)
        if record is None:
            return None
        return QuarantineEntry(**record.model_dump(exclude={"quarantine_id"}),
                               redriven_at=self.redriven.get(quarantine_id))

    def page(self, channel: str | None, state: QuarantineState, limit: int,
             token: str | None) -> tuple[list[QuarantineEntry], str | None]:
        ids = sorted(i for i in self.records if token is None or i > token)
        found: list[QuarantineEntry] = []
        for position, quarantine_id in enumerate(ids):
            entry = self.get(quarantine_id)
            assert entry is not None
            if (channel is None or entry.channel == channel) and _in_state(entry, state):
                found.append(entry)
            if len(found) == limit:
                return found, (quarantine_id if position < len(ids) - 1 else None)
        return found, None

    def mark_redriven(self, quarantine_id: str, seen_at: str, at: str) -> bool:
        record = self.records.get(quarantine_id)
        if record is None or record.at != seen_at or quarantine_id in self.redriven:
            return False
        self.redriven[quarantine_id] = at
        return True


def _in_state(entry: QuarantineEntry, state: QuarantineState) -> bool:
    return state == "all" or (entry.redriven_at is None) == (state == "open")


class MemoryDeadLetters:
    """Each queue's dead letters, moved back to the queue's own list on a redrive."""

    def __init__(self, queue_ids: list[str]) -> None:
        self.dead: dict[str, list[str]] = {q: [] for q in queue_ids}
        self.live: dict[str, list[str]] = {q: [] for q in queue_ids}

    def queues(self) -> list[str]:
        return sorted(self.dead)

    def redrive(self, queue: str) -> DeadLetterRedrive:
        moved, self.dead[queue] = self.dead[queue], []
        self.live[queue] += moved
        return DeadLetterRedrive(queue=queue, dlq=f"{queue}-dlq", moved=len(moved), waiting=len(moved))


class StaticCredentials:
    def __init__(self, by_channel: dict[str, ChannelCredentials]) -> None:
        self._by_channel = by_channel

    def credentials(self, channel: str) -> ChannelCredentials:
        if channel not in self._by_channel:
            raise ChannelNotConfigured(f"no signing secret configured for channel {channel!r}")
        return self._by_channel[channel]


# ---- channels ---------------------------------------------------------------------------------


class MemoryCursorStore:
    def __init__(self) -> None:
        self.cursors: dict[str, PollCursor] = {}
        self._lock = threading.Lock()

    def get(self, channel: str) -> PollCursor | None:
        return self.cursors.get(channel)

    def put(self, cursor: PollCursor, expected_version: int) -> None:
        with self._lock:
            current = self.cursors.get(cursor.channel)
            if (current.version if current else 0) != expected_version:
                raise ConcurrentModification(f"poll cursor of {cursor.channel} moved since version {expected_version}")
            self.cursors[cursor.channel] = cursor


class StaticChannelApis:
    """Hands out the given API clients; any other channel is not configured."""

    def __init__(self, by_channel: dict[str, ChannelApi]) -> None:
        self._by_channel = by_channel

    def api(self, channel: str) -> ChannelApi:
        if channel not in self._by_channel:
            raise ChannelNotConfigured(f"no API configured for channel {channel!r}")
        return self._by_channel[channel]
