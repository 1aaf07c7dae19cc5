"""Money as integer minor units: parsing channel amounts and apportioning discounts exactly."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

# ISO 4217 minor-unit exponents that differ from the usual 2.
_EXPONENTS = {"JPY": 0, "KRW": 0, "VND": 0, "CLP": 0, "ISK": 0, "BHD": 3, "KWD": 3, "OMR": 3, "JOD": 3, "TND": 3}


class MoneyError(ValueError):
    """An amount that cannot be read as money."""


def exponent(currency: str) -> int:
    return _EXPONENTS.get(currency.upper(), 2)


def to_minor(amount: str | int | Decimal | None, currency: str) -> int:
    """Major-unit decimal text ("404.95") → integer minor units (40495). Never goes through float."""
    if amount is None or amount == "":
        return 0
    if isinstance(amount, float):
        raise MoneyError(f"refusing float amount {amount!r}: send decimal text")
    try:
        value = Decimal(str(amount).strip())
    except InvalidOperation as exc:
        raise MoneyError(f"not a decimal amount: {amount!r}") from exc
    if not value.is_finite():
        raise MoneyError(f"not a finite amount: {amount!r}")
    scaled = value.scaleb(exponent(currency))
    minor = scaled.quantize(Decimal(1), rounding=ROUND_HALF_UP)
    if minor != scaled:
        raise MoneyError(f"{amount!r} has more decimals than {currency} allows")
    return int(minor)


def apportion(total: int, weights: Sequence[int]) -> list[int]:
    """Split `total` into parts proportional to `weights` that sum to `total` exactly.

    Largest-remainder method: each part gets its floor share, the units left over go to the parts with
    the largest remainders (ties to the earlier part). Zero weights everywhere → split evenly.
    """
    if not weights:
        if total:
            raise MoneyError(f"cannot apportion {total} over no parts")
        return []
    if any(w < 0 for w in weights):
        raise MoneyError("weights must not be negative")
    sign = -1 if total < 0 else 1
    magnitude = abs(total)
    effective = list(weights) if sum(weights) else [1] * len(weights)
    weight_sum = sum(effective)
    shares = [divmod(magnitude * w, weight_sum) for w in effective]
    parts = [q for q, _ in shares]
    leftover = magnitude - sum(parts)
    by_remainder = sorted(range(len(shares)), key=lambda i: (-shares[i][1], i))
    for i in by_remainder[:leftover]:
        parts[i] += 1
    return [sign * p for p in parts]
