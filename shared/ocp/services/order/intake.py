"""Accepting a channel delivery: verify, archive raw, split, enqueue — nothing is acknowledged before it is stored."""

from __future__ import annotations

import base64
import json
from typing import TYPE_CHECKING, NamedTuple

from ocp.channels.base import Delivery
from ocp.domain.clock import iso
from ocp.domain.errors import ChannelNotConfigured, MalformedDelivery
from ocp.domain.order.inbox import InboxMessage, QuarantineRecord

if TYPE_CHECKING:
    from ocp.channels.aftersales.base import AfterSaleAdapter
    from ocp.channels.base import Ack, ChannelMessage, ChannelWire
    from ocp.ports import CredentialsProvider, Inbox, Quarantine, RawArchive

# SQS takes 256 KiB per message; bigger documents travel by reference to the archive.
INLINE_LIMIT_BYTES = 200_000
_PRIVATE_HEADERS = {"authorization", "cookie", "x-api-key"}
POLLED_PREFIX = "polled"
"""Archive prefix of documents a channel poller fetched (the object is the channel document itself)."""


class IntakeDeps(NamedTuple):
    credentials: CredentialsProvider
    archive: RawArchive
    inbox: Inbox
    quarantine: Quarantine
    aftersales: Inbox | None = None
    """Where the channels' after-sale pushes go (the returns' intake); None: they go to `inbox` like the rest."""


class Accepted(NamedTuple):
    delivery_id: str
    archive_key: str
    messages: int
    ack: Ack
    quarantined: int = 0


def archive_key(channel: str, delivery_id: str, prefix: str = "raw") -> str:
    return f"{prefix}/{channel}/{delivery_id}.json"


def accept_delivery(delivery: Delivery, adapter: ChannelWire, deps: IntakeDeps) -> Accepted:
    """Raises `SignatureInvalid` (nothing stored or enqueued), `ChannelNotConfigured` (kept under
    `unverified/` so it can be replayed once configured) or `MalformedDelivery` (kept and quarantined).
    A delivery with no order message (Douyin's URL check) is archived and acknowledged; a broken message
    inside a batch is quarantined on its own while the others are enqueued."""
    channel = delivery.channel.value
    delivery_id = adapter.delivery_id(delivery)
    try:
        adapter.verify(delivery, deps.credentials.credentials(channel))
    except ChannelNotConfigured:
        deps.archive.put(archive_key(channel, delivery_id, "unverified"), envelope(delivery, delivery_id))
        raise
    key = archive_key(channel, delivery_id)
    deps.archive.put(key, envelope(delivery, delivery_id))
    try:
        messages = adapter.messages(delivery)
    except MalformedDelivery as exc:
        deps.quarantine.put(QuarantineRecord(
            delivery_id=delivery_id, channel=channel, stage="intake", reason=exc.message,
            archive_key=key, at=iso(delivery.received_at),
        ))
        raise
    usable = [m for m in messages if m.problem is None]
    for message in messages:
        if message.problem is not None:
            # One broken message in a batch (Douyin pushes several) is kept for an operator; the rest go on.
            deps.quarantine.put(QuarantineRecord(
                delivery_id=delivery_id, message_id=message.message_id, channel=channel, stage="intake",
                reason=message.problem, archive_key=key, at=iso(delivery.received_at),
            ))
    enqueue(delivery, delivery_id, key, usable, deps)
    return Accepted(
        delivery_id=delivery_id, archive_key=key, messages=len(usable), ack=adapter.ack(),
        quarantined=len(messages) - len(usable),
    )


def enqueue(delivery: Delivery, delivery_id: str, key: str, messages: list[ChannelMessage], deps: IntakeDeps) -> None:
    """Send usable messages of an archived delivery on: after-sale pushes to the after-sales inbox, the rest to the
    orders inbox (a replay and a quarantine redrive send them exactly so)."""
    channel = delivery.channel.value
    inline = len(delivery.body) <= INLINE_LIMIT_BYTES
    aftersales = _aftersale_adapter(channel) if deps.aftersales is not None else None
    for message in messages:
        signal = aftersales.aftersale_signal(message.topic, message.document) if aftersales else None
        inbox = deps.aftersales if signal is not None and deps.aftersales is not None else deps.inbox
        inbox.send(InboxMessage(
            delivery_id=delivery_id, message_id=message.message_id, channel=channel, topic=message.topic,
            archive_key=key, received_at=iso(delivery.received_at),
            # An after-sale signal is a few ids: always inline, its reader needs no archive access.
            document=message.document if inline or signal is not None else None,
        ))


def envelope(delivery: Delivery, delivery_id: str) -> bytes:
    """The archived form: everything needed to verify and replay the delivery later."""
    try:
        body: dict[str, str] = {"body": delivery.body.decode("utf-8")}
    except UnicodeDecodeError:
        body = {"body_base64": base64.b64encode(delivery.body).decode()}
    return json.dumps({
        "channel": delivery.channel.value,
        "delivery_id": delivery_id,
        "received_at": iso(delivery.received_at),
        "headers": {k: v for k, v in delivery.headers.items() if k not in _PRIVATE_HEADERS},
        "query": delivery.query,
        **body,
    }, ensure_ascii=False).encode("utf-8")


def delivery_from_envelope(raw: bytes) -> Delivery:
    data = json.loads(raw)
    body = data["body"].encode("utf-8") if "body" in data else base64.b64decode(data["body_base64"])
    return Delivery.model_validate({
        "channel": data["channel"], "headers": data["headers"], "query": data.get("query") or {},
        "body": body, "received_at": data["received_at"],
    })


def _aftersale_adapter(channel: str) -> AfterSaleAdapter:
    # Imported here: only the webhook splits after-sale pushes off, and the processor and poller import this module
    # without needing the after-sale clients (about 25 ms of cold start).
    from ocp.channels.aftersales.registry import aftersale_adapter_for

    return aftersale_adapter_for(channel)
