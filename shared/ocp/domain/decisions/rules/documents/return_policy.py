"""The `return_policy` kind: how a return request is handled; the first matching rule wins."""

from typing import Any

from pydantic import Field

from ocp.base_model import FrozenModel
from ocp.domain.decisions.rules.kinds import MAX_RULES, DocumentBase, RuleBase, always_rule


class ReturnPolicyThen(FrozenModel):
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


DOCUMENT = ReturnPolicyDocument
DEFAULT: dict[str, Any] = {"description": "Ships with OCP: 7-day returns (七天无理由), approved by a person", "rules": [
    always_rule("default", 1_000_000, {"auto_approve": False, "window_days": 7, "refund_shipping": False},
                "China's seven-day no-reason return window; a person approves"),
]}
