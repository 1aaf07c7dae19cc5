"""The `gift` kind: gift lines added to matching orders (every matching rule applies, until one says stop)."""

from typing import Any

from pydantic import Field

from ocp.base_model import FrozenModel
from ocp.domain.decisions.rules.kinds import MAX_RULES, DocumentBase, RuleBase
from ocp.domain.operations.catalog import Sku


class GiftThen(FrozenModel):
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


DOCUMENT = GiftDocument
DEFAULT: dict[str, Any] = {"description": "Ships with OCP: no promotions", "rules": []}
