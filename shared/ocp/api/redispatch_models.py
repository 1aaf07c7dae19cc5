"""Request and response models of `POST /orders:redispatch` (they drive the OpenAPI document); apart from the
callback answers (`fulfillment_models`) so each function loads only its own."""

from typing import Annotated

from pydantic import ConfigDict, Field, model_validator

from ocp.base_model import OcpModel


class RedispatchBody(OcpModel):
    """`POST /orders:redispatch`: name the orders, or a hop of the stuck report (`dispatch`, `wms_acceptance`)."""

    model_config = ConfigDict(extra="forbid")

    order_ids: list[Annotated[str, Field(min_length=1, max_length=128)]] = Field(default=[], max_length=500)
    hop: str | None = Field(default=None, max_length=48)
    limit: int = Field(default=500, ge=1, le=500, description="At most this many orders are queued")
    actor: str | None = Field(default=None, max_length=128, description="Who asks: recorded on each order's timeline")

    @model_validator(mode="after")
    def _names_something(self) -> "RedispatchBody":
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
