"""Replay and redrive: archived deliveries through intake again, quarantined messages from their archived delivery,
dead letters back to their queue. Each lands exactly once: a replay keeps the delivery's id and received time, so
the processor's idempotent write makes an order that exists a `duplicate`, never a second reservation."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from pydantic import ConfigDict

from ocp.base_model import OcpModel
from ocp.channels.wire.registry import wire_for
from ocp.domain.clock import iso, parse_instant
from ocp.domain.errors import DomainError, InvalidQuery, MalformedDelivery
from ocp.domain.order.inbox import InboxMessage
from ocp.domain.order.replay import (
    MAX_PAGE,
    QuarantineEntry,
    QuarantineRecordNotFound,
    UnknownQueue,
    channel_prefixes,
    decode_token,
    delivery_key,
    encode_token,
    page_limit,
)
from ocp.services.order.intake import POLLED_PREFIX, IntakeDeps, accept_delivery, delivery_from_envelope, enqueue

if TYPE_CHECKING:
    from ocp.channels.base import ChannelMessage, ChannelWire, Delivery
    from ocp.domain.order.replay import ArchivedObject, DeadLetterRedrive, QuarantineState
    from ocp.ports import ArchiveListing, DeadLetters, QuarantineStore


@dataclass(frozen=True)
class ReplayDeps:
    intake: IntakeDeps
    """The webhook's own ports: a replay is verified, archived and enqueued exactly as a fresh delivery."""
    listing: ArchiveListing
    quarantine: QuarantineStore
    now: Callable[[], datetime]
    dead_letters: DeadLetters | None = None


class ReplayFailure(OcpModel):
    model_config = ConfigDict(frozen=True)

    key: str
    code: str
    reason: str


class ReplayAnswer(OcpModel):
    """`POST /deliveries:replay`: what was sent on again, what could not be, and where the next page starts."""

    replayed: int = 0
    """Deliveries verified and enqueued again (each message with its original delivery id)."""
    messages: int = 0
    """Messages enqueued (a Douyin push may hold several)."""
    quarantined: int = 0
    """Messages of replayed deliveries quarantined again at intake."""
    examined: int = 0
    """Archive keys looked at on this page (a time range replays only those received in it)."""
    failed: list[ReplayFailure] = []
    next_token: str | None = None
    """Pass it back (same channel and range) for the next page; None: the range is done."""


class QuarantinePage(OcpModel):
    records: list[QuarantineEntry]
    next_token: str | None = None


class RedriveAnswer(OcpModel):
    """`POST /quarantine/{id}/redrive`."""

    quarantine_id: str
    outcome: Literal["redriven", "already_redriven", "still_failing"]
    messages: int = 0
    """Messages enqueued again (0 unless `redriven`)."""
    reason: str | None = None
    """Why it is still failing."""
    redriven_at: str | None = None


# ---- archived deliveries --------------------------------------------------------------------------


def replay_keys(deps: ReplayDeps, keys: list[str]) -> ReplayAnswer:
    """Replay these archive keys (`raw/…` or `unverified/…`), each verified with its channel's current secret."""
    if not keys:
        raise InvalidQuery('give "keys" or "channel", "since" and "until"', details={"field": "keys"})
    if len(keys) > MAX_PAGE:
        raise InvalidQuery(f"at most {MAX_PAGE} keys per request", details={"field": "keys"})
    answer = ReplayAnswer()
    for key in dict.fromkeys(keys):
        answer.examined += 1
        if delivery_key(key) is None:
            answer.failed.append(ReplayFailure(key=key, code="not_a_delivery",
                                               reason="not a delivery's archive key (raw/<channel>/<id>.json or "
                                                      "unverified/<channel>/<id>.json)"))
            continue
        try:
            raw = deps.intake.archive.get(key)
        except KeyError:
            answer.failed.append(ReplayFailure(key=key, code="not_found", reason="no such object in the archive"))
            continue
        _replay_one(deps, key, raw, answer)
    return answer


def replay_range(deps: ReplayDeps, channel: str, since: datetime, until: datetime, limit: int = 50,
                 token: str | None = None) -> ReplayAnswer:
    """Replay one page of `channel`'s archived deliveries received in [since, until): at most `limit` keys are
    examined per call (`raw/<channel>/` then `unverified/<channel>/`, in key order); `next_token` continues."""
    wire_for(channel)  # UnknownChannel (404) for a channel OCP does not speak
    limit = page_limit(limit)
    if since >= until:
        raise InvalidQuery("since must be before until", details={"field": "since"})
    start = decode_token(token)
    prefixes = channel_prefixes(channel)
    if start is not None and not any(start.startswith(p) for p in prefixes):
        raise InvalidQuery("next_token belongs to another channel", details={"field": "next_token"})
    listed: list[ArchivedObject] = []
    for prefix in prefixes:
        if start is not None and start >= prefix and not start.startswith(prefix):
            continue  # an earlier prefix, finished on a previous page
        after = start if start is not None and start.startswith(prefix) else None
        listed += deps.listing.list_keys(prefix, after, limit - len(listed))
        if len(listed) >= limit:
            break
    answer = ReplayAnswer(examined=len(listed))
    for item in listed:
        if item.stored_at < since:
            continue  # written before the range began, so received before it too: not worth reading
        raw = deps.intake.archive.get(item.key)
        try:
            received = parse_instant(json.loads(raw)["received_at"])
        except (ValueError, KeyError, TypeError):
            answer.failed.append(ReplayFailure(key=item.key, code="malformed_envelope",
                                               reason="the archived envelope has no readable received_at"))
            continue
        if since <= received < until:
            _replay_one(deps, item.key, raw, answer)
    answer.next_token = encode_token(listed[-1].key) if len(listed) >= limit else None
    return answer


