"""`GET /orders?status=…`: a page of the orders in one status (held ones by reason), oldest in the status first.

Apart from the held queue's actions (`ocp.services.operations.held_queue`), so listing loads none of the order
path, stock planning or dispatch.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from enum import StrEnum
from typing import TYPE_CHECKING, TypeVar

from ocp.base_model import OcpModel
from ocp.domain.errors import InvalidQuery
from ocp.domain.order.model import HoldReason, Order, OrderStatus

if TYPE_CHECKING:
    from ocp.ports import HeldQueueQueries

DEFAULT_PAGE = 50
MAX_PAGE = 200
_TOKEN_KEYS = frozenset({"order_id", "status", "status_since"})


class OrderPageAnswer(OcpModel):
    """`GET /orders?status=…`: a page of orders, oldest in the status first; `next_token` fetches the next."""

    orders: list[Order]
    next_token: str | None = None


def queue_page(queries: HeldQueueQueries, status: str, reason: str | None = None, limit: int = DEFAULT_PAGE,
               next_token: str | None = None) -> OrderPageAnswer:
    wanted = _enum(OrderStatus, status, "status")
    why = _enum(HoldReason, reason, "reason") if reason else None
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidQuery(f"limit is 1 to {MAX_PAGE}", details={"field": "limit", "limit": limit})
    start = decode_token(next_token, wanted) if next_token else None
    page = queries.page(wanted, why, limit, start)
    return OrderPageAnswer(orders=page.orders, next_token=encode_token(page.last_key) if page.last_key else None)


def encode_token(last_key: Mapping[str, str]) -> str:
    return base64.urlsafe_b64encode(json.dumps(dict(last_key), sort_keys=True).encode()).decode().rstrip("=")


def decode_token(token: str, status: OrderStatus) -> dict[str, str]:
    """The page start a token names; `InvalidQuery` for a token that is not one of ours, or of another status."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        key = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        key = None
    if not (isinstance(key, dict) and set(key) == _TOKEN_KEYS and all(isinstance(v, str) for v in key.values())
            and key["status"] == status.value):
        raise InvalidQuery("next_token is not a token this query gave out", details={"field": "next_token"})
    return key


E = TypeVar("E", bound=StrEnum)


def _enum(kind: type[E], value: str, field: str) -> E:
    try:
        return kind(value)
    except ValueError:
        raise InvalidQuery(f"unknown {field} {value!r}",
                           details={"field": field, "allowed": [member.value for member in kind]}) from None
