"""The `anomaly` kind: the built-in checks' thresholds and lists (`checks`) and rules that add holds of their own
(every matching rule applies)."""

from typing import Any

from pydantic import Field, field_validator

from ocp.base_model import FrozenModel
from ocp.domain.decisions.rules.conditions import pattern_problems
from ocp.domain.decisions.rules.kinds import MAX_RULES, DocumentBase, RuleBase
from ocp.domain.order.model import HoldReason


class _Check(FrozenModel):
    enabled: bool = True


class Division(FrozenModel):
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


class AnomalyChecks(FrozenModel):
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


class AnomalyThen(FrozenModel):
    hold: HoldReason
    detail: str | None = Field(default=None, max_length=200, description="Shown in the held queue")


class AnomalyRule(RuleBase):
    then: AnomalyThen


class AnomalyDocument(DocumentBase):
    checks: AnomalyChecks = Field(default_factory=AnomalyChecks)
    rules: list[AnomalyRule] = Field(default_factory=list, max_length=MAX_RULES)


DOCUMENT = AnomalyDocument
DEFAULT: dict[str, Any] = {"description": "Ships with OCP: every check on, default thresholds", "rules": []}
