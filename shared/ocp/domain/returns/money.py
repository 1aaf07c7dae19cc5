"""What an after-sale refunds, in the order's minor unit (pure).

Every amount is a share of the original order line's apportioned `paid`. Units are priced cumulatively: the first
`n` of a line's `ordered` units are worth `paid * n // ordered`, so all partial refunds of a line add up to its
`paid` exactly and the last unit takes the remainder.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ocp.domain.returns.model import Grade, Policy, ReturnLine


def units_worth(paid: int, ordered: int, first: int, count: int) -> int:
    """The worth of units `first+1 … first+count` of a line whose `ordered` units were paid `paid` together."""
    if count <= 0:
        return 0
    end = min(first + count, ordered)
    return paid * end // ordered - paid * first // ordered


def lines_amount(lines: Sequence[ReturnLine]) -> int:
    """The returned units' share of their lines' `paid`, each line taking the units after those of earlier
    after-sales."""
    return sum(units_worth(line.paid, line.ordered, line.before, line.quantity) for line in lines)


def grade_deductions(lines: Sequence[ReturnLine], graded: Mapping[str, Mapping[Grade, int]], policy: Policy) -> int:
    """What the policy keeps back for units that came back worn or unsellable: a percentage of those units' worth
    (rounded down: never more than the percentage). A SKU's graded units are taken by its lines in order."""
    percent = {Grade.intact: 0, Grade.minor_wear: policy.minor_wear_deduction_percent,
               Grade.unsellable: policy.unsellable_deduction_percent}
    left = {sku: dict(grades) for sku, grades in graded.items()}
    total = 0
    for line in lines:
        worth = units_worth(line.paid, line.ordered, line.before, line.quantity)
        room = line.quantity
        for grade, units in left.get(line.sku, {}).items():
            take = min(units, room)
            if take:
                total += worth * take // line.quantity * percent[grade] // 100
                left[line.sku][grade] -= take
                room -= take
    return total


def refund_total(lines: Sequence[ReturnLine], shipping: int, deductions: int) -> int:
    """Lines plus shipping, less deductions; never below zero."""
    return max(0, lines_amount(lines) + shipping - deductions)
