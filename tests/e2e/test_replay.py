"""Replay and redrive through the local runtime over HTTP, each landing exactly once: an archived delivery replayed
onto its existing order is a duplicate (one reservation), a delivery kept under `unverified/` while its channel had
no secret becomes one order once the secret is set, a quarantined message is redriven after the fix, and a dead
letter goes back to its queue and is processed once."""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from aws_lambda_powertools.utilities import parameters

from infra import wiring
from infra.local import LocalPlatform, config
from infra.local.demo import shopify_headers
from ocp.channels.base import ChannelCredentials
from ocp.domain.clock import iso
from ocp.domain.order.inbox import InboxMessage
from tests.channel_support import douyin_headers, douyin_push, shop_order
from tests.fakes.channel_apis import FakeChannelApis
from tests.held_support import shopify_document

pytestmark = pytest.mark.e2e

DOUYIN_ORDER = "6920000000123456789"


def _credentials() -> dict[str, ChannelCredentials]:
    env = config.credentials_env()
    return {ch: ChannelCredentials(secret=env[config.secret_var(ch)], app_key=env[config.app_key_var(ch)])
            for ch in config.CHANNELS}


@pytest.fixture(scope="module")
def fake() -> Iterator[tuple[FakeChannelApis, str]]:
    fake = FakeChannelApis(credentials=_credentials())
    with fake.serve() as root:
        yield fake, root


@pytest.fixture(scope="module")
def platform() -> Iterator[LocalPlatform]:
    # No OCP_CHANNEL_API_URL_DOUYIN: thin Douyin pushes cannot be completed (the quarantine's "before the fix")
    with pytest.MonkeyPatch.context() as env:
        env.delenv("OCP_CHANNEL_API_URL_DOUYIN", raising=False)
        with LocalPlatform(port=0, visibility_timeout_s=2) as running:
            yield running


def _api(platform: LocalPlatform, method: str, path: str, body: Any = None) -> requests.Response:
    return requests.request(method, f"{platform.base_url}{path}", json=body, timeout=60,
                            headers={"x-api-key": platform.api_key, "x-ocp-actor": "e2e@shop.cn"})


def _webhook(platform: LocalPlatform, document: dict[str, Any], hook_id: str) -> requests.Response:
    body = json.dumps(document, ensure_ascii=False).encode()
    headers = shopify_headers(body, platform.credentials["OCP_CHANNEL_SECRET_SHOPIFY"]) | {
        "X-Shopify-Webhook-Id": hook_id}
    return requests.post(f"{platform.base_url}/webhooks/shopify", data=body, headers=headers, timeout=30)


def _order(platform: LocalPlatform, order_id: str) -> dict[str, Any] | None:
    response = _api(platform, "GET", f"/orders/{order_id}")
    if response.status_code == 404:
        return None
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def _received(order: dict[str, Any]) -> int:
    return sum(1 for e in order["timeline"] if (e["hop"], e["event"]) == ("ingest", "received"))


def _reserved(platform: LocalPlatform, sku: str) -> int:
    reserved: int = _api(platform, "GET", f"/inventory/{sku}").json()["totals"]["reserved"]
    return reserved


def _stock(platform: LocalPlatform, sku: str, on_hand: int) -> None:
    assert _api(platform, "PUT", f"/inventory/WH-GZ/{sku}", {"on_hand": on_hand, "version": 1}).ok


