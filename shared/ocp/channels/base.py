"""What every channel adapter does: verify a delivery, split it into messages, map documents to orders."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict

from ocp.domain.errors import MalformedDelivery
from ocp.domain.order import Channel, Order


class ChannelCredentials(BaseModel):
    model_config = ConfigDict(frozen=True)

    secret: str
    app_key: str | None = None


class Delivery(BaseModel):
    """One HTTP delivery from a channel, exactly as received. Header names are lower-cased."""

    model_config = ConfigDict(frozen=True)

    channel: Channel
    headers: dict[str, str]
    query: dict[str, str] = {}
    body: bytes
    received_at: datetime

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


class ChannelMessage(BaseModel):
    """One unit of work inside a delivery: a full order document (or, later, a thin event to pull)."""

    model_config = ConfigDict(frozen=True)

    message_id: str
    topic: str | None = None
    document: dict[str, Any]


class Ack(BaseModel):
    """The response body a channel expects when a delivery was accepted."""

    status_code: int = 200
    body: dict[str, Any] = {}


class ChannelAdapter(Protocol):
    channel: Channel

    def verify(self, delivery: Delivery, credentials: ChannelCredentials) -> None:
        """Raise `SignatureInvalid` unless the delivery is signed exactly as the channel signs."""

    def delivery_id(self, delivery: Delivery) -> str:
        """A stable id for the delivery: a retry of the same delivery gets the same id."""

    def messages(self, delivery: Delivery) -> list[ChannelMessage]:
        """Split a verified delivery into messages; raise `MalformedDelivery` when the body is unreadable."""

    def ack(self) -> Ack:
        """What to answer the channel once the delivery is durably stored."""

    def to_order(self, document: dict[str, Any]) -> Order:
        """Map a full channel order document; raise `UnmappableDocument` with every reason."""


def body_digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def parse_json_object(body: bytes) -> dict[str, Any]:
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MalformedDelivery(f"body is not JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise MalformedDelivery(f"body is JSON {type(document).__name__}, expected an object")
    return document
