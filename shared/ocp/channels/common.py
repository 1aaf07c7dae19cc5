"""Helpers every channel mapping uses: ids as strings, fen from yuan text or fen integers, China-local times,
and splitting what the buyer paid over the lines exactly.

Mapping functions append human-readable problems to a `reasons` list and raise `Unmappable` for the first
structural problem they cannot work around; `map_document` turns all of that into `UnmappableDocument`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from ocp.domain.clock import SHANGHAI
from ocp.domain.errors import ChannelApiRejected, ChannelApiUnavailable, DomainError, UnmappableDocument
from ocp.domain.order.money import MoneyError, apportion, to_minor

if TYPE_CHECKING:
    from ocp.channels.base import HttpResponse
    from ocp.domain.order.model import Order

CNY = "CNY"
_UNSET_TIMES = {"", "0", "0001-01-01 00:00:00", "1970-01-01 00:00:00", "1970-01-01 08:00:00"}


class Unmappable(ValueError):
    """A problem in one field; `map_document` collects it as a reason."""


def map_document(mapper: Callable[[dict[str, Any], list[str]], Order | None], document: dict[str, Any]) -> Order:
    """Run a channel mapper; every problem it reports or raises becomes one reason of `UnmappableDocument`."""
    reasons: list[str] = []
    try:
        order = mapper(document, reasons)
    except (KeyError, TypeError, ValueError, MoneyError, AttributeError, IndexError) as exc:
        reasons.append(describe(exc))
        order = None
    if reasons or order is None:
        raise UnmappableDocument(reasons or ["document could not be mapped"])
    return order


def describe(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
    if isinstance(exc, KeyError):
        return f"missing field {exc.args[0]!r}"
    return str(exc)


def require(document: dict[str, Any], fields: Sequence[str], reasons: list[str], where: str = "") -> None:
    for name in fields:
        if document.get(name) in (None, ""):
            reasons.append(f"missing field {where}{name!r}")


def text(value: Any) -> str | None:
    """A non-empty string, or None."""
    if value is None:
        return None
    result = str(value).strip()
    return result or None


def id_text(value: Any, field: str) -> str:
    """An id as a string. Integers are exact in Python's JSON; a float means the id already lost digits."""
    if isinstance(value, bool) or value is None:
        raise Unmappable(f"{field} is missing")
    if isinstance(value, float):
        raise Unmappable(f"{field} is a floating-point number; its digits cannot be trusted")
    result = str(value).strip()
    if not result:
        raise Unmappable(f"{field} is empty")
    return result


def int_value(value: Any, field: str, default: int | None = None) -> int:
    """An integer sent as a number or as digit text ("2", "-10")."""
    if value is None or value == "":
        if default is None:
            raise Unmappable(f"{field} is missing")
        return default
    if isinstance(value, bool | float):
        raise Unmappable(f"{field} must be an integer, got {value!r}")
    if isinstance(value, int):
        return value
    stripped = str(value).strip()
    if stripped.lstrip("-").isdigit():
        return int(stripped)
    raise Unmappable(f"{field} must be an integer, got {value!r}")


def fen(value: Any, field: str, default: int | None = 0) -> int:
    """An amount already in fen (Douyin): an integer, or integer text."""
    return int_value(value, field, default)


def yuan(value: Any, field: str, default: int | None = 0) -> int:
    """An amount in yuan text ("200.07", Taobao/JD) → fen, through Decimal."""
    if value is None or value == "":
        if default is None:
            raise Unmappable(f"{field} is missing")
        return default
    if isinstance(value, bool | float):
        raise Unmappable(f"{field} must be yuan as decimal text (e.g. \"19.90\"), got {value!r}")
    try:
        return to_minor(value, CNY)
    except MoneyError as exc:
        raise Unmappable(f"{field}: {exc}") from None


def epoch_seconds(value: Any, field: str) -> datetime | None:
    """Unix seconds (Douyin) → UTC; 0 or missing → None."""
    seconds = int_value(value, field, default=0)
    return datetime.fromtimestamp(seconds, UTC) if seconds > 0 else None


def china_time(value: Any, field: str) -> datetime | None:
    """"yyyy-MM-dd HH:mm:ss" in GMT+8 → UTC; JD's "0001-01-01 00:00:00" and similar sentinels → None."""
    if value is None or str(value).strip() in _UNSET_TIMES:
        return None
    raw = str(value).strip()
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise Unmappable(f"{field} is not a time: {raw!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=SHANGHAI)
    return moment.astimezone(UTC)


def required_time(value: Any, field: str, parse: Callable[[Any, str], datetime | None]) -> datetime:
    moment = parse(value, field)
    if moment is None:
        raise Unmappable(f"{field} is missing")
    return moment


def listed(container: Any, inner: str) -> list[Any]:
    """TOP wraps lists in a singular-named object (`orders.order[]`) unless `simplify=true`: accept both."""
    if container is None:
        return []
    if isinstance(container, list):
        return container
    if isinstance(container, dict):
        value = container.get(inner)
        return value if isinstance(value, list) else ([] if value is None else [value])
    raise Unmappable(f"expected a list or an object holding {inner!r}, got {type(container).__name__}")


def split_paid(target: int, values: Sequence[int], channel_paid: Sequence[int] | None = None) -> list[int]:
    """Each line's share of `target` (what the buyer paid for goods), summing to `target` exactly.

    With the channel's own per-line figures, those are kept and only the difference to `target` (rounding,
    an order-level amount the channel left out) is spread over them by largest remainder. Without them,
    `target` is spread by line value (largest remainder), so order-level discounts land on lines in
    proportion to what each line is worth.
    """
    if channel_paid is not None:
        figures = list(channel_paid)
        weights = [max(p, 0) for p in figures]
        if not any(weights):
            weights = [max(v, 0) for v in values]
        extra = apportion(target - sum(figures), weights)
        return [p + x for p, x in zip(figures, extra, strict=True)]
    return apportion(target, [max(v, 0) for v in values])


# ---- API response helpers --------------------------------------------------------------------------------


def json_body(response: HttpResponse, api: str) -> dict[str, Any]:
    """The JSON object of an API response; 5xx and 429 are worth a retry, other non-2xx are not."""
    if response.status >= 500 or response.status == 429:
        raise ChannelApiUnavailable(f"{api} answered HTTP {response.status}")
    if response.status >= 400:
        raise ChannelApiRejected(f"{api} answered HTTP {response.status}")
    try:
        parsed = json.loads(response.body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ChannelApiUnavailable(f"{api} answered something that is not JSON") from None
    if not isinstance(parsed, dict):
        raise ChannelApiUnavailable(f"{api} answered JSON that is not an object")
    return parsed


def sub_code(exc: DomainError) -> str | None:
    """The channel's `sub_code` an API error carries in its details (Taobao, Douyin), else None."""
    return str(exc.details.get("sub_code")) if isinstance(exc.details, dict) and exc.details.get("sub_code") else None