def test_an_archived_delivery_replayed_onto_its_order_is_a_duplicate_with_one_reservation(
    platform: LocalPlatform,
) -> None:
    # Given an order received by webhook and reserved
    _stock(platform, "TEA-REPLAY", 5)
    document = shopify_document(31, "TEA-REPLAY")
    assert _webhook(platform, document, "hook-31").status_code == 200
    platform.wait_idle(timeout=30)
    order_id = f"shopify-{document['id']}"
    before = _order(platform, order_id)
    assert before is not None and _reserved(platform, "TEA-REPLAY") == 1
    # When its archived delivery is replayed by key, then by channel and time range (page by page)
    by_key = _api(platform, "POST", "/deliveries:replay", {"keys": ["raw/shopify/hook-31.json"]})
    assert by_key.status_code == 200, by_key.text
    assert (by_key.json()["replayed"], by_key.json()["failed"]) == (1, [])
    now = datetime.now(UTC)
    window = {"channel": "shopify", "since": iso(now - timedelta(minutes=10)), "until": iso(now + timedelta(minutes=1)),
              "limit": 1}
    replayed, token, pages = 0, None, 0
    while True:
        page = _api(platform, "POST", "/deliveries%3Areplay", window | ({"next_token": token} if token else {}))
        assert page.status_code == 200, page.text
        replayed, token, pages = replayed + page.json()["replayed"], page.json()["next_token"], pages + 1
        if not token:
            break
    assert replayed >= 1 and pages >= 2
    platform.wait_idle(timeout=30)
    # Then the order is unchanged (the processor saw duplicates) and its unit is reserved once
    after = _order(platform, order_id)
    assert after is not None and after["revision"] == before["revision"] and _received(after) == 1
    assert _reserved(platform, "TEA-REPLAY") == 1


