"""After-sales in the domain: what units are worth, which requests fit their order, what the policy decides."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ocp.domain.decisions.rules.engine import compile_document, default_ruleset
from ocp.domain.returns.checks import ReturnRefused, check, priced_lines
from ocp.domain.returns.model import (
    AfterSale,
    Grade,
    Policy,
    ReturnKind,
    ReturnLine,
    ReturnStatus,
    with_aftersale_steps,
    with_step,
)
from ocp.domain.returns.money import grade_deductions, lines_amount, refund_total, units_worth
from ocp.domain.returns.policy import needs_a_person, policy_for, return_facts
from tests.rules_support import catalog_item, line, make_order

NOW = datetime(2026, 11, 20, 4, 0, tzinfo=UTC)


def _policy(**terms: object) -> Policy:
    base: dict[str, object] = {"rule": "r", "version": 1, "auto_approve": True, "window_days": 7,
                               "refund_shipping": False, "require_receipt": True, "max_auto_amount": None,
                               "refund_overdue_after_minutes": 60, "minor_wear_deduction_percent": 0,
                               "unsellable_deduction_percent": 0}
    return Policy.model_validate({**base, **terms})


def _after_sale(lines: tuple[ReturnLine, ...], kind: ReturnKind = ReturnKind.return_refund) -> AfterSale:
    return AfterSale(return_id="ret-1", order_id="taobao-1001", channel="taobao", kind=kind,
                     status=ReturnStatus.requested, status_since=NOW, lines=lines, currency="CNY", created_at=NOW,
                     updated_at=NOW)


# ---- money ---------------------------------------------------------------------------------------------------


@given(paid=st.integers(0, 10_000_000), ordered=st.integers(1, 50), data=st.data())
def test_partial_refunds_of_a_line_always_add_up_to_its_paid(paid: int, ordered: int, data: st.DataObject) -> None:
    # Given a line of `ordered` units returned in any sequence of partial after-sales
    parts = data.draw(st.lists(st.integers(1, ordered), min_size=1, max_size=ordered))
    first, total = 0, 0
    for count in parts:
        count = min(count, ordered - first)
        # When each after-sale is priced after the units of the earlier ones
        total += units_worth(paid, ordered, first, count)
        first += count
    total += units_worth(paid, ordered, first, ordered - first)
    # Then every refund of the line adds up to its paid, to the fen
    assert total == paid


def test_the_last_unit_takes_the_remainder() -> None:
    # Given 3 units paid 1000 together / When / Then: 333, 333, 334
    assert [units_worth(1000, 3, i, 1) for i in range(3)] == [333, 333, 334]


def test_grades_deduct_their_percentage_of_the_units_worth_only() -> None:
    # Given 2 units worth 19900 each returned, one intact and one worn, 20% kept back for wear
    lines = (ReturnLine(line_id="l-TEA-1", sku="TEA-1", quantity=2, ordered=2, paid=39800),)
    policy = _policy(minor_wear_deduction_percent=20)
    # When / Then: 20% of one unit's worth, and the refund is the rest
    deductions = grade_deductions(lines, {"TEA-1": {Grade.intact: 1, Grade.minor_wear: 1}}, policy)
    assert deductions == 3980
    assert refund_total(lines, 0, deductions) == 35820
    assert lines_amount(lines) == 39800


# ---- requests against the order -----------------------------------------------------------------------------


def test_lines_are_priced_from_the_order_line_after_earlier_after_sales() -> None:
    # Given an order of 3 cups paid 1000 together and an earlier after-sale of one
    order = make_order([line("CUP-1", 3, 400, paid=1000)], status="delivered")
    earlier = _after_sale((ReturnLine(line_id="l-CUP-1", sku="CUP-1", quantity=1, ordered=3, paid=1000),))
    # When two more are asked for by SKU
    lines = priced_lines(order, [(None, "CUP-1", 2, "broken")], [earlier])
    # Then they are the 2nd and 3rd units: 333 + 334
    assert [(x.line_id, x.before, x.quantity) for x in lines] == [("l-CUP-1", 1, 2)]
    assert lines_amount(lines) == 667


def test_more_than_bought_less_returned_is_refused_naming_the_line() -> None:
    # Given 2 teas bought, 1 already in an after-sale
    order = make_order([line("TEA-1", 2, 19900)], status="delivered")
    earlier = _after_sale((ReturnLine(line_id="l-TEA-1", sku="TEA-1", quantity=1, ordered=2, paid=39800),))
    # When 2 more are asked for / Then refused: quantity_exceeded on that line
    with pytest.raises(ReturnRefused) as refused:
        priced_lines(order, [(None, "TEA-1", 2, None)], [earlier])
    assert [(p.code, p.line_id) for p in refused.value.problems] == [("quantity_exceeded", "l-TEA-1")]
    # And a rejected earlier after-sale gives its units back
    rejected = earlier.model_copy(update={"status": ReturnStatus.rejected})
    assert lines_amount(priced_lines(order, [(None, "TEA-1", 2, None)], [rejected])) == 39800


def test_a_return_outside_the_window_or_of_a_non_returnable_sku_is_refused() -> None:
    # Given an order delivered 10 days ago, one SKU not returnable
    order = make_order([line("TEA-1", 1, 19900), line("CUP-1", 1, 5000)], status="delivered",
                       status_since=(NOW - timedelta(days=10)).isoformat())
    lines = priced_lines(order, [(None, "TEA-1", 1, None), (None, "CUP-1", 1, None)], [])
    catalog = {"CUP-1": catalog_item("CUP-1", returnable=False)}
    # When checked against a 7-day policy / Then both lines are refused with their reasons
    problems = check(_after_sale(lines), order, catalog, _policy(window_days=7), NOW)
    assert {(p.code, p.sku) for p in problems} == {("window_closed", "TEA-1"), ("not_returnable", "CUP-1")}
    # And within a 14-day policy only the catalog's refusal stays
    assert [p.code for p in check(_after_sale(lines), order, catalog, _policy(window_days=14), NOW)] == [
        "not_returnable"]


def test_a_return_of_an_order_not_shipped_is_refused_but_a_refund_before_shipment_is_not() -> None:
    # Given a reserved order
    order = make_order([line("TEA-1", 1, 19900)], status="reserved")
    lines = priced_lines(order, [(None, "TEA-1", 1, None)], [])
    # When / Then
    assert [p.code for p in check(_after_sale(lines), order, {}, _policy(), NOW)] == ["not_shipped"]
    assert check(_after_sale(lines, ReturnKind.refund_only), order, {}, _policy(), NOW) == []


# ---- policy ---------------------------------------------------------------------------------------------------


def test_the_built_in_policy_sends_every_return_to_a_person() -> None:
    # Given the default return_policy and a delivered order
    order = make_order(status="delivered")
    after_sale = _after_sale(priced_lines(order, [(None, "TEA-1", 1, None)], []))
    # When / Then
    policy = policy_for(default_ruleset("return_policy"), return_facts(after_sale, order, {}, NOW))
    assert (policy.rule, policy.window_days, policy.auto_approve) == ("default", 7, False)
    assert needs_a_person(policy, 19900) is not None


def test_a_rule_auto_approves_small_returns_and_sends_big_ones_to_a_person() -> None:
    # Given a policy: auto-approve up to 500 yuan, 10% off for wear
    document = {"rules": [{"id": "auto", "priority": 1, "when": {"always": True},
                           "then": {"auto_approve": True, "max_auto_amount": 50000, "window_days": 15,
                                    "minor_wear_deduction_percent": 10, "refund_overdue_after_minutes": 30}}]}
    ruleset = compile_document("return_policy", document, version=3)
    order = make_order([line("TEA-1", 5, 19900)], status="delivered")
    small = _after_sale(priced_lines(order, [(None, "TEA-1", 1, None)], []))
    big = _after_sale(priced_lines(order, [(None, "TEA-1", 5, None)], []))
    # When / Then
    policy = policy_for(ruleset, return_facts(small, order, {}, NOW))
    assert (policy.rule, policy.version, policy.minor_wear_deduction_percent, policy.refund_overdue_after_minutes) == (
        "auto", 3, 10, 30)
    assert needs_a_person(policy, lines_amount(small.lines)) is None
    assert "above the auto-approval limit" in str(needs_a_person(policy, lines_amount(big.lines)))


def test_an_orders_timeline_shows_its_after_sales_steps_in_time_order() -> None:
    # Given an order with a timeline, and an after-sale of it with steps before and after its last entry
    order = make_order(status="delivered")
    requested = with_step(_after_sale(()), "requested", "channel:douyin", NOW - timedelta(days=400))
    refunded = with_step(requested, "refund", "ocp:returns-workflow", NOW, "refund 100 CNY")
    # When / Then: merged by time, each entry naming the after-sale and its source
    merged = with_aftersale_steps(order, [refunded])
    steps = [(e.hop, e.event, e.source) for e in merged.timeline if e.hop == "aftersale"]
    assert steps == [("aftersale", "requested", "douyin"), ("aftersale", "refund", "ocp")]
    assert [e.at for e in merged.timeline] == sorted(e.at for e in merged.timeline)
    assert merged.timeline[0].event == "requested" and "ret-1 (return_refund)" in str(merged.timeline[0].detail)
    assert with_aftersale_steps(order, []) is order
