"""Response models of the HTTP contract (they drive the OpenAPI document)."""

from ocp.base_model import OcpModel
from ocp.domain.order.model import Order


class OrderList(OcpModel):
    orders: list[Order]
    next_token: str | None = None
