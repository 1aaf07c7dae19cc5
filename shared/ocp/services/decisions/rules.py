"""Rules as versioned data: reading, writing and dry-running documents, and the processors' in-memory cache.

The cache is what keeps the database off the hot path: a processor asks `cache.get("routing")` per order and
gets the compiled `RuleSet` from memory; at most once per TTL (5 s by default) per kind it asks the store for
the newest version number — one small read — and compiles a new document only when that number moved.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from ocp.base_model import OcpModel
from ocp.domain.clock import iso
from ocp.domain.decisions.gifts import gifts_for
from ocp.domain.decisions.routing import WarehouseFacts, is_cross_border, route_for
from ocp.domain.decisions.rules import RuleKind, RuleSet, compile_document, default_ruleset, spec_for
from ocp.domain.decisions.rules.engine import validate_document
from ocp.domain.decisions.rules.errors import InvalidSimulation, RuleVersionNotFound
from ocp.domain.decisions.rules.paths import Facts
from ocp.domain.decisions.stored_rules import StoredRules
from ocp.domain.order.model import Order
from ocp.domain.problems import problems_from

if TYPE_CHECKING:
    from ocp.domain.decisions.decide import RuleBook
    from ocp.domain.fulfillment.stuck import SlaPolicy
    from ocp.domain.operations.catalog import CatalogItem
    from ocp.ports import CatalogStore, RulesStore

DEFAULT_TTL_S = 5.0


class RulesView(OcpModel):
    """What `GET/PUT /rules/{kind}` answer."""

    kind: str
    version: int
    """0: the built-in default (nothing stored yet)."""
    default: bool
    created_at: str | None = None
    document: dict[str, Any]


def current_rules(store: RulesStore, kind: str, version: int | None = None) -> RulesView:
    """The newest stored document of `kind` (or `version` of it); the built-in default while none is stored."""
    spec = spec_for(kind)
    if version is None:
        stored = store.latest(spec.kind.value)
    else:
        stored = store.get(spec.kind.value, version) if version else None
    if stored is None:
        if version:
            raise RuleVersionNotFound(f"no {spec.kind.value} version {version}")
        return RulesView(kind=spec.kind.value, version=0, default=True, document=spec.default)
    return RulesView(kind=stored.kind, version=stored.version, default=False, created_at=stored.created_at,
                     document=stored.document)


def put_rules(store: RulesStore, kind: str, raw: Any, now: datetime, expected_version: int | None = None) -> RulesView:
    """Validate (`InvalidRuleDocument` lists every problem; nothing is stored) and store as the next version.
    `expected_version`: the version the writer based its edit on (`If-Match`); without it, the newest."""
    spec = spec_for(kind)
    document = validate_document(spec.kind.value, raw)
    base = store.latest_version(spec.kind.value) if expected_version is None else expected_version
    stored = StoredRules(kind=spec.kind.value, version=base + 1, document=_canonical(document, raw),
                         created_at=iso(now))
    store.put(stored)
    return RulesView(kind=stored.kind, version=stored.version, default=False, created_at=stored.created_at,
                     document=stored.document)


def _canonical(document: BaseModel, raw: dict[str, Any]) -> dict[str, Any]:
    """The document as written (keys the writer left out stay out), minus a writer's `version`."""
    return {k: v for k, v in raw.items() if k != "version" or "version" not in type(document).model_fields}


# ---- the cache -----------------------------------------------------------------------------------------------


@dataclass
class _Entry:
    ruleset: RuleSet[Any]
    checked_at: float


