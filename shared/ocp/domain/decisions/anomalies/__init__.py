"""Anomaly checks: everything that sends an order to a person, each with its API.md hold reason.

    holds = check_order(order, anomaly_rules, catalog=..., now=...)

The thresholds and lists come from the `anomaly` rule document (`checks`), and its `rules` add holds of
their own (every matching rule adds one). The checks' lookup structures are built once per document version
and kept on the `RuleSet` — nothing is read from a database here. Duplicate suspects are found in the order's own
transaction instead (`ocp.domain.decisions.duplicate_guard`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from ocp.domain.decisions.anomalies import checks
from ocp.domain.decisions.anomalies.duplicates import address_key, compact
from ocp.domain.decisions.rules.documents.anomaly import AnomalyChecks, AnomalyDocument, AnomalyThen
from ocp.domain.decisions.rules.paths import Facts
from ocp.domain.order.divisions import Divisions, china, china_with
from ocp.domain.order.model import Hold, HoldReason, Order

if TYPE_CHECKING:
    from ocp.domain.decisions.rules.engine import RuleSet
    from ocp.domain.operations.catalog import CatalogItem

__all__ = ["PreparedChecks", "check_order", "prepared"]


class PreparedChecks(NamedTuple):
    config: AnomalyChecks
    divisions: Divisions
    buyers: frozenset[str]
    phones: frozenset[str]
    addresses: frozenset[str]
    keywords: re.Pattern[str] | None
    patterns: tuple[re.Pattern[str], ...]
    declared_by_channel: frozenset[str]


def prepare(config: AnomalyChecks) -> PreparedChecks:
    address = config.address
    divisions = (
        china_with(((d.province, d.city, d.district) for d in address.extra_divisions), address.aliases)
        if address.extra_divisions or address.aliases
        else china()
    )
    blacklist = config.blacklist
    return PreparedChecks(
        config=config,
        divisions=divisions,
        buyers=frozenset(b.strip() for b in blacklist.buyers),
        phones=frozenset(checks.digits_of_phone(p) for p in blacklist.phones),
        addresses=frozenset(compact(a) for a in blacklist.addresses),
        keywords=checks.keyword_pattern(config.buyer_note.keywords),
        patterns=tuple(re.compile(p) for p in config.buyer_note.patterns),
        declared_by_channel=frozenset(config.customs.declared_by_channel),
    )


def prepared(rules: RuleSet[Any]) -> PreparedChecks:
    """The checks of an anomaly rule set, prepared once per version."""
    found = rules.memo.get("checks")
    if found is None:
        document = rules.document
        if not isinstance(document, AnomalyDocument):
            raise TypeError(f"expected the anomaly rules, got {rules.kind}")
        found = rules.memo.setdefault("checks", prepare(document.checks))
    return found


def check_order(
    order: Order,
    rules: RuleSet[AnomalyThen],
    *,
    catalog: Mapping[str, CatalogItem],
    now: datetime,
    facts: Facts | None = None,
) -> list[Hold]:
    """Every hold the order earns, in a stable order (one per reason and detail). `facts`: the order's shared
    `Facts`. The duplicate check is not here: it needs other orders, and runs in the order's own transaction
    (`ocp.domain.decisions.duplicate_guard`)."""
    p = prepared(rules)
    c = p.config
    holds: list[Hold] = []

    def hold(reason: HoldReason, detail: str | None) -> None:
        if detail is not None:
            holds.append(Hold(reason=reason, detail=detail))

    if c.address.enabled:
        hold(HoldReason.address_unresolved,
             checks.address_problem(order.address, p.divisions, c.address.require_district))
    if c.phone.enabled:
        hold(HoldReason.phone_invalid, checks.phone_problem(order.address, c.phone.mobile_only))
    if c.price.enabled:
        for problem in checks.price_problems(order, catalog, c.price):
            hold(HoldReason.price_abnormal, problem)
    if c.blacklist.enabled and (p.buyers or p.phones or p.addresses):
        hold(HoldReason.blacklisted_buyer,
             checks.blacklist_problem(order, p.buyers, p.phones, p.addresses, address_key(order)))
    if c.buyer_note.enabled:
        hold(HoldReason.buyer_note,
             checks.note_problem(order.buyer_note, p.keywords, p.patterns, c.buyer_note.hold_any_note))
    if c.customs.enabled:
        hold(HoldReason.customs_id_invalid,
             checks.customs_problem(order, c.customs.accept_masked, p.declared_by_channel))
    if c.presale.enabled:
        hold(HoldReason.presale_not_due, checks.presale_problem(order, now, c.presale.release_hours_before))
    for rule in rules.matching(facts or Facts(order, catalog)):
        hold(rule.then.hold, rule.then.detail or f"anomaly rule {rule.id!r}")
    return list(dict.fromkeys(holds))