def _replay_one(deps: ReplayDeps, key: str, raw: bytes, answer: ReplayAnswer) -> None:
    try:
        delivery = delivery_from_envelope(raw)
    except (ValueError, KeyError, TypeError):
        answer.failed.append(ReplayFailure(key=key, code="malformed_envelope",
                                           reason="the archived envelope cannot be read back as a delivery"))
        return
    try:
        # Verified with the channel's current secret, archived under raw/, split and enqueued: a fresh webhook.
        accepted = accept_delivery(delivery, wire_for(delivery.channel.value), deps.intake)
    except DomainError as exc:
        answer.failed.append(ReplayFailure(key=key, code=exc.code, reason=exc.message))
        return
    answer.replayed += 1
    answer.messages += accepted.messages
    answer.quarantined += accepted.quarantined


# ---- the quarantine -------------------------------------------------------------------------------


def list_quarantine(deps: ReplayDeps, channel: str | None = None, state: QuarantineState = "open", limit: int = 50,
                    token: str | None = None) -> QuarantinePage:
    if channel is not None:
        wire_for(channel)
    records, next_token = deps.quarantine.page(channel, state, page_limit(limit), token)
    return QuarantinePage(records=records, next_token=next_token)


def redrive_quarantined(deps: ReplayDeps, quarantine_id: str) -> RedriveAnswer:
    """Run a quarantined message again from its archived delivery: split again (a fixed adapter now reads it) and
    enqueued as the webhook would; the record is then marked redriven (kept, for the audit trail). If the processor
    quarantines it again, the record is open again with the new reason. A repeat of a redriven record changes
    nothing."""
    entry = deps.quarantine.get(quarantine_id)
    if entry is None:
        raise QuarantineRecordNotFound(f"no quarantine record {quarantine_id!r}")
    if entry.redriven_at is not None:
        return RedriveAnswer(quarantine_id=quarantine_id, outcome="already_redriven", redriven_at=entry.redriven_at)
    try:
        sent = _send_again(deps, entry)
    except DomainError as exc:
        return RedriveAnswer(quarantine_id=quarantine_id, outcome="still_failing", reason=exc.message)
    at = iso(deps.now())
    if deps.quarantine.mark_redriven(quarantine_id, seen_at=entry.at, at=at):
        return RedriveAnswer(quarantine_id=quarantine_id, outcome="redriven", messages=sent, redriven_at=at)
    now = deps.quarantine.get(quarantine_id)
    if now is not None and now.redriven_at is not None:  # another redrive of the same record got there first
        return RedriveAnswer(quarantine_id=quarantine_id, outcome="already_redriven", redriven_at=now.redriven_at)
    return RedriveAnswer(quarantine_id=quarantine_id, outcome="still_failing", messages=sent,
                         reason=now.reason if now is not None else "the record disappeared")


def _send_again(deps: ReplayDeps, entry: QuarantineEntry) -> int:
    key = entry.archive_key
    if not key:
        raise InvalidQuery("the record names no archived delivery to run again")
    try:
        raw = deps.intake.archive.get(key)
    except KeyError:
        raise InvalidQuery(f"{key} is not in the archive") from None
    if key.startswith(f"{POLLED_PREFIX}/"):
        # A polled document (the channel's own): the processor reads it from the archive by key.
        deps.intake.inbox.send(InboxMessage(delivery_id=entry.delivery_id, message_id=entry.message_id or "",
                                            channel=entry.channel, archive_key=key, received_at=entry.at))
        return 1
    delivery = delivery_from_envelope(raw)
    messages = _messages_of(delivery, wire_for(entry.channel), entry)
    enqueue(delivery, entry.delivery_id, key, messages, deps.intake)
    return len(messages)


def _messages_of(delivery: Delivery, adapter: ChannelWire, entry: QuarantineEntry) -> list[ChannelMessage]:
    """The quarantined message (every message, for a delivery quarantined whole) as the adapter splits it now.
    The archive key is under raw/: it was verified when received, so it is not verified again here."""
    messages = adapter.messages(delivery)  # MalformedDelivery: still unreadable
    if entry.message_id is not None:
        messages = [m for m in messages if m.message_id == entry.message_id]
        if not messages:
            raise InvalidQuery(f"message {entry.message_id} is not in {entry.archive_key}")
    broken = [m.problem for m in messages if m.problem is not None]
    if broken:
        raise MalformedDelivery("; ".join(broken))
    return messages


# ---- dead-letter queues ---------------------------------------------------------------------------


def redrive_dlq(deps: ReplayDeps, queue: str) -> DeadLetterRedrive:
    if deps.dead_letters is None or queue not in deps.dead_letters.queues():
        known = deps.dead_letters.queues() if deps.dead_letters is not None else []
        raise UnknownQueue(f"no redrivable queue {queue!r}", details={"known": known})
    return deps.dead_letters.redrive(queue)
