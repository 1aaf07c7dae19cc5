"""Gift promotions: buy X get Y, spend over N get Y — evaluated in memory from the compiled `gift` rules.

    gifts = gifts_for(order, gift_rules, catalog)      # what the rules give
    order = with_gifts(order, gifts)                   # the order with those gift lines (paid 0, gift=True)

Every matching rule applies, in priority order, until one with `stop: true`. A gift the channel already put
on the order (a gift line of the same SKU) is not given twice. Gift lines OCP adds have the line id
`gift:<rule id>`, so applying the rules again replaces them rather than adding more. Whether a gift ships
depends on its stock, which the reservation decides: `while_stock_lasts` gifts are dropped when none is left,
the others hold the order like any other line.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pydantic import ConfigDict

from ocp.base_model import OcpModel
from ocp.domain.decisions.rules.paths import Facts
from ocp.domain.order.model import GIFT_LINE_PREFIX, Order, OrderLine, sold_lines

if TYPE_CHECKING:
    from ocp.domain.decisions.rules.documents.gift import GiftThen
    from ocp.domain.decisions.rules.engine import RuleSet
    from ocp.domain.operations.catalog import CatalogItem


class GiftLine(OcpModel):
    model_config = ConfigDict(frozen=True)

    line: OrderLine
    rule: str
    while_stock_lasts: bool


def gift_quantity(order: Order, then: GiftThen) -> int:
    if then.per_unit_of:
        skus = set(then.per_unit_of)
        units = sum(line.quantity for line in order.lines if not line.gift and line.sku in skus)
        quantity = (units // then.every) * then.quantity
    else:
        quantity = then.quantity
    if then.max_per_order is not None:
        quantity = min(quantity, then.max_per_order)
    return quantity


def gifts_for(
    order: Order, rules: RuleSet[GiftThen], catalog: Mapping[str, CatalogItem] | None = None,
    facts: Facts | None = None,
) -> list[GiftLine]:
    """`facts`: the order's shared `Facts` (used when the order has no OCP gift lines yet)."""
    catalog = catalog or {}
    own_lines = tuple(line for line in order.lines if not line.line_id.startswith(GIFT_LINE_PREFIX))
    base = order if len(own_lines) == len(order.lines) else order.model_copy(update={"lines": own_lines})
    base_facts = facts if facts is not None and base is order else Facts(base, catalog)
    channel_gifts = {line.sku for line in own_lines if line.gift}
    gifts: list[GiftLine] = []
    for test, rule in _tests(rules):
        if not test(base_facts):
            continue
        then = rule.then
        quantity = gift_quantity(base, then)
        if quantity > 0 and then.gift_sku not in channel_gifts:
            item = catalog.get(then.gift_sku)
            gifts.append(GiftLine(
                line=OrderLine(
                    line_id=f"{GIFT_LINE_PREFIX}{rule.id}", sku=then.gift_sku, title=item.name if item else None,
                    quantity=quantity, unit_price=0, discount=0, paid=0, gift=True,
                ),
                rule=rule.id,
                while_stock_lasts=then.while_stock_lasts,
            ))
        if then.stop:
            break
    return gifts


def _tests(rules: RuleSet[GiftThen]) -> list[tuple[Any, Any]]:
    return [(rule.condition.test, rule) for rule in rules.rules]


def with_gifts(order: Order, gifts: list[GiftLine]) -> Order:
    """The order with exactly these OCP gift lines (earlier ones replaced); amounts are unchanged (paid 0)."""
    lines = sold_lines(order) + tuple(g.line for g in gifts)
    return order if lines == order.lines else order.model_copy(update={"lines": lines})
