"""The return_policy rules applied to one after-sale, and the approval decision they lead to (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ocp.domain.decisions.rules.documents.return_policy import ReturnPolicyThen
from ocp.domain.decisions.rules.paths import Facts
from ocp.domain.returns.checks import days_since_delivery
from ocp.domain.returns.model import AfterSale, Policy
from ocp.domain.returns.money import lines_amount

if TYPE_CHECKING:
    from ocp.domain.decisions.rules.engine import RuleSet
    from ocp.domain.operations.catalog import CatalogItem
    from ocp.domain.order.model import Order

AUTO_ACTOR = "ocp:return-policy"


def return_facts(after_sale: AfterSale, order: Order, catalog: Mapping[str, CatalogItem], now: datetime) -> Facts:
    """The order's facts plus the `return.*` root the return_policy conditions read."""
    reasons = [line.reason for line in after_sale.lines if line.reason] or [after_sale.reason or ""]
    extra: dict[str, Any] = {"return": {
        "reason": reasons[0],
        "days_since_delivery": days_since_delivery(order, now) or 0,
        "quantity": sum(line.quantity for line in after_sale.lines),
        "amount": lines_amount(after_sale.lines),
        "kind": after_sale.kind.value,
    }}
    return Facts(order, catalog, extra)


def policy_for(ruleset: RuleSet[Any], facts: Facts) -> Policy:
    """The first matching return_policy rule's terms (the built-in defaults when none matches)."""
    winner = ruleset.first(facts)
    then: ReturnPolicyThen = winner.then if winner is not None else ReturnPolicyThen()
    return Policy(rule=winner.id if winner is not None else None, version=ruleset.version,
                  auto_approve=then.auto_approve, window_days=then.window_days,
                  refund_shipping=then.refund_shipping, require_receipt=then.require_receipt,
                  max_auto_amount=then.max_auto_amount,
                  refund_overdue_after_minutes=then.refund_overdue_after_minutes,
                  minor_wear_deduction_percent=then.minor_wear_deduction_percent,
                  unsellable_deduction_percent=then.unsellable_deduction_percent)


def needs_a_person(policy: Policy, amount: int) -> str | None:
    """Why a person must approve, or None when the policy approves on its own."""
    if not policy.auto_approve:
        return f"rule {policy.rule or 'default'} does not auto-approve"
    if policy.max_auto_amount is not None and amount > policy.max_auto_amount:
        return f"refund {amount} is above the auto-approval limit {policy.max_auto_amount}"
    return None
