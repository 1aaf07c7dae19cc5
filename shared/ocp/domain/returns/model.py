"""The after-sale (the contract's "return"): one model for a refund before shipment, a return, an exchange or a
reship, whichever channel it came from (pure).

Money is in the order's minor unit (fen for CNY). Every amount is a share of the original order's apportioned
`paid` per line (`ocp.domain.returns.money`).
"""

from datetime import datetime
from enum import StrEnum

from pydantic import Field

from ocp.base_model import FrozenModel
from ocp.domain.clock import UtcTime
from ocp.domain.order.model import Fen, Order, TimelineEntry


class ReturnKind(StrEnum):
    refund_only = "refund_only"
    """仅退款 before shipment: stop the parcel, release the stock, refund."""
    refund_only_after_ship = "refund_only_after_ship"
    """仅退款 after shipment: the buyer keeps the goods (lost, damaged, agreed)."""
    return_refund = "return_refund"
    exchange = "exchange"
    reship = "reship"
    """补发: send the lines again (missing or broken in the parcel), no money back."""


class ReturnStatus(StrEnum):
    requested = "requested"
    rejected = "rejected"
    awaiting_approval = "awaiting_approval"
    intercepting = "intercepting"
    awaiting_buyer_shipment = "awaiting_buyer_shipment"
    awaiting_receipt = "awaiting_receipt"
    refund_pending = "refund_pending"
    refunded = "refunded"
    refund_overdue = "refund_overdue"
    closed = "closed"
    failed = "failed"
    """A workflow step failed for good; `failure` says which and why (an alert went out)."""


FINAL_STATUSES = frozenset({ReturnStatus.rejected, ReturnStatus.refunded, ReturnStatus.closed, ReturnStatus.failed})


class Grade(StrEnum):
    intact = "intact"
    minor_wear = "minor_wear"
    unsellable = "unsellable"


class ReturnLine(FrozenModel):
    line_id: str = Field(description="The original order's line")
    sku: str
    quantity: int = Field(gt=0)
    reason: str | None = None
    ordered: int = Field(gt=0, description="The line's quantity on the order")
    paid: Fen = Field(description="The order line's apportioned `paid` (for all `ordered` units): every amount's basis")
    before: int = Field(default=0, ge=0, description="Units of the line already in earlier after-sales")
    refunded: Fen | None = Field(default=None, description="What this after-sale refunds for the line, once priced")


class ReceiptLine(FrozenModel):
    sku: str
    quantity: int = Field(gt=0)
    grade: Grade


class Receipt(FrozenModel):
    receipt_id: str
    at: UtcTime
    warehouse: str
    lines: tuple[ReceiptLine, ...]
    actor: str


class Label(FrozenModel):
    """How the goods come back: a carrier pickup or e-waybill OCP booked, or the buyer's own waybill."""

    carrier: str
    waybill_no: str
    source: str = Field(description="ocp (booked by OCP) | buyer (the buyer's own shipment, from the channel)")
    pickup_code: str | None = None
    return_address: str | None = None


class RefundState(StrEnum):
    pending = "pending"
    requested = "requested"
    """Agreed on the channel, or issued on the payment side: the money is on its way."""
    settled = "settled"


class Refund(FrozenModel):
    refund_id: str
    amount: Fen = Field(description="What goes back: the lines' share, shipping per policy, minus deductions")
    lines_amount: Fen
    shipping: Fen = 0
    deductions: Fen = 0
    state: RefundState = RefundState.pending
    channel_ref: str | None = Field(default=None, description="The channel's or payment provider's refund id")
    requested_at: UtcTime | None = None
    due_at: UtcTime | None = Field(default=None, description="Past this without settlement: refund_overdue")
    settled_at: UtcTime | None = None


class Decision(FrozenModel):
    approved: bool
    auto: bool
    rule: str | None = Field(default=None, description="The return_policy rule that fired")
    by: str
    at: UtcTime
    reason: str | None = None
    reason_code: str | None = Field(default=None, description="A refusal's reason code on the channel")


class Waiting(StrEnum):
    decision = "decision"
    intercept = "intercept"
    buyer_shipment = "buyer_shipment"
    receipt = "receipt"
    replacement = "replacement"
    settlement = "settlement"


