"""The unified order: one model for every channel (API.md, "The unified order")."""

from enum import StrEnum
from typing import Annotated

from pydantic import Field, model_validator

from ocp.base_model import FrozenModel
from ocp.domain.clock import UtcTime
from ocp.domain.fulfillment.state import Fulfillment
from ocp.domain.inventory.intent import StockIntent
from ocp.domain.inventory.reservation import Reservation
from ocp.domain.order.enums import Channel, OrderStatus

Fen = Annotated[int, Field(description="Integer amount in the currency's minor unit (fen for CNY)")]


class HoldReason(StrEnum):
    insufficient_stock = "insufficient_stock"
    address_unresolved = "address_unresolved"
    phone_invalid = "phone_invalid"
    price_abnormal = "price_abnormal"
    duplicate_suspect = "duplicate_suspect"
    blacklisted_buyer = "blacklisted_buyer"
    buyer_note = "buyer_note"
    customs_id_invalid = "customs_id_invalid"
    presale_not_due = "presale_not_due"
    unroutable = "unroutable"
    purchase_limit_exceeded = "purchase_limit_exceeded"
    """The buyer would exceed the per-buyer purchase limit of a SKU (inventory policy)."""
    channel_edit_after_accept = "channel_edit_after_accept"
    """The channel changed the order's lines after it reached the warehouse: a person decides (re-pick, intercept)."""


GIFT_LINE_PREFIX = "gift:"
"""Line ids of the gift lines OCP's gift rules add (the channel never sends them)."""


class Amounts(FrozenModel):
    items: Fen = Field(description="Sum of unit price × quantity over the lines, before discounts")
    discount: Fen = Field(description="Order- and line-level discounts the buyer received")
    shipping: Fen = Field(description="Shipping the buyer paid, after shipping discounts")
    paid: Fen = Field(description="What the buyer paid: lines' `paid` plus shipping, exactly")
    tax: Fen = Field(default=0, description="Tax charged on top of prices (0 where prices include tax)")


class Address(FrozenModel):
    """As received: channels mask or encrypt PII, and OCP stores it untouched and never logs it."""

    country: str = "CN"
    province: str | None = None
    city: str | None = None
    district: str | None = None
    town: str | None = None
    detail: str | None = None
    postal_code: str | None = None
    recipient: str | None = None
    phone: str | None = None
    # ---- channel fields: where a channel sends ciphertext and a masked display value, both are kept
    masked_recipient: str | None = None
    masked_phone: str | None = None
    masked_detail: str | None = None
    pii_token: str | None = Field(
        default=None, description="The channel's handle for decrypting this address later (Taobao `oaid`)"
    )


class OrderLine(FrozenModel):
    line_id: str
    sku: str = Field(description="The merchant SKU ('' when the channel sent none)")
    channel_sku_id: str | None = None
    title: str | None = None
    quantity: int = Field(gt=0)
    unit_price: Fen
    discount: Fen = 0
    paid: Fen = Field(description="This line's share of what the buyer paid, after apportioned discounts")
    gift: bool = False
    # ---- channel fields ----
    gift_for: tuple[str, ...] = Field(
        default=(), description="For a free gift line: the line ids of the main lines it came with, when known"
    )
    refund_requested: bool = Field(
        default=False, description="The buyer has started a refund or return of this line on the channel"
    )
    tax: Fen = Field(default=0, description="Tax on this line included in `paid` (cross-border)")
    channel_status: str | None = Field(default=None, description="The channel's own status of this line, as sent")


class Presale(FrozenModel):
    """A pre-sale (预售) order: what kind, where it stands, and when the channel promised to ship."""

    kind: str = Field(description="deposit (定金预售) | full_payment (全款预售) | stepped (阶梯发货) | presale")
    stage: str | None = Field(default=None, description="The channel's stage, e.g. FRONT_PAID_FINAL_NOPAID or 1/2")
    deposit: Fen | None = Field(default=None, description="Deposit amount when the channel states it")
    ship_by: UtcTime | None = Field(default=None, description="The promised ship-by time, when the channel sends one")


class CrossBorder(FrozenModel):
    """A cross-border order: customs mode, taxes and the buyer's identity document as received (masked or
    encrypted; never logged)."""

    kind: str = Field(description="bonded | direct_mail | bbc | bc | cc | customs | presentment")
    tax: Fen = 0
    customs: str | None = None
    presentment_currency: str | None = None
    id_card_name: str | None = None
    id_card_no: str | None = None


class Hold(FrozenModel):
    reason: HoldReason
    detail: str
    until: UtcTime | None = Field(
        default=None, description="Released automatically at this time (a pre-sale order's release before ship-by)"
    )


