"""The rule kinds: each one's document shape (its `then`, and for `anomaly` its check thresholds), whether the
first matching rule wins or every matching rule applies, and the default document that ships with the product.

Every document is `{"rules": [{"id", "priority", "when", "then", "description"?, "enabled"?}, ...]}`; the
lowest `priority` number wins, and rules of equal priority keep their order in the document.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ocp.base_model import OcpModel
from ocp.domain.decisions.routing import ANY_WAREHOUSE
from ocp.domain.decisions.rules.conditions import Condition, pattern_problems
from ocp.domain.decisions.rules.paths import ValueType
from ocp.domain.fulfillment.stuck import DEFAULT_SLA_DOCUMENT, SlaPolicy
from ocp.domain.operations.catalog import Sku
from ocp.domain.order.model import HoldReason

RULE_ID = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$"
WAREHOUSE_ID = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$"
MAX_RULES = 1000


class RuleKind(StrEnum):
    routing = "routing"
    anomaly = "anomaly"
    gift = "gift"
    return_policy = "return_policy"
    sla = "sla"


class _Strict(OcpModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RuleBase(_Strict):
    id: str = Field(pattern=RULE_ID, description="Unique within the document; orders and traces name it")
    priority: int = Field(ge=0, le=1_000_000, description="Lowest number wins; ties keep document order")
    description: str | None = Field(default=None, max_length=500)
    enabled: bool = Field(default=True, description="A disabled rule is kept but never evaluated")
    when: Condition


class DocumentBase(_Strict):
    description: str | None = Field(default=None, max_length=2000)


# ---- routing --------------------------------------------------------------------------------------------


class RoutingThen(_Strict):
    """Exactly one of: ordered candidate `warehouses` (`"*"` last = then any other warehouse with stock),
    a `supplier` that drop-ships, or a `hold` reason that sends the order to review."""

    warehouses: list[str] | None = Field(default=None, min_length=1, max_length=50)
    split: bool = Field(default=False, description="Split across the candidates when none can take the whole order")
    supplier: str | None = Field(default=None, pattern=WAREHOUSE_ID)
    hold: HoldReason | None = None

    @field_validator("warehouses")
    @classmethod
    def _warehouse_ids(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return value
        problems = [
            f"{w!r} is not a warehouse id" for w in value if w != ANY_WAREHOUSE and not re.match(WAREHOUSE_ID, w)
        ]
        if ANY_WAREHOUSE in value[:-1]:
            problems.append(f'"{ANY_WAREHOUSE}" (any other warehouse) may only come last')
        if len(set(value)) != len(value):
            problems.append("a warehouse is listed twice")
        if problems:
            raise ValueError("; ".join(problems))
        return value

    @model_validator(mode="after")
    def _one_action(self) -> RoutingThen:
        actions = [name for name in ("warehouses", "supplier", "hold") if getattr(self, name) is not None]
        if len(actions) != 1:
            raise ValueError(f"give exactly one of warehouses, supplier, hold; found {', '.join(actions) or 'none'}")
        if self.split and self.warehouses is None:
            raise ValueError("split applies to warehouses only")
        return self


class RoutingRule(RuleBase):
    then: RoutingThen


MAX_MERGE_WINDOW_MINUTES = 240
"""A parcel held longer than this for a buyer's next order would miss the day's cut-off."""


class RoutingDocument(DocumentBase):
    rules: list[RoutingRule] = Field(max_length=MAX_RULES)
    merge_window_minutes: int = Field(
        default=0, ge=0, le=MAX_MERGE_WINDOW_MINUTES,
        description="Merged parcels: a newly reserved order waits up to this long for other orders of the same "
                    "channel, buyer, address and warehouse, and they leave as one instruction; 0 (default) is off",
    )


# ---- anomaly --------------------------------------------------------------------------------------------


class _Check(_Strict):
    enabled: bool = True


class Division(_Strict):
    province: str = Field(min_length=2, max_length=40)
    city: str = Field(min_length=2, max_length=40)
    district: str | None = Field(default=None, min_length=2, max_length=40)


class AddressCheck(_Check):
    """Province, city and district must exist in China's administrative divisions and belong together."""

    require_district: bool = Field(default=True, description="Hold when a city with districts is given none")
    extra_divisions: list[Division] = Field(
        default_factory=list, max_length=2000,
        description="Divisions newer than the dataset (or development zones that couriers know)",
    )
    aliases: dict[str, str] = Field(
        default_factory=dict, max_length=2000, description="Another name → the dataset's name (renamed divisions)"
    )


class PhoneCheck(_Check):
    mobile_only: bool = Field(default=False, description="Hold landlines too (couriers text mobiles)")


class PriceCheck(_Check):
    below_floor: bool = Field(default=True, description="Hold a line paying less per unit than catalog `min_price`")
    max_discount_pct: int | None = Field(
        default=80, ge=1, le=100,
        description="Hold a line paying less than list price × (100 − this)%; null turns the test off",
    )


