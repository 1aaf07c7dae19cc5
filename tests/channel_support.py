"""Test helpers for the channel suites: signed Taobao/JD (SPI) and Douyin deliveries, fixture documents.

The signers here are written from CHANNELS.md on purpose, not imported from production code, so a bug in
a production signer cannot also hide in the test that should catch it.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from ocp.channels.base import ChannelCredentials, Delivery
from ocp.domain.order.model import Channel
from tests.support import fixture_json

GMT8 = ZoneInfo("Asia/Shanghai")
RECEIVED_AT = datetime(2026, 11, 11, 4, 5, 16, tzinfo=UTC)
CREDENTIALS = {
    "douyin": ChannelCredentials(secret="dy-secret", app_key="7000000000000000001", access_token="dy-token"),
    "taobao": ChannelCredentials(secret="tb-secret", app_key="12497914", access_token="tb-session"),
    "jd": ChannelCredentials(secret="jd-secret", app_key="jd-app-key", access_token="jd-token"),
    "shopify": ChannelCredentials(secret="shop-secret", access_token="shpat_fake"),
}


def spi_query(channel: str, body: bytes, at: datetime = RECEIVED_AT, credentials: ChannelCredentials | None = None,
              **extra: str) -> dict[str, str]:
    """Query parameters of an SPI-signed relay: md5(secret + sorted k+v + body + secret), uppercase."""
    credentials = credentials or CREDENTIALS[channel]
    query = {
        "app_key": credentials.app_key or "", "timestamp": at.astimezone(GMT8).strftime("%Y-%m-%d %H:%M:%S"),
        "sign_method": "md5", "method": f"ocp.{channel}.relay", **extra,
    }
    concat = "".join(f"{k}{v}" for k, v in sorted(query.items()) if k and v)
    raw = credentials.secret.encode() + concat.encode() + body + credentials.secret.encode()
    query["sign"] = hashlib.md5(raw).hexdigest().upper()
    return query


def douyin_headers(body: bytes, credentials: ChannelCredentials | None = None) -> dict[str, str]:
    credentials = credentials or CREDENTIALS["douyin"]
    sign = hashlib.md5((credentials.app_key or "").encode() + body + credentials.secret.encode()).hexdigest()
    return {"app-id": credentials.app_key or "", "event-sign": sign, "content-type": "application/json"}


def douyin_push(*messages: Any) -> bytes:
    """The wire form: a JSON array whose `data` values are JSON text."""
    wire = [
        {**m, "data": json.dumps(m["data"], separators=(",", ":"))}
        if isinstance(m, dict) and isinstance(m.get("data"), dict) else m
        for m in messages
    ]
    return json.dumps(wire, separators=(",", ":"), ensure_ascii=False).encode()


def delivery(channel: str, body: bytes, headers: dict[str, str] | None = None,
             query: dict[str, str] | None = None, received_at: datetime = RECEIVED_AT) -> Delivery:
    return Delivery(channel=Channel(channel), headers={k.lower(): v for k, v in (headers or {}).items()},
                    query=query or {}, body=body, received_at=received_at)


def shop_order(relative: str) -> dict[str, Any]:
    """The bare Douyin shop order of a fixture (envelope removed)."""
    document = fixture_json(relative)
    detail: dict[str, Any] = (document.get("data") or {}).get("shop_order_detail") or document
    return detail


def taobao_trade(relative: str) -> dict[str, Any]:
    trade: dict[str, Any] = fixture_json(relative)["trade_fullinfo_get_response"]["trade"]
    return trade


def jd_order_info(relative: str) -> dict[str, Any]:
    document = fixture_json(relative)
    wrapped = document.get("jingdong_pop_order_get_responce")
    info: dict[str, Any] = wrapped["orderDetailInfo"]["orderInfo"] if wrapped else document
    return info
