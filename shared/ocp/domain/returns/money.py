"""What an after-sale refunds, in the order's minor unit (pure).

Every amount is a share of the original order line's apportioned `paid`. Units are priced cumulatively: the first
`n` of a line's `ordered` units are worth `paid * n // ordered`, so all partial refunds of a line add up to its
`paid` exactly and the last unit takes the remainder.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ocp.domain.returns.model import AfterSale, Grade, Policy, ReturnLine


def units_worth(paid: int, ordered: int, first: int, count: int) -> int:
    """The worth of units `first+1 … first+count` of a line whose `ordered` units were paid `paid` together."""
    if count <= 0:
        return 0
    end = min(first + count, ordered)
    return paid * end // ordered - paid * first // ordered


def lines_amount(lines: Sequence[ReturnLine]) -> int:
    """The returned units' share of their lines' `paid`: what was priced at the refund, else the estimate from the
    units of earlier after-sales (`before`)."""
    return sum(line_worth(line) for line in lines)


def line_worth(line: ReturnLine) -> int:
    if line.refunded is not None:
        return line.refunded
    return units_worth(line.paid, line.ordered, line.before, line.quantity)


def line_refund(line: ReturnLine, refunded_units: int, refunded_amount: int) -> int:
    """What the line's units refund, after `refunded_units` units of it were refunded for `refunded_amount` by other
    after-sales: the next units' worth, and the rest of `paid` when they are the last ones. Never more than what is
    left of `paid`, so a line's refunds add up to its `paid` exactly whatever was rejected in between."""
    left = max(0, line.paid - refunded_amount)
    if refunded_units + line.quantity >= line.ordered:
        return left
    return min(left, units_worth(line.paid, line.ordered, refunded_units, line.quantity))


def grade_deductions(lines: Sequence[ReturnLine], graded: Mapping[str, Mapping[Grade, int]], policy: Policy) -> int:
    """What the policy keeps back for units that came back worn or unsellable: a percentage of those units' worth
    (rounded down: never more than the percentage). A SKU's graded units are taken by its lines in order."""
    percent = {Grade.intact: 0, Grade.minor_wear: policy.minor_wear_deduction_percent,
               Grade.unsellable: policy.unsellable_deduction_percent}
    left = {sku: dict(grades) for sku, grades in graded.items()}
    total = 0
    for line in lines:
        worth = line_worth(line)
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


def refund_lines(after_sale: AfterSale, others: Sequence[AfterSale]) -> tuple[ReturnLine, ...]:
    """The after-sale's lines priced now (`refunded`), after what the other after-sales of the same lines (those that
    still count: `checks.counting`) refunded already."""
    priced = []
    for line in after_sale.lines:
        before = [other for a in others for other in a.lines
                  if other.line_id == line.line_id and other.refunded is not None]
        amount = line_refund(line, sum(o.quantity for o in before), sum(o.refunded or 0 for o in before))
        priced.append(line.model_copy(update={"refunded": amount}))
    return tuple(priced)
