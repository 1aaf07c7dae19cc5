"""The small interfaces the domain's shell talks through. Each has a boto3 adapter and an in-memory twin."""

from __future__ import annotations

from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict

from ocp.channels.base import ChannelCredentials
from ocp.domain.order import Order


class InboxMessage(BaseModel):
    """What the webhook enqueues for the order processor: a pointer to the archived delivery and its body."""

    model_config = ConfigDict(frozen=True)

    delivery_id: str
    message_id: str
    channel: str
    topic: str | None = None
    archive_key: str
    received_at: str
    document: dict[str, Any] | None = None
    """The channel document inline; None when too big for SQS, then it is read from the archive."""


class QuarantineRecord(BaseModel):
    """A delivery or message OCP could not use, kept with the reason for an operator and for replay."""

    model_config = ConfigDict(frozen=True)

    delivery_id: str
    message_id: str | None = None
    channel: str
    stage: str
    reason: str
    details: list[str] = []
    archive_key: str | None = None
    at: str

    @property
    def quarantine_id(self) -> str:
        return f"{self.delivery_id}#{self.message_id or self.stage}"


class OrderStore(Protocol):
    def get(self, order_id: str) -> Order | None: ...

    def find_by_channel_order(self, channel: str, channel_order_id: str) -> Order | None: ...

    def create(self, order: Order) -> None:
        """Store a new order; raise `OrderExists` when one with its id is stored already."""

    def replace(self, order: Order, expected_revision: int) -> None:
        """Store `order` if the stored one still has `expected_revision`, else `ConcurrentModification`."""


class RawArchive(Protocol):
    def put(self, key: str, content: bytes) -> None: ...

    def get(self, key: str) -> bytes: ...


class Inbox(Protocol):
    def send(self, message: InboxMessage) -> None: ...


class Quarantine(Protocol):
    def put(self, record: QuarantineRecord) -> None: ...


class CredentialsProvider(Protocol):
    def credentials(self, channel: str) -> ChannelCredentials:
        """Raise `ChannelNotConfigured` when no secret is configured for the channel."""
