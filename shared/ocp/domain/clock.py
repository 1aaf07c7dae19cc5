"""UTC time handling: every time OCP stores is UTC ISO-8601 with a `Z`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import PlainSerializer

SHANGHAI = ZoneInfo("Asia/Shanghai")


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    """UTC ISO-8601 with second precision, e.g. `2026-11-11T04:05:13Z` (sorts as text)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


UtcTime = Annotated[datetime, PlainSerializer(iso, return_type=str, when_used="json")]
"""A model field's time, written to JSON as `iso` writes it."""


def parse_instant(text: str, naive_zone: ZoneInfo = SHANGHAI) -> datetime:
    """An ISO-8601 instant; a time without an offset is read in `naive_zone` (channels in China send GMT+8)."""
    moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=naive_zone)
    return moment.astimezone(UTC)


def known_zone(name: str) -> str:
    """`name` if it is an IANA time zone, else `ValueError` (for pydantic validators)."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r} (an IANA name, e.g. Asia/Shanghai)") from None
    return name
