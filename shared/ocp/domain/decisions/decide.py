"""Everything the rules decide about a new order, in one pure call (the order processor's hot path):

    decision = decide(order, book, catalog=catalog, warehouses=registry, now=now)

1. anomaly checks and anomaly rules → holds;
2. gift rules → gift lines added to the order (paid 0);
3. routing rules → candidate warehouses / supplier / unroutable hold.
Routing is decided even for a held order, so an operator's release can go straight on to reservation.
`decision.versions` are the rule versions that decided, for the order to record. Nothing here reads a
database: the rules come compiled from the `RulesCache`, the catalog entries are the order's SKUs.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from pydantic import ConfigDict

from ocp.base_model import OcpModel
from ocp.domain.decisions.anomalies import check_order
from ocp.domain.decisions.gifts import GiftLine, gifts_for, with_gifts
from ocp.domain.decisions.routing import RoutingDecision, WarehouseFacts, decide_route

# Not only for typing: every order is decided with these three kinds, so their models load with the order path rather
# than with its first order (a kind's module is otherwise imported on first use).
from ocp.domain.decisions.rules.documents.anomaly import AnomalyThen
from ocp.domain.decisions.rules.documents.gift import GiftThen
from ocp.domain.decisions.rules.documents.routing import RoutingThen
from ocp.domain.decisions.rules.engine import RuleSet, default_ruleset
from ocp.domain.decisions.rules.paths import Facts
from ocp.domain.order.model import Hold, Order

if TYPE_CHECKING:
    from ocp.domain.operations.catalog import CatalogItem


class RuleBook(NamedTuple):
    """One compiled rule set per kind the processor uses, each at the version it was read at."""

    routing: RuleSet[RoutingThen]
    anomaly: RuleSet[AnomalyThen]
    gift: RuleSet[GiftThen]

    @classmethod
    def defaults(cls) -> RuleBook:
        return cls(routing=default_ruleset("routing"), anomaly=default_ruleset("anomaly"),
                   gift=default_ruleset("gift"))

    def versions(self) -> dict[str, int]:
        return {"routing": self.routing.version, "anomaly": self.anomaly.version, "gift": self.gift.version}


class Decision(OcpModel):
    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    order: Order
    """The order with its gift lines."""
    holds: tuple[Hold, ...]
    gifts: tuple[GiftLine, ...]
    route: RoutingDecision
    versions: dict[str, int]

    @property
    def held(self) -> bool:
        return bool(self.holds) or self.route.hold is not None

    def all_holds(self) -> tuple[Hold, ...]:
        return self.holds + ((self.route.hold,) if self.route.hold is not None else ())


def decide(
    order: Order,
    book: RuleBook,
    *,
    catalog: Mapping[str, CatalogItem],
    warehouses: Mapping[str, WarehouseFacts],
    now: datetime,
) -> Decision:
    facts = Facts(order, catalog)
    holds = check_order(order, book.anomaly, catalog=catalog, now=now, facts=facts)
    gifts = gifts_for(order, book.gift, catalog, facts=facts)
    with_gift_lines = with_gifts(order, gifts)
    routing_facts = facts if with_gift_lines is order else Facts(with_gift_lines, catalog)
    route = decide_route(with_gift_lines, book.routing, warehouses=warehouses, facts=routing_facts)
    return Decision(order=with_gift_lines, holds=tuple(holds), gifts=tuple(gifts), route=route,
                    versions=book.versions())


def catalog_for(order: Order, lookup: Mapping[str, CatalogItem] | Any) -> dict[str, CatalogItem]:
    """The catalog entries of the order's SKUs from a mapping-like source (a cache, or a batch read)."""
    found: dict[str, CatalogItem] = {}
    for line in order.lines:
        item = lookup.get(line.sku)
        if item is not None:
            found[line.sku] = item
    return found
