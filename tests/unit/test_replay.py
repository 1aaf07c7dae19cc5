"""Replay and redrive over the in-memory twins: archived deliveries through intake again (by key, by channel and
time range, page by page), quarantined messages from their archived delivery, dead letters back to their queue."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from infra.local.demo import shopify_headers
from ocp.adapters.memory.intake import (
    MemoryDeadLetters,
    MemoryInbox,
    MemoryQuarantine,
    MemoryRawArchive,
    StaticCredentials,
)
from ocp.adapters.memory.orders import MemoryOrderStore
from ocp.channels.base import ChannelCredentials
from ocp.channels.douyin import DouyinAdapter
from ocp.channels.registry import adapter_for
from ocp.domain.errors import ChannelNotConfigured, InvalidQuery, UnknownChannel
from ocp.domain.order.inbox import QuarantineRecord
from ocp.domain.order.replay import QuarantineRecordNotFound, UnknownQueue, decode_token, delivery_key
from ocp.services.order.intake import IntakeDeps, accept_delivery
from ocp.services.order.processing import Outcome, ProcessingDeps, process_message
from ocp.services.order.replay import (
    ReplayDeps,
    list_quarantine,
    redrive_dlq,
    redrive_quarantined,
    replay_keys,
    replay_range,
)
from tests.channel_support import CREDENTIALS, delivery, douyin_headers, douyin_push
from tests.support import fixture_bytes

T0 = datetime(2026, 11, 11, 4, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def _deps(credentials: dict[str, ChannelCredentials] | None = None) -> tuple[ReplayDeps, Clock]:
    clock = Clock()
    archive, quarantine = MemoryRawArchive(now=clock), MemoryQuarantine()
    intake = IntakeDeps(credentials=StaticCredentials(dict(CREDENTIALS) if credentials is None else credentials),
                        archive=archive, inbox=MemoryInbox(), quarantine=quarantine)
    return ReplayDeps(intake=intake, listing=archive, quarantine=quarantine, now=clock,
                      dead_letters=MemoryDeadLetters(["orders-inbox", "dispatch"])), clock


def _inbox(deps: ReplayDeps) -> MemoryInbox:
    inbox = deps.intake.inbox
    assert isinstance(inbox, MemoryInbox)
    return inbox


def _shopify(deps: ReplayDeps, clock: Clock, n: int, at: datetime) -> str:
    """A Shopify delivery received (and archived) at `at`; its archive key."""
    clock.now = at
    body = fixture_bytes("channels/shopify/orders_create.cn_discounted.json")
    headers = shopify_headers(body, CREDENTIALS["shopify"].secret, event_id=f"evt-{n}") | {
        "X-Shopify-Webhook-Id": f"hook-{n}"}
    accepted = accept_delivery(delivery("shopify", body, headers, received_at=at), adapter_for("shopify"), deps.intake)
    return accepted.archive_key


# ---- archived deliveries ----------------------------------------------------------------------------


def test_a_replayed_key_is_enqueued_like_the_webhook_did_with_the_same_delivery_id() -> None:
    deps, clock = _deps()
    key = _shopify(deps, clock, 1, T0)
    first = _inbox(deps).messages[0]
    answer = replay_keys(deps, [key])
    assert (answer.replayed, answer.messages, answer.failed) == (1, 1, [])
    again = _inbox(deps).messages[1]
    assert again == first  # same delivery id, message id, received time: the processor sees a duplicate


def test_an_unverified_delivery_replays_once_the_channel_has_its_secret() -> None:
    # Given a Douyin push received while Douyin had no secret: kept under unverified/, nothing enqueued
    without = {ch: c for ch, c in CREDENTIALS.items() if ch != "douyin"}
    deps, _ = _deps(without)
    body = douyin_push({"tag": "101", "msg_id": "m-1", "data": {"p_id": 6920000000123456789, "pay_amount": 1}})
    with pytest.raises(ChannelNotConfigured):
        accept_delivery(delivery("douyin", body, douyin_headers(body)), DouyinAdapter(), deps.intake)
    [key] = deps.intake.archive.objects  # type: ignore[attr-defined]
    assert key.startswith("unverified/douyin/")
    # When replayed still without a secret, it fails with the reason and nothing is enqueued
    refused = replay_keys(deps, [key])
    assert refused.replayed == 0 and [f.code for f in refused.failed] == ["channel_not_configured"]
    assert _inbox(deps).messages == []
    # When the secret is set and it is replayed: verified, archived under raw/, enqueued once
    deps.intake.credentials._by_channel["douyin"] = CREDENTIALS["douyin"]  # type: ignore[attr-defined]
    answer = replay_keys(deps, [key])
    assert (answer.replayed, answer.messages) == (1, 1)
    assert f"raw/douyin/{key.split('/')[-1]}" in deps.intake.archive.objects  # type: ignore[attr-defined]


def test_a_delivery_signed_with_another_secret_is_refused_on_replay() -> None:
    deps, clock = _deps()
    key = _shopify(deps, clock, 1, T0)
    deps.intake.credentials._by_channel["shopify"] = ChannelCredentials(secret="rotated")  # type: ignore[attr-defined]
    answer = replay_keys(deps, [key])
    assert answer.replayed == 0 and [f.code for f in answer.failed] == ["signature_invalid"]


def test_keys_that_are_not_deliveries_or_not_archived_fail_with_a_reason() -> None:
    deps, _ = _deps()
    answer = replay_keys(deps, ["polled/jd/1.json", "raw/shopify/nope.json"])
    assert [(f.key, f.code) for f in answer.failed] == [("polled/jd/1.json", "not_a_delivery"),
                                                        ("raw/shopify/nope.json", "not_found")]
    with pytest.raises(InvalidQuery):
        replay_keys(deps, [])


def test_a_time_range_replays_only_deliveries_received_in_it_page_by_page() -> None:
    # Given five Shopify deliveries a minute apart
    deps, clock = _deps()
    keys = [_shopify(deps, clock, n, T0 + timedelta(minutes=n)) for n in range(5)]
    _inbox(deps).messages.clear()
    # When minutes 1..3 (until exclusive: 1, 2, 3) are replayed two keys per page
    replayed, pages, token = 0, 0, None
    while True:
        answer = replay_range(deps, "shopify", T0 + timedelta(minutes=1), T0 + timedelta(minutes=4), limit=2,
                              token=token)
        replayed, pages, token = replayed + answer.replayed, pages + 1, answer.next_token
        assert answer.examined <= 2 and answer.failed == []
        if token is None:
            break
    # Then exactly those three were enqueued, over three pages of at most two keys
    assert replayed == 3 and pages == 3
    assert sorted(m.delivery_id for m in _inbox(deps).messages) == ["hook-1", "hook-2", "hook-3"]
    assert [delivery_key(k) is not None for k in keys] == [True] * 5


def test_a_range_covers_the_unverified_deliveries_too_and_rejects_bad_input() -> None:
    deps, clock = _deps()
    _shopify(deps, clock, 1, T0)
    deps.intake.archive.put("unverified/shopify/hook-9.json",
                            deps.intake.archive.get("raw/shopify/hook-1.json").replace(b"hook-1", b"hook-9"))
    answer = replay_range(deps, "shopify", T0, T0 + timedelta(hours=1), limit=10)
    assert answer.examined == 2 and answer.replayed == 2 and answer.next_token is None
    with pytest.raises(UnknownChannel):
        replay_range(deps, "ebay", T0, T0 + timedelta(hours=1))
    with pytest.raises(InvalidQuery):
        replay_range(deps, "shopify", T0, T0)
    with pytest.raises(InvalidQuery):
        replay_range(deps, "shopify", T0, T0 + timedelta(hours=1), limit=101)
    with pytest.raises(InvalidQuery):
        replay_range(deps, "shopify", T0, T0 + timedelta(hours=1), token="cmF3L2pkL3guanNvbg")  # raw/jd/x.json
    assert decode_token(None) is None


# ---- the quarantine ---------------------------------------------------------------------------------


def _pull_quarantined(deps: ReplayDeps) -> str:
    """A thin Douyin push the processor could not complete (pulls not configured): quarantined at `pull`."""
    body = douyin_push({"tag": "101", "msg_id": "m-7", "data": {"p_id": 6920000000123456789, "pay_amount": 1}})
    accept_delivery(delivery("douyin", body, douyin_headers(body)), DouyinAdapter(), deps.intake)
    [message] = _inbox(deps).messages
    processing = ProcessingDeps(orders=MemoryOrderStore(), archive=deps.intake.archive,
                                quarantine=deps.intake.quarantine, now=deps.now)
    assert process_message(message, DouyinAdapter(), processing).outcome == Outcome.quarantined
    _inbox(deps).messages.clear()
    [quarantine_id] = deps.intake.quarantine.records  # type: ignore[attr-defined]
    return str(quarantine_id)


def test_a_quarantined_message_is_redriven_once_and_a_repeat_changes_nothing() -> None:
    deps, clock = _deps()
    quarantine_id = _pull_quarantined(deps)
    [listed] = list_quarantine(deps, "douyin").records
    assert (listed.quarantine_id, listed.stage, listed.redriven_at) == (quarantine_id, "pull", None)
    clock.now = T0 + timedelta(hours=1)
    # When redriven: the message goes to the inbox again as the webhook sent it, the record is marked
    answer = redrive_quarantined(deps, quarantine_id)
    assert (answer.outcome, answer.messages, answer.redriven_at) == ("redriven", 1, "2026-11-11T05:00:00Z")
    [message] = _inbox(deps).messages
    assert (message.message_id, message.document["data"]["pay_amount"]) == ("m-7", 1)  # type: ignore[index]
    assert list_quarantine(deps).records == []
    assert [r.quarantine_id for r in list_quarantine(deps, state="redriven").records] == [quarantine_id]
    # When redriven again: nothing changes
    again = redrive_quarantined(deps, quarantine_id)
    assert again.outcome == "already_redriven" and len(_inbox(deps).messages) == 1


def test_a_redriven_message_quarantined_again_is_open_again_with_the_new_reason() -> None:
    deps, clock = _deps()
    quarantine_id = _pull_quarantined(deps)
    redrive_quarantined(deps, quarantine_id)
    record = deps.intake.quarantine.records[quarantine_id]  # type: ignore[attr-defined]
    clock.now = T0 + timedelta(hours=2)
    deps.intake.quarantine.put(record.model_copy(update={"reason": "still no API", "at": "2026-11-11T06:00:00Z"}))
    [entry] = list_quarantine(deps).records
    assert (entry.reason, entry.redriven_at) == ("still no API", None)


def test_a_message_still_broken_at_intake_stays_quarantined() -> None:
    deps, _ = _deps()
    body = douyin_push({"tag": "105", "msg_id": "b", "data": "{broken"})
    accept_delivery(delivery("douyin", body, douyin_headers(body)), DouyinAdapter(), deps.intake)
    [quarantine_id] = deps.intake.quarantine.records  # type: ignore[attr-defined]
    answer = redrive_quarantined(deps, quarantine_id)
    assert (answer.outcome, answer.reason) == ("still_failing", "data is not JSON")
    assert [r.quarantine_id for r in list_quarantine(deps).records] == [quarantine_id]
    with pytest.raises(QuarantineRecordNotFound):
        redrive_quarantined(deps, "nope#x")


def test_the_quarantine_pages_by_channel() -> None:
    deps, _ = _deps()
    for n in range(5):
        deps.intake.quarantine.put(QuarantineRecord(delivery_id=f"d{n}", channel="jd" if n % 2 else "shopify",
                                                    stage="mapping", reason="r", at="2026-11-11T04:00:00Z"))
    first = list_quarantine(deps, "shopify", limit=2)
    assert [r.delivery_id for r in first.records] == ["d0", "d2"] and first.next_token
    rest = list_quarantine(deps, "shopify", limit=2, token=first.next_token)
    assert [r.delivery_id for r in rest.records] == ["d4"] and rest.next_token is None


# ---- dead-letter queues -----------------------------------------------------------------------------


def test_a_dead_letter_queue_goes_back_to_its_queue() -> None:
    deps, _ = _deps()
    dead = deps.dead_letters
    assert isinstance(dead, MemoryDeadLetters)
    dead.dead["orders-inbox"] += ["m1", "m2"]
    answer = redrive_dlq(deps, "orders-inbox")
    assert (answer.moved, answer.dlq) == (2, "orders-inbox-dlq")
    assert dead.live["orders-inbox"] == ["m1", "m2"] and dead.dead["orders-inbox"] == []
    assert redrive_dlq(deps, "orders-inbox").moved == 0
    with pytest.raises(UnknownQueue):
        redrive_dlq(deps, "nope")

