"""Response models of the HTTP contract (they drive the OpenAPI document)."""

from __future__ import annotations

from pydantic import BaseModel

from ocp.domain.order.model import Order


class OrderList(BaseModel):
    orders: list[Order]
    next_token: str | None = None
