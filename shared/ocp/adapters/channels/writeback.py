"""The channels' signed API clients behind the fulfilment ports: shipment write-back and the order's channel view.

`ChannelApiWriteback` (`ChannelWriteback`) turns a shipment of `order.fulfillment.shipments` into the channel's
ship-confirm call (Shopify fulfillment, Douyin logistics add, Taobao offline send, JD shipment) and translates the
channel errors into the write-back's: `ChannelApiUnavailable` and a channel without API configuration →
`WritebackUnavailable` (retried with backoff), `ChannelApiRejected` → `WritebackRejected` (an operator acts).
`ChannelApiOrders` (`ChannelOrders`) reads an order from its channel and maps it with the channel's own adapter, so
"cancelled on the channel" means exactly what ingest means by it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ocp.channels.base import ShipmentNotice, ShippedItem
from ocp.channels.registry import adapter_for
from ocp.domain.errors import ChannelApiRejected, ChannelApiUnavailable, ChannelNotConfigured
from ocp.domain.fulfillment.writeback import WritebackRejected, WritebackUnavailable
from ocp.domain.order.model import GIFT_LINE_PREFIX, Order
from ocp.domain.order.views import ChannelOrderView

if TYPE_CHECKING:
    from ocp.ports import ChannelApis


def shipment_notice(order: Order, tracking_no: str, carrier: str) -> ShipmentNotice:
    """The parcel as the channel knows it: its lines that came from the channel (gift lines OCP's rules added are
    not the channel's), and whether it is the whole order in one parcel."""
    shipment = next((s for s in order.fulfillment.shipments if s.tracking_no == tracking_no), None)
    if shipment is None:
        raise WritebackRejected(f"no shipment {tracking_no} on order {order.order_id}")
    ordered = {line.line_id: line.quantity for line in order.lines if not line.line_id.startswith(GIFT_LINE_PREFIX)}
    items = tuple(ShippedItem(line_id=s.line_id, quantity=s.quantity, ordered=ordered[s.line_id])
                  for s in shipment.lines if s.line_id in ordered)
    if not items:
        raise WritebackRejected(f"shipment {tracking_no} holds no line of the channel's order")
    in_parcel = {item.line_id: item.quantity for item in items}
    whole = all(in_parcel.get(line_id, 0) >= quantity for line_id, quantity in ordered.items())
    return ShipmentNotice(channel_order_id=order.channel_order_id, tracking_no=tracking_no, carrier=carrier,
                          items=items, whole_order=whole)


class ChannelApiWriteback:
    def __init__(self, apis: ChannelApis) -> None:
        self._apis = apis

    def confirm_shipment(self, order: Order, tracking_no: str, carrier: str) -> None:
        notice = shipment_notice(order, tracking_no, carrier)
        try:
            self._apis.api(order.channel.value).confirm_shipment(notice)
        except (ChannelApiUnavailable, ChannelNotConfigured) as exc:
            raise WritebackUnavailable(exc.message) from None
        except ChannelApiRejected as exc:
            raise WritebackRejected(exc.message) from None


class ChannelApiOrders:
    def __init__(self, apis: ChannelApis) -> None:
        self._apis = apis

    def view(self, channel: str, channel_order_id: str) -> ChannelOrderView:
        document = self._apis.api(channel).fetch_order(channel_order_id)
        order = adapter_for(channel).to_order(document)
        return ChannelOrderView(status=order.status, channel_status=order.channel_status)
