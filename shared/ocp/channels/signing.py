"""Signature schemes shared by channels (CHANNELS.md §2.3, §4.2) and constant-time comparison.

- TOP / JOS request signature (Taobao API, JD API): `uppercase_hex(MD5(secret + k1v1k2v2… + secret))` over the
  parameters sorted by name, empty names or values skipped.
- SPI / 奇门 inbound check (OCP's `/webhooks/taobao` and `/webhooks/jd`): the same, over the query parameters
  except `sign`, with the raw body appended after them: `MD5(secret + sorted k+v + body + secret)`.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from ocp.domain.errors import ChannelNotConfigured, SignatureInvalid

if TYPE_CHECKING:
    from ocp.channels.base import ChannelCredentials, Delivery

GMT8 = ZoneInfo("Asia/Shanghai")
MAX_SKEW = timedelta(minutes=10)
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


def same(expected: str, received: str) -> bool:
    """Constant-time equality of two signatures (or keys)."""
    return hmac.compare_digest(expected.encode("utf-8"), received.encode("utf-8"))


def sorted_concat(params: Mapping[str, str]) -> str:
    return "".join(f"{name}{value}" for name, value in sorted(params.items()) if name and value)


def top_md5(secret: str, params: Mapping[str, str], body: bytes = b"") -> str:
    """TOP/JOS md5 signature; with `body`, the SPI variant (body after the parameters)."""
    digest = hashlib.md5(secret.encode() + sorted_concat(params).encode() + body + secret.encode())  # noqa: S324
    return digest.hexdigest().upper()


def china_time_text(moment: datetime) -> str:
    """"yyyy-MM-dd HH:mm:ss" in GMT+8, the timestamp format of TOP, JOS and SPI calls."""
    return moment.astimezone(GMT8).strftime(TIME_FORMAT)


def verify_spi(delivery: Delivery, credentials: ChannelCredentials, max_skew: timedelta = MAX_SKEW) -> None:
    """OCP's inbound scheme for Taobao and JD relays: `app_key`, `timestamp` (GMT+8, within `max_skew` of
    `delivery.received_at`), `sign_method=md5` and `sign` in the query string; raises `SignatureInvalid`
    with the reason."""
    if not credentials.app_key:
        raise ChannelNotConfigured(f"no app key configured for channel {delivery.channel.value!r}")
    query = delivery.query
    received_sign = (query.get("sign") or "").strip()
    if not received_sign:
        raise SignatureInvalid("missing sign query parameter")
    if not same(credentials.app_key, query.get("app_key") or ""):
        raise SignatureInvalid("app_key is missing or not ours")
    if (query.get("sign_method") or "").lower() != "md5":
        raise SignatureInvalid("sign_method must be md5")
    expected = top_md5(credentials.secret, {k: v for k, v in query.items() if k != "sign"}, delivery.body)
    if not same(expected, received_sign.upper()):
        raise SignatureInvalid("sign does not match the query and body")
    _check_timestamp(query.get("timestamp"), delivery.received_at, max_skew)


def _check_timestamp(text: str | None, now: datetime, max_skew: timedelta) -> None:
    if not text:
        raise SignatureInvalid("missing timestamp query parameter")
    try:
        sent = datetime.strptime(text.strip(), TIME_FORMAT).replace(tzinfo=GMT8)
    except ValueError:
        raise SignatureInvalid("timestamp is not yyyy-MM-dd HH:mm:ss (GMT+8)") from None
    skew = abs(now - sent)
    if skew > max_skew:
        raise SignatureInvalid(
            f"timestamp is {int(skew.total_seconds())} s away from now; "
            f"at most {int(max_skew.total_seconds())} s allowed"
        )