class DuplicateCheck(_Check):
    window_minutes: int = Field(default=30, ge=1, le=7 * 24 * 60)


class BlacklistCheck(_Check):
    buyers: list[str] = Field(default_factory=list, max_length=20_000, description="`buyer_id` or `channel:buyer_id`")
    phones: list[str] = Field(default_factory=list, max_length=20_000)
    addresses: list[str] = Field(
        default_factory=list, max_length=20_000, description="Full addresses (province+city+district+detail)"
    )


DEFAULT_NOTE_KEYWORDS = (
    "发票", "开票", "改地址", "修改地址", "换地址", "地址错", "地址写错", "改电话", "不要发", "别发", "先别发",
    "暂停发货", "延迟发货", "晚点发", "指定快递", "到付", "退款", "取消订单", "合并发货", "拆开发",
)


class BuyerNoteCheck(_Check):
    keywords: list[str] = Field(default_factory=lambda: list(DEFAULT_NOTE_KEYWORDS), max_length=500)
    patterns: list[str] = Field(default_factory=list, max_length=100, description="Regular expressions")
    hold_any_note: bool = Field(default=False, description="Every order with a buyer note goes to a person")

    @field_validator("patterns")
    @classmethod
    def _safe_patterns(cls, value: list[str]) -> list[str]:
        problems = [f"patterns[{i}]: {p}" for i, pattern in enumerate(value) for p in pattern_problems(pattern)]
        if problems:
            raise ValueError("; ".join(problems))
        return value


class CustomsCheck(_Check):
    accept_masked: bool = Field(
        default=True,
        description="Accept an ID the channel masked or encrypted (the channel verified it); else hold it",
    )
    declared_by_channel: list[str] = Field(
        default_factory=list, max_length=10,
        description="Channels that file the customs declaration themselves (the buyer's ID never reaches OCP)",
    )


class PresaleCheck(_Check):
    release_hours_before: int = Field(default=0, ge=0, le=720, description="Release this long before ship-by")


RESERVE_WHILE_HELD_DEFAULTS: dict[HoldReason, bool] = {
    HoldReason.duplicate_suspect: False,
    HoldReason.presale_not_due: False,
}
"""Hold reasons whose paid orders reserve nothing while held: a probable duplicate would take the stock twice, and
a pre-sale's stock arrives for its ship date. Every other hold keeps the paid order's units while a person looks."""


class AnomalyChecks(_Strict):
    reserve_while_held: dict[HoldReason, bool] = Field(
        default_factory=dict,
        description="Per hold reason: does a paid order held for it reserve its stock meanwhile? Default true, "
                    "except duplicate_suspect and presale_not_due",
    )
    address: AddressCheck = Field(default_factory=AddressCheck)
    phone: PhoneCheck = Field(default_factory=PhoneCheck)
    price: PriceCheck = Field(default_factory=PriceCheck)
    duplicate: DuplicateCheck = Field(default_factory=DuplicateCheck)
    blacklist: BlacklistCheck = Field(default_factory=BlacklistCheck)
    buyer_note: BuyerNoteCheck = Field(default_factory=BuyerNoteCheck)
    customs: CustomsCheck = Field(default_factory=CustomsCheck)
    presale: PresaleCheck = Field(default_factory=PresaleCheck)


def reserves_while_held(checks: AnomalyChecks, reason: HoldReason) -> bool:
    return checks.reserve_while_held.get(reason, RESERVE_WHILE_HELD_DEFAULTS.get(reason, True))


class AnomalyThen(_Strict):
    hold: HoldReason
    detail: str | None = Field(default=None, max_length=200, description="Shown in the held queue")


class AnomalyRule(RuleBase):
    then: AnomalyThen


class AnomalyDocument(DocumentBase):
    checks: AnomalyChecks = Field(default_factory=AnomalyChecks)
    rules: list[AnomalyRule] = Field(default_factory=list, max_length=MAX_RULES)


# ---- gift -----------------------------------------------------------------------------------------------


class GiftThen(_Strict):
    """Add `quantity` of `gift_sku` (paid 0, `gift: true`); with `per_unit_of`, that many for every `every`
    units bought of those SKUs (buy 2 get 1: `every: 2`)."""

    gift_sku: Sku
    quantity: int = Field(default=1, ge=1, le=100)
    per_unit_of: list[Sku] | None = Field(default=None, min_length=1, max_length=100)
    every: int = Field(default=1, ge=1, le=1000)
    max_per_order: int | None = Field(default=None, ge=1, le=1000)
    while_stock_lasts: bool = Field(
        default=True, description="No gift stock: ship without it (true) or hold the order (false)"
    )
    stop: bool = Field(default=False, description="No rule after this one applies when this one does")


class GiftRule(RuleBase):
    then: GiftThen


