"""Response models of the fulfilment callback routes (they drive the OpenAPI document); the re-dispatch route's
are `redispatch_models`."""

from pydantic import Field

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

