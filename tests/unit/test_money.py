from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ocp.domain.order.money import MoneyError, apportion, to_minor


def test_yuan_text_becomes_exact_fen() -> None:
    # Given amounts as channels send them / When converted / Then no float rounding creeps in
    assert to_minor("404.95", "CNY") == 40495
    assert to_minor("0.1", "CNY") == 10
    assert to_minor(Decimal("1.10"), "USD") == 110
    assert to_minor("1500", "JPY") == 1500


def test_amounts_with_more_decimals_than_the_currency_allows_are_refused() -> None:
    with pytest.raises(MoneyError):
        to_minor("1.005", "CNY")
    with pytest.raises(MoneyError):
        to_minor(1.5, "CNY")  # type: ignore[arg-type]
    with pytest.raises(MoneyError):
        to_minor("abc", "CNY")


def test_largest_remainder_gives_leftover_units_to_the_largest_remainders() -> None:
    # Given 100 fen over three equal lines / Then 34+33+33, the extra unit to the first
    assert apportion(100, [1, 1, 1]) == [34, 33, 33]
    assert apportion(6000, [39800, 26000]) == [3629, 2371]
    assert apportion(-5, [1, 1]) == [-3, -2]


@given(
    total=st.integers(min_value=-10**9, max_value=10**9),
    weights=st.lists(st.integers(min_value=0, max_value=10**7), min_size=1, max_size=40),
)
def test_apportionment_always_sums_exactly(total: int, weights: list[int]) -> None:
    parts = apportion(total, weights)
    assert sum(parts) == total
    assert len(parts) == len(weights)
    if sum(weights):
        # no part strays more than one unit from its exact share
        for part, weight in zip(parts, weights, strict=True):
            assert abs(part - total * weight / sum(weights)) < 1 + 1e-9
