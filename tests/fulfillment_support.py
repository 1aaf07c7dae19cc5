"""Builders for the fulfilment tests: an order at a given status, and callbacks."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ocp.channels.shopify import ShopifyAdapter
from ocp.domain.fulfillment.callbacks import FulfillmentEvent
from ocp.domain.order.model import Order, OrderStatus
from tests.support import fixture_json

T0 = datetime(2026, 11, 11, 4, 0, tzinfo=UTC)
"""12:00 in Shanghai on Double 11."""
ORDER_ID = "shopify-5840912375611902001"
TEA, CUP = "13370001", "13370002"
"""The fixture's lines: TEA-LONGJING-250 × 2 and CUP-CELADON × 1."""


def order_at(status: OrderStatus = OrderStatus.dispatched, since: datetime = T0, warehouse: str | None = "WH-GZ",
             **changes: Any) -> Order:
    """The API.md sample order (Shopify fixture) at `status` since `since`, stored once (revision 1)."""
    order = ShopifyAdapter().to_order(fixture_json("channels/shopify/orders_create.cn_discounted.json"))
    version = 1 if status not in (OrderStatus.reserved, OrderStatus.received, OrderStatus.held) else 0
    fulfillment = order.fulfillment.model_copy(update={"instruction_version": version})
    return order.model_copy(update={"status": status, "status_since": since, "warehouse": warehouse,
                                    "revision": 1, "fulfillment": fulfillment, **changes})


def callback(event: str, event_id: str, at: str = "2026-11-11T12:05:00+08:00", order_id: str = ORDER_ID,
             **fields: Any) -> FulfillmentEvent:
    if event == "shipped":
        fields = {"carrier": "SF", "tracking_no": f"SF{event_id}", **fields}
    if event == "exception":
        fields = {"reason": "address unreachable", **fields}
    return FulfillmentEvent.model_validate({"order_id": order_id, "event": event, "event_id": event_id, "at": at,
                                            **fields})
