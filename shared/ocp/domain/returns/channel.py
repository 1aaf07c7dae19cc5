"""A marketplace's after-sale record as OCP reads it back through the channel's API (pure).

Pushes are only signals ("after-sale X changed"): the record is always re-read (`AfterSaleApi.fetch_aftersale`)
and normalised to `ChannelAfterSale`, then upserted by (channel, after-sale id, version).
"""

from enum import StrEnum

from pydantic import Field

from ocp.base_model import FrozenModel
from ocp.domain.clock import UtcTime
from ocp.domain.errors import DomainError
from ocp.domain.order.model import Fen
from ocp.domain.returns.model import ReturnKind


class ChannelState(StrEnum):
    """The channel's status, normalised: what the merchant's side must do next, or how it ended."""

    awaiting_seller = "awaiting_seller"
    """The buyer asked; the merchant must agree or refuse (Taobao WAIT_SELLER_AGREE, Douyin 6, JD 0)."""
    awaiting_buyer_return = "awaiting_buyer_return"
    """The return was agreed; the buyer has not shipped yet (WAIT_BUYER_RETURN_GOODS, Douyin 7)."""
    buyer_returned = "buyer_returned"
    """The buyer shipped the goods back; the merchant confirms receipt (WAIT_SELLER_CONFIRM_GOODS, Douyin 11)."""
    refund_agreed = "refund_agreed"
    """The refund is agreed; the money is not paid yet (Douyin 12 before refund_status 3)."""
    refunded = "refunded"
    """The channel paid the money out (Taobao SUCCESS, Douyin refund_status 3 / tag 206)."""
    refused = "refused"
    closed = "closed"
    """The buyer cancelled, or the channel closed it."""


class ChannelAfterSaleLine(FrozenModel):
    channel_line_id: str = Field(description="The order line it is about: Taobao oid, Douyin s_id, JD sku, Shopify "
                                             "line item id (OCP's `OrderLine.line_id`)")
    quantity: int = Field(gt=0)
    sku: str | None = None


class BuyerShipment(FrozenModel):
    carrier: str
    waybill_no: str


class ChannelAfterSale(FrozenModel):
    channel: str
    aftersale_id: str
    channel_order_id: str
    kind: ReturnKind
    state: ChannelState
    channel_status: str = Field(description="The channel's own status value, as read")
    version: str | None = Field(default=None, description="Taobao refund_version, Douyin update_time, JD sysVersion")
    phase: str | None = Field(default=None, description="Taobao refund_phase (onsale | aftersale): Tmall writes must "
                                                        "send it back with the version")
    lines: tuple[ChannelAfterSaleLine, ...]
    requested_amount: Fen | None = Field(default=None, description="What the buyer asked for, in fen")
    reason: str | None = None
    buyer_shipment: BuyerShipment | None = None
    deadline: UtcTime | None = Field(default=None, description="When the channel decides on its own")
    modified_at: UtcTime


class AfterSaleSignal(FrozenModel):
    """A push that says an after-sale changed: which one (re-read it); `settled` when the push itself is the
    channel's refund-success message."""

    aftersale_id: str
    settled: bool = False


class AfterSaleRefused(DomainError):
    """The channel refused a write for good (a state it no longer allows, an amount it refuses)."""

    code = "aftersale_refused"


class StaleAfterSale(DomainError):
    """The channel refused a write because its record changed since it was read (version): read it again."""

    code = "stale_aftersale"
