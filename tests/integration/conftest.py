"""Handlers against moto, with the resources the wiring declares (created by the local runtime's provisioner)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from infra import wiring
from infra.local.provision import Resources, function_env, provision
from ocp import composition
from tests.channel_support import CREDENTIALS
from tests.fakes.channel_apis import FakeChannelApis
from tests.support import fixture_json

SHOPIFY_SECRET = "integration-shopify-secret"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Resources]:
    with mock_aws():
        resources = provision(None, {wiring.CHANNEL_SECRETS.id: {}})
        for name, value in function_env(wiring.FUNCTIONS, resources).items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("OCP_CHANNEL_SECRET_SHOPIFY", SHOPIFY_SECRET)
        composition.reset()
        yield resources
        composition.reset()


def shopify_document() -> dict[str, Any]:
    """The sample web-store order with its district written in the street, as Chinese buyers of a web store do
    (Shopify has no district field; the address check wants one)."""
    document = fixture_json("channels/shopify/orders_create.cn_discounted.json")
    document["shipping_address"] = document["shipping_address"] | {"address1": "天河区天河路385号"}
    return document


@pytest.fixture(scope="module")
def shopify_api() -> Iterator[tuple[FakeChannelApis, str]]:
    fake = FakeChannelApis(credentials=dict(CREDENTIALS))
    with fake.serve() as root:
        yield fake, root


@pytest.fixture
def shopify(aws: Resources, shopify_api: tuple[FakeChannelApis, str],
            monkeypatch: pytest.MonkeyPatch) -> FakeChannelApis:
    """The fake Shopify Admin API (on 127.0.0.1) holding `shopify_document()`, and OCP configured to call it."""
    fake, root = shopify_api
    fake.orders.clear()
    fake.calls.clear()
    fake.shipped.clear()
    fake.put_order("shopify", shopify_document())
    monkeypatch.setenv("OCP_CHANNEL_ACCESS_TOKEN_SHOPIFY", CREDENTIALS["shopify"].access_token or "")
    monkeypatch.setenv("OCP_CHANNEL_API_URL_SHOPIFY", f"{root}/shopify")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    composition.reset()
    return fake


def drain(aws: Resources, queue_id: str) -> list[dict[str, Any]]:
    """Every message on a declared queue (with its attributes), deleted as a consumer would."""
    sqs, url = boto3.client("sqs"), aws.resolve(wiring.Ref(queue_id, "url"))
    messages: list[dict[str, Any]] = []
    while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]).get(
            "Messages", []):
        for message in batch:
            messages.append(message)
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return messages
