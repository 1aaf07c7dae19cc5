"""Signature schemes: the computed vectors of CHANNELS.md, and every way a delivery can be refused."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

import pytest

from ocp.channels import signing
from ocp.channels.base import ChannelCredentials
from ocp.channels.douyin import DouyinAdapter
from ocp.channels.jd import JdAdapter
from ocp.channels.taobao import TaobaoAdapter
from ocp.channels.wire import douyin
from ocp.domain.errors import ChannelNotConfigured, SignatureInvalid
from tests.channel_support import CREDENTIALS, RECEIVED_AT, delivery, douyin_headers, spi_query
from tests.support import fixture_json

BODY = b'{"topic":"taobao_trade_TradeBuyerPay","id":1,"content":"{\\"tid\\":4105328891234567890}"}'


# ---- computed vectors ------------------------------------------------------------------------------------


def test_douyin_event_sign_matches_the_computed_vector() -> None:
    # Given the push body, app key and secret CHANNELS.md §3.1 computed a signature for
    vector = fixture_json("channels/douyin/push.trade_create.computed_vector.json")
    body = vector["body"].encode()
    credentials = ChannelCredentials(secret=vector["app_secret"], app_key=vector["app_key"])
    # When signed / verified
    signature = douyin.event_sign(vector["app_key"], vector["app_secret"], body)
    # Then the digest is the documented one, and a delivery carrying it (in upper case too) verifies
    assert signature == vector["event_sign_md5"]
    for sent in (signature, signature.upper()):
        DouyinAdapter().verify(delivery("douyin", body, {"app-id": vector["app_key"], "event-sign": sent}),
                               credentials)


def test_douyin_api_sign_matches_the_computed_vector() -> None:
    # Given CHANNELS.md §3.2's order.orderDetail example
    vector = fixture_json("channels/douyin/push.trade_create.computed_vector.json")
    api = vector["api_sign"]
    # When signed with sorted, compact param_json
    signature = douyin.api_sign(vector["app_key"], vector["app_secret"], api["method"],
                                douyin.param_json(api["params"]), api["timestamp"])
    # Then
    assert douyin.param_json(api["params"]) == '{"shop_order_id":"4781320682406083640"}'
    assert signature == api["md5"]


def test_top_md5_matches_the_computed_vector() -> None:
    # Given CHANNELS.md §2.3's parameters
    vector = fixture_json("channels/taobao/signature_vectors.computed.json")
    # When / Then: sorted concatenation and the uppercase md5 are the documented ones
    assert signing.sorted_concat(vector["params"]) == vector["concat"]
    assert signing.top_md5(vector["secret"], vector["params"]) == vector["md5"]


def test_jos_md5_matches_the_computed_vector() -> None:
    # Given CHANNELS.md §4.2's jingdong.pop.order.get request
    vector = fixture_json("channels/jd/signature_vectors.computed.json")
    # When / Then
    assert signing.top_md5(vector["secret"], vector["params"]) == vector["md5"]


def test_spi_sign_covers_the_raw_body_after_the_sorted_query() -> None:
    # Given a query and a body
    query = {"app_key": "k", "timestamp": "2026-11-11 12:05:16", "sign_method": "md5"}
    # When the SPI signature is computed by hand and by the signer
    manual = hashlib.md5(
        b"s" + b"app_keyksign_methodmd5timestamp2026-11-11 12:05:16" + BODY + b"s"
    ).hexdigest().upper()
    # Then they agree
    assert signing.top_md5("s", query, BODY) == manual


# ---- SPI (Taobao, JD) ------------------------------------------------------------------------------------


@pytest.mark.parametrize("adapter", [TaobaoAdapter(), JdAdapter()], ids=["taobao", "jd"])
def test_spi_signed_relay_verifies(adapter: TaobaoAdapter | JdAdapter) -> None:
    # Given a relay signed the SPI way, 9 minutes before we received it
    channel = adapter.channel.value
    query = spi_query(channel, BODY, at=RECEIVED_AT - timedelta(minutes=9))
    # When / Then it verifies
    adapter.verify(delivery(channel, BODY, query=query), CREDENTIALS[channel])


@pytest.mark.parametrize(("tamper", "reason"), [
    ("body", "sign does not match"),
    ("sign", "sign does not match"),
    ("extra_param", "sign does not match"),
    ("app_key", "app_key"),
    ("missing_sign", "missing sign"),
    ("hmac", "sign_method must be md5"),
    ("skew", "away from now"),
    ("future_skew", "away from now"),
    ("bad_timestamp", "not yyyy-MM-dd"),
])
def test_spi_refuses_every_tampering_with_its_reason(tamper: str, reason: str) -> None:
    # Given a correctly signed Taobao relay
    body, query = BODY, spi_query("taobao", BODY)
    # When one thing about it is wrong
    if tamper == "body":
        body = BODY.replace(b"4105328891234567890", b"4105328891234567891")
    elif tamper == "sign":
        query["sign"] = query["sign"][:-1] + ("0" if query["sign"][-1] != "0" else "1")
    elif tamper == "extra_param":
        query["injected"] = "1"
    elif tamper == "app_key":
        query = spi_query("taobao", BODY) | {"app_key": "someone-else"}
    elif tamper == "missing_sign":
        query.pop("sign")
    elif tamper == "hmac":
        query = spi_query("taobao", BODY, sign_method="hmac")
    elif tamper == "skew":
        query = spi_query("taobao", BODY, at=RECEIVED_AT - timedelta(minutes=10, seconds=1))
    elif tamper == "future_skew":
        query = spi_query("taobao", BODY, at=RECEIVED_AT + timedelta(minutes=11))
    elif tamper == "bad_timestamp":
        query = spi_query("taobao", BODY, timestamp="1731297916")
    # Then it is refused, saying why
    with pytest.raises(SignatureInvalid, match=reason):
        TaobaoAdapter().verify(delivery("taobao", body, query=query), CREDENTIALS["taobao"])


def test_spi_sign_is_compared_case_insensitively() -> None:
    # Given a relay whose sign was sent in lower case
    query = spi_query("jd", BODY)
    query["sign"] = query["sign"].lower()
    # When / Then it still verifies
    JdAdapter().verify(delivery("jd", BODY, query=query), CREDENTIALS["jd"])


def test_spi_without_a_configured_app_key_is_a_configuration_problem() -> None:
    # Given credentials with a secret but no app key
    credentials = ChannelCredentials(secret="tb-secret")
    # When / Then: not the sender's fault (503 and kept), rather than a 401
    with pytest.raises(ChannelNotConfigured):
        TaobaoAdapter().verify(delivery("taobao", BODY, query=spi_query("taobao", BODY)), credentials)


# ---- Douyin ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("headers", "reason"), [
    ({}, "missing app-id or event-sign"),
    ({"app-id": "7000000000000000002"}, "app-id is not our app key"),
    ({"event-sign": "0" * 32}, "event-sign does not match"),
])
def test_douyin_refuses_wrong_headers(headers: dict[str, str], reason: str) -> None:
    # Given a push with one header missing or wrong
    body = json.dumps([{"tag": "100", "msg_id": "1", "data": "{}"}]).encode()
    sent = douyin_headers(body) | headers
    if not headers:
        sent.pop("event-sign")
    # When / Then
    with pytest.raises(SignatureInvalid, match=reason):
        DouyinAdapter().verify(delivery("douyin", body, sent), CREDENTIALS["douyin"])


def test_douyin_signature_is_over_raw_bytes() -> None:
    # Given a push signed over one serialisation of the body
    body = b'[{"tag":"100","msg_id":"1","data":"{}"}]'
    headers = douyin_headers(body)
    # When the same JSON arrives with different whitespace / Then it does not verify
    with pytest.raises(SignatureInvalid):
        DouyinAdapter().verify(delivery("douyin", body.replace(b",", b", "), headers), CREDENTIALS["douyin"])


def test_douyin_needs_an_app_key_configured() -> None:
    body = b"[]"
    with pytest.raises(ChannelNotConfigured):
        DouyinAdapter().verify(delivery("douyin", body, douyin_headers(body)), ChannelCredentials(secret="x"))


def test_credentials_never_show_secrets_in_repr() -> None:
    # Given credentials / When printed / Then neither secret nor token appears
    shown = repr(CREDENTIALS["douyin"]) + str(CREDENTIALS["douyin"])
    assert "dy-secret" not in shown and "dy-token" not in shown