class RulesCache:
    """Compiled rule sets per kind, refreshed at most once per `ttl_s`. Thread-safe; share one per process.

    A refresh that fails (store unreachable, a stored document that no longer compiles) keeps serving the
    rule set it has and tries again after the TTL; with nothing to serve yet, it raises (the message is retried).
    """

    def __init__(
        self,
        store: RulesStore,
        ttl_s: float = DEFAULT_TTL_S,
        clock: Callable[[], float] = time.monotonic,
        on_error: Callable[[str, Exception], None] | None = None,
    ) -> None:
        self._store = store
        self._ttl_s = ttl_s
        self._clock = clock
        self._on_error = on_error
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()

    def get(self, kind: str) -> RuleSet[Any]:
        entry = self._entries.get(kind)
        if entry is not None and self._clock() - entry.checked_at < self._ttl_s:
            return entry.ruleset
        with self._lock:
            entry = self._entries.get(kind)
            now = self._clock()
            if entry is not None and now - entry.checked_at < self._ttl_s:
                return entry.ruleset
            try:
                entry = _Entry(self._load(kind, entry), now)
            except Exception as exc:  # noqa: BLE001 — any store or compile failure: keep serving what we have
                if entry is None:
                    raise
                if self._on_error is not None:
                    self._on_error(kind, exc)
                entry = _Entry(entry.ruleset, now)
            self._entries[kind] = entry
            return entry.ruleset

    def _load(self, kind: str, entry: _Entry | None) -> RuleSet[Any]:
        kind = spec_for(kind).kind.value
        latest = self._store.latest_version(kind)
        if entry is not None and entry.ruleset.version == latest:
            return entry.ruleset
        if latest == 0:
            return default_ruleset(kind)
        stored = self._store.get(kind, latest)
        if stored is None:
            raise RuleVersionNotFound(f"{kind} version {latest} vanished between two reads")
        return compile_document(kind, stored.document, latest)

    def book(self) -> RuleBook:
        # Loaded with the order path that asks for a book; the rules API's cold start never needs the decisions.
        from ocp.domain.decisions.decide import RuleBook

        return RuleBook(routing=self.get("routing"), anomaly=self.get("anomaly"), gift=self.get("gift"))

    def invalidate(self, kind: str | None = None) -> None:
        with self._lock:
            if kind is None:
                self._entries.clear()
            else:
                self._entries.pop(kind, None)


class RulesSlaSource:
    """The `SlaSource` port over the rules cache: the `sla` document in force, with its version."""

    def __init__(self, cache: RulesCache) -> None:
        self._cache = cache

    def current(self) -> SlaPolicy:
        # The `sla` kind's model, imported with that kind's document; not with every user of the rules.
        from ocp.domain.fulfillment.stuck import SlaPolicy

        ruleset = self._cache.get(RuleKind.sla.value)
        policy = ruleset.document
        assert isinstance(policy, SlaPolicy)
        return policy.model_copy(update={"version": ruleset.version})


# ---- the dry run ---------------------------------------------------------------------------------------------


class Simulation(OcpModel):
    kind: str
    version: int | None
    """The stored version simulated; None for a draft document sent with the request."""
    rule: str | None
    """The rule that decided (the first that fired), or None."""
    rules_fired: list[str]
    decision: dict[str, Any]
    trace: list[dict[str, Any]]


def simulate(
    kind: str,
    body: Mapping[str, Any],
    *,
    store: RulesStore,
    catalog: CatalogStore,
    now: datetime,
    warehouses: Mapping[str, WarehouseFacts] | None = None,
) -> Simulation:
    """Which rule fires for `body["order"]`, the decision, and every condition evaluated — nothing reserved or
    stored. `body["document"]` tries a draft instead of the stored version; `body["return"]` gives the
    `return.*` values of a return-policy dry run."""
    spec = spec_for(kind)
    order = _order_of(body.get("order"))
    if body.get("document") is not None:
        ruleset = compile_document(spec.kind.value, body["document"], version=0)
        version: int | None = None
    else:
        latest = current_rules(store, spec.kind.value)
        ruleset = compile_document(spec.kind.value, latest.document, latest.version)
        version = latest.version
    items = catalog.get_many(line.sku for line in order.lines if line.sku)  # DynamoDB keys cannot be ''
    extra = {"return": body["return"]} if isinstance(body.get("return"), dict) else {}
    facts = Facts(order, items, extra)
    fired, trace = ruleset.explain(facts)
    decision = _decision(spec.kind, ruleset, order, fired, items, now, warehouses, trace)
    return Simulation(kind=spec.kind.value, version=version, rule=fired[0].id if fired else None,
                      rules_fired=[r.id for r in fired], decision=decision, trace=trace)


