"""In-memory twins of intake's ports (archive, inbox, quarantine, credentials) and of the channels' (poll cursors,
API clients); `tests/contracts` holds them to the boto3 adapters' behaviour."""

from __future__ import annotations

import threading

from ocp.channels.base import ChannelApi, ChannelCredentials
from ocp.domain.errors import ChannelNotConfigured, ConcurrentModification
from ocp.ports import InboxMessage, PollCursor, QuarantineRecord


class MemoryRawArchive:
    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}

    def put(self, key: str, content: bytes) -> None:
        self.objects[key] = content

    def get(self, key: str) -> bytes:
        return self.objects[key]


class MemoryInbox:
    def __init__(self) -> None:
        self.messages: list[InboxMessage] = []

    def send(self, message: InboxMessage) -> None:
        self.messages.append(message)


class MemoryQuarantine:
    def __init__(self) -> None:
        self.records: dict[str, QuarantineRecord] = {}

    def put(self, record: QuarantineRecord) -> None:
        self.records[record.quarantine_id] = record


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
