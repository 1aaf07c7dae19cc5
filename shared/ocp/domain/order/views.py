"""What the order ports answer with: here, not in `ocp.ports`, so importing a protocol builds no order model."""

from pydantic import ConfigDict

from ocp.base_model import OcpModel
from ocp.domain.order.model import Order, OrderStatus


class ChannelOrderView(OcpModel):
    """What a channel says about one order now (reconciliation)."""

    model_config = ConfigDict(frozen=True)

    status: OrderStatus
    """The channel's view mapped to OCP's statuses (`cancelled` when the channel cancelled or closed it)."""
    channel_status: str | None = None


class OrderPage(OcpModel):
    model_config = ConfigDict(frozen=True)

    orders: list[Order]
    last_key: dict[str, str] | None = None
    """Where the next page starts (the index's key of the last order read); None: no more."""