class TimelineEntry(FrozenModel):
    at: UtcTime
    hop: str = Field(description="ingest | processing | inventory | fulfillment | channel_writeback | operator")
    event: str
    source: str = Field(description="The system that reported it: a channel, `ocp`, a warehouse, an operator")
    detail: str | None = None
    actor: str | None = Field(default=None, description="Who acted: the person `x-ocp-actor` named, else the "
                                                          "principal, or the OCP function")
    principal: str | None = Field(default=None, description="The authenticated principal whose API call this was")


class RulesApplied(FrozenModel):
    """Which rule versions decided the order: kind → version, 0 being the built-in default."""

    versions: dict[str, int]
    routing_rule: str | None = Field(default=None, description="The routing rule that fired; None: none did")
    gift_rules: tuple[str, ...] = Field(default=(), description="The gift rules whose lines the order carries")
    at: UtcTime


class OperatorOverrides(FrozenModel):
    """What operators decided, so that the checks a release runs again do not undo it."""

    acknowledged: tuple[HoldReason, ...] = Field(default=(), description="Hold reasons an operator cleared")
    warehouse: str | None = Field(default=None, description="The warehouse an operator chose: routing is skipped")
    edited: tuple[str, ...] = Field(default=(), description="Fields an operator changed: address, lines, warehouse")


class Order(FrozenModel):
    order_id: str
    channel: Channel
    channel_order_id: str
    channel_order_name: str | None = Field(default=None, description="Shop-facing name, e.g. Shopify `#1001`")
    status: OrderStatus
    status_since: UtcTime
    created_at: UtcTime
    paid_at: UtcTime | None = None
    cancelled_at: UtcTime | None = None
    channel_updated_at: UtcTime = Field(
        description="The channel's own modification time: a channel event older than this never applies"
    )
    currency: str = Field(min_length=3, max_length=3)
    amounts: Amounts
    address: Address
    buyer_id: str | None = None
    buyer_note: str | None = None
    seller_note: str | None = None
    tags: tuple[str, ...] = ()
    # ---- channel fields ----
    channel_status: str | None = Field(
        default=None, description="The channel's own order status, as sent (e.g. WAIT_SELLER_SEND_GOODS)"
    )
    seller_flag: int | None = Field(
        default=None, description="The seller's flag or star colour on the channel (Taobao seller_flag, Douyin stars)"
    )
    cash_on_delivery: bool = Field(default=False, description="Paid on delivery: ready to fulfil while unpaid")
    presale: Presale | None = None
    cross_border: CrossBorder | None = None
    lines: tuple[OrderLine, ...] = Field(min_length=1)
    warehouse: str | None = None
    # ---- inventory fields ----
    reservation: Reservation | None = Field(
        default=None, description="The stock this order holds (or held): warehouse, shards, quantities, expiry"
    )
    reservation_intent: StockIntent | None = Field(
        default=None, description="Set only while a stock change too large for one transaction is written in chunks"
    )
    # ---- rules ----
    rules_applied: RulesApplied | None = Field(default=None, description="The rule versions that decided the order")
    operator_overrides: OperatorOverrides = Field(
        default_factory=OperatorOverrides, description="Operators' decisions on the held queue, kept across re-checks"
    )
    holds: tuple[Hold, ...] = ()
    # ---- fulfillment ----
    fulfillment: Fulfillment = Field(
        default_factory=Fulfillment,
        description="With the warehouse: instruction version, callbacks seen, shipments and their write-back, issues",
    )
    writeback_pending_since: UtcTime | None = Field(
        default=None,
        description="Set while a shipment is not acknowledged by the channel (keys the sparse index "
        "`by_writeback_pending`); always `fulfillment.writeback_pending_since()`",
    )
    aftersale_of: str | None = Field(
        default=None, description="For the outbound order of an exchange or reship: its after-sale (`return_id`); "
                                  "its shipment is not written back to the channel as an order shipment")
    timeline: tuple[TimelineEntry, ...] = ()
    revision: int = Field(default=0, description="OCP's write counter for optimistic concurrency")

    @model_validator(mode="after")
    def _paid_reconciles(self) -> "Order":
        lines_paid = sum(line.paid for line in self.lines)
        if lines_paid + self.amounts.shipping != self.amounts.paid:
            raise ValueError(
                f"lines' paid ({lines_paid}) + shipping ({self.amounts.shipping}) "
                f"!= amounts.paid ({self.amounts.paid})"
            )
        return self


def sold_lines(order: Order) -> tuple[OrderLine, ...]:
    """The lines the channel sold, without the gift lines OCP added."""
    return tuple(line for line in order.lines if not line.line_id.startswith(GIFT_LINE_PREFIX))


def order_id_for(channel: Channel, channel_order_id: str) -> str:
    """OCP's order id is derived from the channel's, so a retried delivery can only ever name one order."""
    return f"{channel.value}-{channel_order_id}"


def channel_key(channel: Channel, channel_order_id: str) -> str:
    return f"{channel.value}#{channel_order_id}"