class GiftDocument(DocumentBase):
    rules: list[GiftRule] = Field(default_factory=list, max_length=MAX_RULES)


# ---- return policy --------------------------------------------------------------------------------------


class ReturnPolicyThen(_Strict):
    auto_approve: bool = Field(default=False, description="Approve without a person")
    window_days: int | None = Field(
        default=None, ge=0, le=365, description="Days after delivery; null: the catalog's return_window_days"
    )
    refund_shipping: bool = False
    require_receipt: bool = Field(default=True, description="Refund only after the warehouse scans the return in")
    max_auto_amount: int | None = Field(default=None, ge=0, description="Above this refund (fen) a person approves")
    refund_overdue_after_minutes: int = Field(
        default=4320, ge=1, le=525_600,
        description="A refund not settled this long after it was agreed turns refund_overdue (finance is told)")
    minor_wear_deduction_percent: int = Field(
        default=0, ge=0, le=100, description="Kept back from the worth of units received graded minor_wear")
    unsellable_deduction_percent: int = Field(
        default=0, ge=0, le=100, description="Kept back from the worth of units received graded unsellable")


class ReturnPolicyRule(RuleBase):
    then: ReturnPolicyThen


class ReturnPolicyDocument(DocumentBase):
    rules: list[ReturnPolicyRule] = Field(max_length=MAX_RULES)


# ---- sla ------------------------------------------------------------------------------------------------
# The `sla` document is the stuck-order report's `SlaPolicy` (ocp.domain.fulfillment.stuck): a status → limit table with
# cut-offs, not a list of rules. It is versioned and validated by the same store and API as the other kinds;
# its `version` is the store's (a `version` in a PUT body is ignored).


# ---- the kinds ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KindSpec:
    kind: RuleKind
    document: type[BaseModel]
    """The document model: a `DocumentBase` with `rules`, or (for `sla`) a table of limits."""
    every_match: bool
    """True: every matching rule applies (anomaly holds, gifts). False: the first matching rule decides."""
    default: dict[str, Any]
    summary: str
    extra_roots: dict[str, ValueType] = field(default_factory=dict)
    """Paths besides the order's that this kind's conditions may read (given per evaluation)."""


def _always(rule_id: str, priority: int, then: dict[str, Any], description: str) -> dict[str, Any]:
    return {"id": rule_id, "priority": priority, "description": description, "when": {"always": True}, "then": then}


KINDS: dict[RuleKind, KindSpec] = {
    RuleKind.routing: KindSpec(
        RuleKind.routing, RoutingDocument, every_match=False,
        summary="Which warehouses (or supplier) an order goes to; the first matching rule wins",
        default={"description": "Ships with OCP: any warehouse with stock", "rules": [
            _always("default", 1_000_000, {"warehouses": [ANY_WAREHOUSE], "split": False},
                    "Any warehouse that can take the whole order"),
        ]},
    ),
    RuleKind.anomaly: KindSpec(
        RuleKind.anomaly, AnomalyDocument, every_match=True,
        summary="Checks that hold an order for a person: thresholds in `checks`, extra holds in `rules`",
        default={"description": "Ships with OCP: every check on, default thresholds", "rules": []},
    ),
    RuleKind.gift: KindSpec(
        RuleKind.gift, GiftDocument, every_match=True,
        summary="Gift lines added to matching orders (every matching rule applies, until one says stop)",
        default={"description": "Ships with OCP: no promotions", "rules": []},
    ),
    RuleKind.return_policy: KindSpec(
        RuleKind.return_policy, ReturnPolicyDocument, every_match=False,
        summary="How a return request is handled; the first matching rule wins",
        default={"description": "Ships with OCP: 7-day returns (七天无理由), approved by a person", "rules": [
            _always("default", 1_000_000, {"auto_approve": False, "window_days": 7, "refund_shipping": False},
                    "China's seven-day no-reason return window; a person approves"),
        ]},
        extra_roots={
            "return.reason": ValueType.string,
            "return.days_since_delivery": ValueType.integer,
            "return.quantity": ValueType.integer,
            "return.amount": ValueType.integer,
            "return.kind": ValueType.string,
        },
    ),
    RuleKind.sla: KindSpec(
        RuleKind.sla, SlaPolicy, every_match=False,
        summary="How long an order may stay in each status before the stuck report lists it (no rules: a table)",
        default={k: v for k, v in DEFAULT_SLA_DOCUMENT.items() if k != "version"},
    ),
}


def spec_for(kind: str) -> KindSpec:
    """The kind's spec; `UnknownRuleKind` (404) for a kind that does not exist."""
    from ocp.domain.decisions.rules.errors import UnknownRuleKind

    try:
        return KINDS[RuleKind(kind)]
    except ValueError:
        raise UnknownRuleKind(
            f"no rule kind {kind!r}", details={"kinds": [k.value for k in RuleKind]}
        ) from None
