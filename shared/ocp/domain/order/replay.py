"""Replay and redrive, the pure part: which archive keys hold a delivery, page tokens, the refusals, and what the
replay ports answer with (`ArchiveListing`, `QuarantineStore`, `DeadLetters`)."""

import base64
import binascii
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pydantic import ConfigDict

from ocp.base_model import OcpModel
from ocp.domain.errors import DomainError, InvalidQuery
from ocp.domain.order.inbox import QuarantineRecord

DELIVERY_PREFIXES = ("raw", "unverified")
"""Archive prefixes holding a delivery's envelope: verified on receipt, or kept while the channel had no secret."""
_KEY = re.compile(r"(?P<prefix>raw|unverified)/(?P<channel>[a-z0-9_-]+)/(?P<delivery>[^/]+)\.json")
MAX_PAGE = 100
"""The most keys or records one request examines: a page stays well inside the function's timeout."""


class QuarantineRecordNotFound(DomainError):
    code = "quarantine_record_not_found"


class UnknownQueue(DomainError):
    code = "unknown_queue"


class DlqRedriveRefused(DomainError):
    """SQS refused to start moving the dead letters back (e.g. a move task is already running on that queue)."""

    code = "dlq_redrive_refused"


class QuarantineEntry(QuarantineRecord):
    """A stored quarantine record as operators list it: open until redriven (`redriven_at`); quarantined again, it
    is open again with the new reason."""

    redriven_at: str | None = None


QuarantineState = Literal["open", "redriven", "all"]


class ArchivedObject(OcpModel):
    model_config = ConfigDict(frozen=True)

    key: str
    stored_at: datetime
    """When the object was last written (S3 `LastModified`): never before the delivery was received."""


class DeadLetterRedrive(OcpModel):
    """What `POST /dlq:redrive` started or did."""

    model_config = ConfigDict(frozen=True)

    queue: str
    dlq: str
    task: str | None = None
    """The SQS message move task's handle (AWS: the move runs in the background)."""
    moved: int | None = None
    """Messages moved back now (the local runtime, whose embedded SQS has no move tasks)."""
    waiting: int | None = None
    """Messages in the dead-letter queue when the redrive started (approximate)."""


@dataclass(frozen=True)
class DeliveryKey:
    prefix: str
    channel: str
    delivery_id: str


def delivery_key(key: str) -> DeliveryKey | None:
    """`raw/<channel>/<delivery id>.json` or `unverified/…`; None for any other key (a polled document, say)."""
    match = _KEY.fullmatch(key)
    if match is None:
        return None
    return DeliveryKey(match["prefix"], match["channel"], match["delivery"])


def channel_prefixes(channel: str) -> list[str]:
    """Where a channel's deliveries are archived, in key order (`raw/` sorts before `unverified/`)."""
    return [f"{prefix}/{channel}/" for prefix in DELIVERY_PREFIXES]


def encode_token(position: str) -> str:
    return base64.urlsafe_b64encode(position.encode("utf-8")).decode().rstrip("=")


def decode_token(token: str | None) -> str | None:
    if not token:
        return None
    try:
        return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidQuery("next_token is not a token this API handed out", details={"field": "next_token"}) from None


def page_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidQuery(f"limit must be between 1 and {MAX_PAGE}", details={"field": "limit"})
    return limit
