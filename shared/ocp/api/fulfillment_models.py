"""Request and response models of the fulfilment routes (they drive the OpenAPI document)."""

from __future__ import annotations

from typing import Annotated

from pydantic import ConfigDict, Field, model_validator

from ocp.base_model import OcpModel
from ocp.domain.fulfillment.outcome import Outcome
from ocp.domain.order.enums import OrderStatus


class CallbackAnswer(OcpModel):
    """`POST /fulfillment/events`: where the order stands and what the callback did."""

    order_id: str
    status: OrderStatus
    applied: bool = Field(description="True when the event was new and legal and took effect")
    outcome: Outcome


class ParcelOrderAnswer(OcpModel):
    order_id: str
    status: OrderStatus
    applied: bool
    outcome: Outcome


class ParcelCallbackAnswer(CallbackAnswer):
    """A callback for a merged parcel: the order it named (for the group, its first order) at the top, and every
    order of the parcel it moved."""

    orders: list[ParcelOrderAnswer] = Field(description="Each order of the merged parcel, as the callback left it")


class RedispatchBody(OcpModel):
    """`POST /orders:redispatch`: name the orders, or a hop of the stuck report (`dispatch`, `wms_acceptance`)."""

    model_config = ConfigDict(extra="forbid")

    order_ids: list[Annotated[str, Field(min_length=1, max_length=128)]] = Field(default=[], max_length=500)
    hop: str | None = Field(default=None, max_length=48)
    limit: int = Field(default=500, ge=1, le=500, description="At most this many orders are queued")
    actor: str | None = Field(default=None, max_length=128, description="Who asks: recorded on each order's timeline")

    @model_validator(mode="after")
    def _names_something(self) -> RedispatchBody:
        if not self.order_ids and not self.hop:
            raise ValueError("give order_ids or hop")
        return self


class SkippedOrder(OcpModel):
    order_id: str
    reason: str


class RedispatchAnswer(OcpModel):
    queued: list[str] = Field(description="A new instruction version is queued for these (dispatched asynchronously)")
    skipped: list[SkippedOrder] = Field(description="Not re-dispatchable: the warehouse accepted them, or they left")
    not_found: list[str]