class Wait(FrozenModel):
    """The workflow is paused on something outside it; `token` resumes it (a Step Functions task token)."""

    on: Waiting
    token: str
    since: UtcTime
    until: UtcTime | None = None


class Step(FrozenModel):
    at: UtcTime
    step: str
    actor: str
    principal: str | None = Field(default=None, description="The authenticated principal whose API call this was")
    detail: str | None = None
    status: ReturnStatus | None = Field(default=None, description="The status the step left the after-sale in")


class Policy(FrozenModel):
    """What the return_policy rules decided for this after-sale (kept so every later step reads the same)."""

    # Defaults for the optional terms: the DynamoDB store leaves None out of the item.
    rule: str | None = None
    version: int
    auto_approve: bool
    window_days: int | None = None
    refund_shipping: bool
    require_receipt: bool
    max_auto_amount: int | None = None
    refund_overdue_after_minutes: int
    minor_wear_deduction_percent: int
    unsellable_deduction_percent: int


class AfterSale(FrozenModel):
    return_id: str
    order_id: str
    channel: str
    channel_aftersale_id: str | None = None
    channel_status: str | None = Field(default=None, description="The channel's own status, as last read")
    channel_version: str | None = Field(
        default=None, description="The channel's optimistic version (Taobao refund_version, Douyin update_time)")
    kind: ReturnKind
    status: ReturnStatus
    status_since: UtcTime
    lines: tuple[ReturnLine, ...]
    currency: str
    reason: str | None = None
    refund_amount: Fen = Field(default=0, description="What is (or will be) refunded, once decided")
    requested_amount: Fen | None = Field(default=None, description="What the buyer asked for on the channel")
    shipping_paid: Fen = Field(default=0, description="The order's shipping, refunded when the policy says so")
    policy: Policy | None = None
    decision: Decision | None = None
    label: Label | None = None
    receipts: tuple[Receipt, ...] = ()
    refund: Refund | None = None
    replacement_order_id: str | None = None
    wait: Wait | None = None
    deadline: UtcTime | None = Field(default=None, description="The channel's own deadline to answer")
    failure: str | None = None
    refusal: str | None = Field(
        default=None, description="Why OCP's checks would refuse a marketplace's after-sale: a person decides")
    steps: tuple[Step, ...] = ()
    created_at: UtcTime
    updated_at: UtcTime
    revision: int = 0

    @property
    def final(self) -> bool:
        return self.status in FINAL_STATUSES

    def received(self) -> dict[str, int]:
        """Units received so far per SKU, every grade."""
        counts: dict[str, int] = {}
        for receipt in self.receipts:
            for line in receipt.lines:
                counts[line.sku] = counts.get(line.sku, 0) + line.quantity
        return counts

    def expected(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for line in self.lines:
            counts[line.sku] = counts.get(line.sku, 0) + line.quantity
        return counts

    def fully_received(self) -> bool:
        received = self.received()
        return all(received.get(sku, 0) >= quantity for sku, quantity in self.expected().items())


def with_step(after_sale: AfterSale, step: str, actor: str, at: datetime, detail: str | None = None,
              **changes: object) -> AfterSale:
    """The after-sale with `changes` applied and one step recorded (the status it ends in, when that changed)."""
    status = changes.get("status", after_sale.status)
    moved = status != after_sale.status
    entry = Step(at=at, step=step, actor=actor, detail=detail, status=status if moved else None)
    update: dict[str, object] = {**changes, "steps": (*after_sale.steps, entry), "updated_at": at}
    if moved:
        update["status_since"] = at
    return after_sale.model_copy(update=update)


def with_aftersale_steps(order: Order, after_sales: list[AfterSale]) -> Order:
    """The order with its after-sales' steps on its timeline (hop `aftersale`), in time order. They are stored with
    the after-sales, so the order's own item never grows with them."""
    entries = []
    for after_sale in after_sales:
        for step in after_sale.steps:
            source = step.actor.split(":", 1)[1] if step.actor.startswith("channel:") else "ocp"
            detail = f"{after_sale.return_id} ({after_sale.kind.value})" + (f": {step.detail}" if step.detail else "")
            entries.append(TimelineEntry(at=step.at, hop="aftersale", event=step.step, source=source, detail=detail,
                                         actor=step.actor))
    if not entries:
        return order
    return order.model_copy(update={"timeline": tuple(sorted((*order.timeline, *entries), key=lambda e: e.at))})