@pytest.fixture
def shopify_without_secret(platform: LocalPlatform, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Shopify's secret unset: no `OCP_CHANNEL_SECRET_SHOPIFY`, none in the `channel-secrets` secret. Yields the
    secret, to set it again."""
    secret = platform.credentials["OCP_CHANNEL_SECRET_SHOPIFY"]
    secrets = platform.client("secretsmanager")
    arn = platform.resources.resolve(wiring.Ref(wiring.CHANNEL_SECRETS.id, "arn"))
    stored = json.loads(secrets.get_secret_value(SecretId=arn)["SecretString"])
    secrets.put_secret_value(SecretId=arn, SecretString=json.dumps({k: v for k, v in stored.items() if k != "shopify"}))
    parameters.clear_caches()  # the functions cache the secret for 5 minutes
    monkeypatch.delenv("OCP_CHANNEL_SECRET_SHOPIFY")
    yield secret
    secrets.put_secret_value(SecretId=arn, SecretString=json.dumps(stored))
    parameters.clear_caches()


def test_an_unverified_delivery_replayed_once_the_secret_is_set_is_one_order(
    platform: LocalPlatform, shopify_without_secret: str, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a delivery received while Shopify had no secret: 503, kept under unverified/, nothing enqueued
    _stock(platform, "TEA-UNVERIFIED", 5)
    document = shopify_document(32, "TEA-UNVERIFIED")
    refused = _webhook(platform, document, "hook-32")
    assert refused.status_code == 503 and refused.json()["error"]["code"] == "channel_not_configured"
    platform.wait_idle(timeout=30)
    order_id = f"shopify-{document['id']}"
    assert _order(platform, order_id) is None
    key = "unverified/shopify/hook-32.json"
    # When replayed before the secret is set: still failing, with the reason
    early = _api(platform, "POST", "/deliveries:replay", {"keys": [key]}).json()
    assert early["replayed"] == 0 and [f["code"] for f in early["failed"]] == ["channel_not_configured"]
    # When the secret is set and it is replayed (twice)
    monkeypatch.setenv("OCP_CHANNEL_SECRET_SHOPIFY", shopify_without_secret)
    revisions = []
    for _ in range(2):
        answer = _api(platform, "POST", "/deliveries:replay", {"keys": [key]})
        assert answer.status_code == 200 and answer.json()["replayed"] == 1, answer.text
        platform.wait_idle(timeout=30)
        order = _order(platform, order_id)
        assert order is not None
        revisions.append(order["revision"])
    # Then it was verified, archived under raw/, and is one order (the second replay a duplicate), reserved once
    assert revisions[0] == revisions[1] and _received(order) == 1
    assert _reserved(platform, "TEA-UNVERIFIED") == 1
    raw = platform.resources.resolve(wiring.Ref(wiring.RAW_ARCHIVE.id))
    assert platform.client("s3").head_object(Bucket=raw, Key="raw/shopify/hook-32.json")


def test_a_quarantined_message_redriven_after_the_fix_lands_once(
    platform: LocalPlatform, fake: tuple[FakeChannelApis, str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a thin Douyin push the processor could not complete (no API configured): quarantined at `pull`
    channels, root = fake
    channels.put_order("douyin", shop_order("channels/douyin/order_detail.multi_line.json"))
    body = douyin_push({"tag": "101", "msg_id": "e2e-replay-101",
                        "data": {"p_id": int(DOUYIN_ORDER), "pay_amount": 39300}})
    response = requests.post(f"{platform.base_url}/webhooks/douyin", data=body,
                             headers=douyin_headers(body, _credentials()["douyin"]), timeout=30)
    assert response.status_code == 200, response.text
    platform.wait_idle(timeout=30)
    listed = _api(platform, "GET", "/quarantine?channel=douyin&limit=10")
    assert listed.status_code == 200, listed.text
    [record] = [r for r in listed.json()["records"] if r["message_id"] == "e2e-replay-101"]
    assert record["stage"] == "pull" and record["redriven_at"] is None
    # When the channel's API is configured (the fix) and the record is redriven, twice
    monkeypatch.setenv("OCP_CHANNEL_API_URL_DOUYIN", f"{root}/douyin")
    path = f"/quarantine/{urllib.parse.quote(record['quarantine_id'], safe='')}/redrive"
    first = _api(platform, "POST", path)
    assert first.status_code == 200 and first.json()["outcome"] == "redriven", first.text
    platform.wait_idle(timeout=30)
    second = _api(platform, "POST", path)
    assert second.json()["outcome"] == "already_redriven"
    platform.wait_idle(timeout=30)
    # Then the order was pulled once and stored, and the record is no longer open
    orders = _api(platform, "GET", f"/orders?channel=douyin&channel_order_id={DOUYIN_ORDER}").json()["orders"]
    assert len(orders) == 1 and orders[0]["amounts"]["paid"] == 39300
    assert len(channels.calls_to("douyin", "order.orderDetail")) == 1
    still_open = _api(platform, "GET", "/quarantine?channel=douyin").json()["records"]
    assert record["quarantine_id"] not in [r["quarantine_id"] for r in still_open]
    redriven = _api(platform, "GET", "/quarantine?channel=douyin&state=redriven").json()["records"]
    assert [r["quarantine_id"] for r in redriven] == [record["quarantine_id"]]
    assert _api(platform, "POST", "/quarantine/nope%23x/redrive").status_code == 404


def test_a_dead_letter_redriven_is_processed_once(platform: LocalPlatform) -> None:
    # Given an inbox message that ended in the orders inbox's dead-letter queue
    _stock(platform, "TEA-DLQ", 5)
    document = shopify_document(33, "TEA-DLQ")
    message = InboxMessage(delivery_id="hook-33", message_id="evt-33", channel="shopify", topic="orders/create",
                           archive_key="raw/shopify/hook-33.json", received_at=iso(datetime.now(UTC)),
                           document=document)
    sqs = platform.client("sqs")
    sqs.send_message(QueueUrl=platform.queue_url(wiring.ORDERS_INBOX.dlq_id), MessageBody=message.model_dump_json())
    # When the queue is redriven, twice
    first = _api(platform, "POST", "/dlq:redrive", {"queue": "orders-inbox"})
    assert first.status_code == 200, first.text
    assert first.json()["moved"] == 1 and first.json()["dlq"].endswith("orders-inbox-dlq")
    platform.wait_idle(timeout=30)
    second = _api(platform, "POST", "/dlq%3Aredrive", {"queue": "orders-inbox"})
    assert second.status_code == 200 and second.json()["moved"] == 0
    # Then the order was processed once, with one reservation
    order = _order(platform, f"shopify-{document['id']}")
    assert order is not None and _received(order) == 1
    assert _reserved(platform, "TEA-DLQ") == 1
    assert _api(platform, "POST", "/dlq:redrive", {"queue": "nope"}).status_code == 404
