"""Validating a rule document (every problem at once) and compiling it into a `RuleSet` that decides fast.

    ruleset = compile_document("routing", raw_json_object, version=3)   # InvalidRuleDocument if not valid
    rule = ruleset.first(Facts(order, catalog))                          # the winning rule, or None
    fired, trace = ruleset.explain(Facts(order, catalog))                # the same decision, with a trace
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, NamedTuple, TypeVar

from pydantic import BaseModel, ValidationError

from ocp.domain.decisions.rules.compiler import CompiledCondition, Test, Trace, compile_condition
from ocp.domain.decisions.rules.conditions import MAX_DEPTH, depth
from ocp.domain.decisions.rules.errors import InvalidRuleDocument
from ocp.domain.decisions.rules.kinds import KindSpec, RuleBase, spec_for
from ocp.domain.decisions.rules.paths import Facts, known_paths
from ocp.domain.problems import Problem, problems_from

MAX_DOCUMENT_BYTES = 350_000
"""Stored as one DynamoDB item (400 KB at most) with room for its metadata."""

ThenT = TypeVar("ThenT")


def validate_document(kind: str, raw: Any) -> BaseModel:
    """The parsed document, or `InvalidRuleDocument` listing every problem found."""
    spec = spec_for(kind)
    problems = _raw_problems(raw)
    document: BaseModel | None = None
    if isinstance(raw, dict):
        if "version" in spec.document.model_fields:
            raw = {k: v for k, v in raw.items() if k != "version"}  # the store's, not the writer's
        try:
            document = spec.document.model_validate(raw, context={"paths": known_paths(spec.extra_roots)})
        except ValidationError as exc:
            problems += problems_from(exc)
    if document is not None:
        for i, rule in enumerate(_rules_of(document)):
            if depth(rule.when) > MAX_DEPTH:
                problems.append(Problem(path=f"rules[{i}].when", problem=f"nested deeper than {MAX_DEPTH} levels"))
    if problems:
        raise InvalidRuleDocument(spec.kind.value, problems)
    assert document is not None
    return document


def _raw_problems(raw: Any) -> list[Problem]:
    """What pydantic cannot see per item: the document's type and size, and rule ids used twice."""
    if not isinstance(raw, dict):
        return [Problem(path="", problem='a rule document is a JSON object {"rules": [...]}')]
    problems: list[Problem] = []
    size = len(json.dumps(raw, ensure_ascii=False).encode())
    if size > MAX_DOCUMENT_BYTES:
        problems.append(Problem(path="", problem=f"document is {size} bytes; at most {MAX_DOCUMENT_BYTES}"))
    rules = raw.get("rules")
    if isinstance(rules, list):
        first_seen: dict[str, int] = {}
        for i, rule in enumerate(rules):
            rule_id = rule.get("id") if isinstance(rule, dict) else None
            if isinstance(rule_id, str):
                if rule_id in first_seen:
                    problems.append(Problem(path=f"rules[{i}].id",
                                            problem=f"id {rule_id!r} is already used by rules[{first_seen[rule_id]}]"))
                else:
                    first_seen[rule_id] = i
    return problems


def _rules_of(document: BaseModel) -> list[RuleBase]:
    rules: list[RuleBase] = getattr(document, "rules", [])
    return rules


class CompiledRule(NamedTuple, Generic[ThenT]):
    id: str
    priority: int
    position: int
    then: ThenT
    condition: CompiledCondition


@dataclass(frozen=True)
class RuleSet(Generic[ThenT]):
    """A validated document of one kind at one version, compiled. Immutable; share it freely."""

    spec: KindSpec
    version: int
    document: BaseModel
    rules: tuple[CompiledRule[ThenT], ...]
    """Enabled rules in evaluation order: priority, then document order."""
    memo: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    """Per-version derived data (e.g. the anomaly checks' prepared sets), built on first use."""
    _tests: tuple[tuple[Test, CompiledRule[ThenT]], ...] = field(default=(), compare=False, repr=False)

    @property
    def kind(self) -> str:
        return self.spec.kind.value

    def first(self, facts: Facts) -> CompiledRule[ThenT] | None:
        for test, rule in self._tests:
            if test(facts):
                return rule
        return None

    def matching(self, facts: Facts) -> list[CompiledRule[ThenT]]:
        """Every rule that holds, in order, up to and including one whose `then` says `stop`."""
        found: list[CompiledRule[ThenT]] = []
        for test, rule in self._tests:
            if test(facts):
                found.append(rule)
                if getattr(rule.then, "stop", False):
                    break
        return found

    def decide(self, facts: Facts) -> list[CompiledRule[ThenT]]:
        """What applies by this kind's semantics: the first match, or every match."""
        if self.spec.every_match:
            return self.matching(facts)
        winner = self.first(facts)
        return [winner] if winner is not None else []

    def explain(self, facts: Facts) -> tuple[list[CompiledRule[ThenT]], Trace]:
        """`decide`, plus one trace entry per condition evaluated (rules after the winner are not evaluated
        for first-match kinds, exactly as in `decide`)."""
        fired: list[CompiledRule[ThenT]] = []
        trace: Trace = []
        for rule in self.rules:
            start = len(trace)
            held = rule.condition.explain(facts, trace, "when")
            for entry in trace[start:]:
                entry["rule"] = rule.id
            if held:
                fired.append(rule)
                if not self.spec.every_match or getattr(rule.then, "stop", False):
                    break
        return fired, trace


def compile_document(kind: str, raw: Any, version: int) -> RuleSet[Any]:
    """Validate and compile; `InvalidRuleDocument` lists every problem."""
    document = validate_document(kind, raw)
    return compile_validated(spec_for(kind), document, version)


def compile_validated(spec: KindSpec, document: BaseModel, version: int) -> RuleSet[Any]:
    paths = known_paths(spec.extra_roots)
    compiled = [
        CompiledRule(rule.id, rule.priority, i, getattr(rule, "then", None), compile_condition(rule.when, paths))
        for i, rule in enumerate(_rules_of(document))
        if rule.enabled
    ]
    compiled.sort(key=lambda r: (r.priority, r.position))
    return RuleSet(
        spec=spec, version=version, document=document, rules=tuple(compiled),
        _tests=tuple((r.condition.test, r) for r in compiled),
    )


def default_ruleset(kind: str) -> RuleSet[Any]:
    """The document that ships with OCP, as version 0 (nothing stored yet)."""
    spec = spec_for(kind)
    return compile_document(kind, spec.default, version=0)


def json_schema(kind: str) -> Mapping[str, Any]:
    spec = spec_for(kind)
    schema = spec.document.model_json_schema()
    schema["title"] = f"OCP {spec.kind.value} rules (v1)"
    schema["description"] = spec.summary
    return schema
