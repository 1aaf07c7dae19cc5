"""The rule kinds: each one's document shape (its `then`, and for `anomaly` its check thresholds), whether the
first matching rule wins or every matching rule applies, and the default document that ships with the product.

Every document is `{"rules": [{"id", "priority", "when", "then", "description"?, "enabled"?}, ...]}`; the
lowest `priority` number wins, and rules of equal priority keep their order in the document.

A kind's models and default document live in a module of their own (`documents/routing.py`, …), imported the
first time its `KindSpec` is asked for them: a function loads only the kinds it reads (the returns functions
`return_policy`, the order path routing, anomaly and gift; `sla` is the stuck report's policy table).
"""

import importlib
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache
from typing import Any, Protocol, cast

from pydantic import BaseModel, Field

from ocp.base_model import FrozenModel
from ocp.domain.decisions.rules.conditions import Condition
from ocp.domain.decisions.rules.paths import ValueType

RULE_ID = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$"
MAX_RULES = 1000


class RuleKind(StrEnum):
    routing = "routing"
    anomaly = "anomaly"
    gift = "gift"
    return_policy = "return_policy"
    sla = "sla"


class RuleBase(FrozenModel):
    id: str = Field(pattern=RULE_ID, description="Unique within the document; orders and traces name it")
    priority: int = Field(ge=0, le=1_000_000, description="Lowest number wins; ties keep document order")
    description: str | None = Field(default=None, max_length=500)
    enabled: bool = Field(default=True, description="A disabled rule is kept but never evaluated")
    when: Condition


class DocumentBase(FrozenModel):
    description: str | None = Field(default=None, max_length=2000)


def always_rule(rule_id: str, priority: int, then: dict[str, Any], description: str) -> dict[str, Any]:
    """A default document's rule that always applies."""
    return {"id": rule_id, "priority": priority, "description": description, "when": {"always": True}, "then": then}


class _KindModule(Protocol):
    DOCUMENT: type[BaseModel]
    DEFAULT: dict[str, Any]


@cache
def _kind_module(kind: RuleKind) -> _KindModule:
    return cast(_KindModule, importlib.import_module(f"ocp.domain.decisions.rules.documents.{kind.value}"))


@dataclass(frozen=True)
class KindSpec:
    kind: RuleKind
    every_match: bool
    """True: every matching rule applies (anomaly holds, gifts). False: the first matching rule decides."""
    summary: str
    extra_roots: dict[str, ValueType] = field(default_factory=dict)
    """Paths besides the order's that this kind's conditions may read (given per evaluation)."""

    @property
    def document(self) -> type[BaseModel]:
        """The document model: a `DocumentBase` with `rules`, or (for `sla`) a table of limits."""
        return _kind_module(self.kind).DOCUMENT

    @property
    def default(self) -> dict[str, Any]:
        """The document that ships with OCP (version 0 while none is stored)."""
        return _kind_module(self.kind).DEFAULT


KINDS: dict[RuleKind, KindSpec] = {
    RuleKind.routing: KindSpec(
        RuleKind.routing, every_match=False,
        summary="Which warehouses (or supplier) an order goes to; the first matching rule wins",
    ),
    RuleKind.anomaly: KindSpec(
        RuleKind.anomaly, every_match=True,
        summary="Checks that hold an order for a person: thresholds in `checks`, extra holds in `rules`",
    ),
    RuleKind.gift: KindSpec(
        RuleKind.gift, every_match=True,
        summary="Gift lines added to matching orders (every matching rule applies, until one says stop)",
    ),
    RuleKind.return_policy: KindSpec(
        RuleKind.return_policy, every_match=False,
        summary="How a return request is handled; the first matching rule wins",
        extra_roots={
            "return.reason": ValueType.string,
            "return.days_since_delivery": ValueType.integer,
            "return.quantity": ValueType.integer,
            "return.amount": ValueType.integer,
            "return.kind": ValueType.string,
        },
    ),
    RuleKind.sla: KindSpec(
        RuleKind.sla, every_match=False,
        summary="How long an order may stay in each status before the stuck report lists it (no rules: a table)",
    ),
}


def spec_for(kind: str) -> KindSpec:
    """The kind's spec; `UnknownRuleKind` (404) for a kind that does not exist."""
    from ocp.domain.decisions.rules.errors import UnknownRuleKind

    try:
        return KINDS[RuleKind(kind)]
    except ValueError:
        raise UnknownRuleKind(
            f"no rule kind {kind!r}", details={"kinds": [k.value for k in RuleKind]}
        ) from None