def _order_of(raw: Any) -> Order:
    if not isinstance(raw, dict):
        raise InvalidSimulation('give the unified order to try as {"order": {...}}',
                                details=[{"path": "order", "problem": "a unified order (JSON object) is required"}])
    try:
        return Order.model_validate(raw)
    except ValidationError as exc:
        problems = problems_from(exc, prefix=("order",))
        details = [p.as_dict() for p in problems]
        raise InvalidSimulation("the order is not a valid unified order", details=details) from None


def _decision(
    kind: RuleKind,
    ruleset: RuleSet[Any],
    order: Order,
    fired: list[Any],
    items: Mapping[str, CatalogItem],
    now: datetime,
    warehouses: Mapping[str, WarehouseFacts] | None,
    trace: list[dict[str, Any]],
) -> dict[str, Any]:
    if kind is RuleKind.routing:
        winner = fired[0] if fired else None
        if warehouses is not None:
            return route_for(order, winner.id if winner else None, winner.then if winner else None,
                             ruleset.version, warehouses).model_dump(mode="json")
        then = winner.then.model_dump(mode="json", exclude_none=True) if winner else None
        return {"then": then, "cross_border": is_cross_border(order),
                "note": "warehouse eligibility and stock are checked when the order is processed"}
    if kind is RuleKind.anomaly:
        # The checks (with their phone, ID and division data) load for an anomaly dry run only, not in the rules
        # API's cold start.
        from ocp.domain.decisions.anomalies import check_order

        holds = check_order(order, ruleset, catalog=items, now=now)
        trace.extend(_check_trace(order, ruleset, items, now))
        return {"holds": [h.model_dump(mode="json") for h in holds],
                "skipped": ["duplicate_suspect: needs the recent orders, checked when the order is processed"]}
    if kind is RuleKind.gift:
        return {"gifts": [g.model_dump(mode="json") for g in gifts_for(order, ruleset, items)]}
    if kind is RuleKind.sla:
        return {"policy": ruleset.document.model_dump(mode="json")}
    winner = fired[0] if fired else None
    return {"then": winner.then.model_dump(mode="json") if winner else None}


def _check_trace(
    order: Order, ruleset: RuleSet[Any], items: Mapping[str, CatalogItem], now: datetime
) -> list[dict[str, Any]]:
    """One trace entry per built-in check, so the dry run shows what passed as well as what held."""
    from ocp.domain.decisions.anomalies import checks, prepared  # see `_decision`

    p = prepared(ruleset)
    c = p.config
    results: dict[str, str | None | list[str]] = {
        "address": checks.address_problem(order.address, p.divisions, c.address.require_district)
        if c.address.enabled else "disabled",
        "phone": checks.phone_problem(order.address, c.phone.mobile_only) if c.phone.enabled else "disabled",
        "price": checks.price_problems(order, items, c.price) if c.price.enabled else "disabled",
        "buyer_note": checks.note_problem(order.buyer_note, p.keywords, p.patterns, c.buyer_note.hold_any_note)
        if c.buyer_note.enabled else "disabled",
        "customs": checks.customs_problem(order, c.customs.accept_masked, p.declared_by_channel)
        if c.customs.enabled else "disabled",
        "presale": checks.presale_problem(order, now, c.presale.release_hours_before)
        if c.presale.enabled else "disabled",
    }
    trace: list[dict[str, Any]] = []
    for name, found in results.items():
        entry: dict[str, Any] = {"check": name, "result": "pass" if not found else "hold"}
        if found == "disabled":
            entry["result"] = "disabled"
        elif found:
            entry["detail"] = found
        trace.append(entry)
    return trace
