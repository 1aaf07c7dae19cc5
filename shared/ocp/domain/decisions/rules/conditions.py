"""The condition language (API.md "Rule documents (v1)") as pydantic models: the schema, and validation that
names every problem.

    {"field": PATH, OP: VALUE}   OP: eq ne in not_in gt gte lt lte contains matches exists
    {"all": [...]}  {"any": [...]}  {"not": {...}}  {"always": true}

Beyond the shape, a field test is checked against the path it reads: the path must exist, the value must suit
the path's type (a number for `amounts.paid`, a channel that exists for `channel`, an ISO time for
`created_at`), and a `matches` pattern must compile and be safe to run (no nested unbounded repetition).
"""

import re
from datetime import datetime
from typing import Annotated, Any, Union

from pydantic import (
    ConfigDict,
    Discriminator,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    Tag,
    ValidationInfo,
    model_validator,
)

from ocp.base_model import FrozenModel
from ocp.domain.clock import parse_instant
from ocp.domain.decisions.rules.paths import PathSpec, ValueType, known_paths

OPERATORS = ("eq", "ne", "in", "not_in", "gt", "gte", "lt", "lte", "contains", "matches", "exists")
COMPARISONS = ("gt", "gte", "lt", "lte")
MAX_PATTERN = 200
"""Longest `matches` pattern accepted."""
MAX_SUBJECT = 2000
"""`matches` reads at most this many characters of a value: a bound on the work one test can do."""
MAX_LIST = 10_000
MAX_DEPTH = 12

Scalar = StrictBool | StrictInt | StrictFloat | Annotated[StrictStr, Field(max_length=1000)]


class AllOf(FrozenModel):
    all: "list[Condition]" = Field(min_length=1, max_length=200, description="True when every condition holds")


class AnyOf(FrozenModel):
    any: "list[Condition]" = Field(min_length=1, max_length=200, description="True when one condition holds")


class NotOf(FrozenModel):
    not_: "Condition" = Field(alias="not", description="True when the condition does not hold")


class Always(FrozenModel):
    always: bool = Field(description="`true`: the rule always applies (a default rule); `false`: it never does")


class FieldTest(FrozenModel):
    """`{"field": PATH, OP: VALUE}` with exactly one operator."""

    model_config = ConfigDict(
        json_schema_extra={"minProperties": 2, "maxProperties": 2},
        extra="forbid", frozen=True,
    )

    field: str = Field(min_length=1, max_length=100, description="A path over the unified order, e.g. `lines.sku`")
    eq: Scalar | None = None
    ne: Scalar | None = None
    in_: list[Scalar] | None = Field(default=None, alias="in", min_length=1, max_length=MAX_LIST)
    not_in: list[Scalar] | None = Field(default=None, min_length=1, max_length=MAX_LIST)
    gt: StrictInt | StrictFloat | StrictStr | None = None
    gte: StrictInt | StrictFloat | StrictStr | None = None
    lt: StrictInt | StrictFloat | StrictStr | None = None
    lte: StrictInt | StrictFloat | StrictStr | None = None
    contains: Scalar | None = None
    matches: str | None = Field(default=None, max_length=MAX_PATTERN)
    exists: bool | None = None

    @property
    def operator(self) -> str:
        """The one operator given (validation guarantees exactly one)."""
        return next(op for op in OPERATORS if getattr(self, _attr(op)) is not None)

    @property
    def value(self) -> Any:
        return getattr(self, _attr(self.operator))

    @model_validator(mode="after")
    def _fits_its_path(self, info: ValidationInfo) -> "FieldTest":
        paths = (info.context or {}).get("paths") if info.context else None
        problems = field_test_problems(self, paths if paths is not None else known_paths())
        if problems:
            raise ValueError("; ".join(problems))
        return self


def _attr(op: str) -> str:
    return "in_" if op == "in" else op


def _tag(value: Any) -> str | None:
    if isinstance(value, dict):
        for key in ("all", "any", "not", "always", "field"):
            if key in value:
                return f"§{key}"
        return None
    tags: dict[type, str] = {AllOf: "§all", AnyOf: "§any", NotOf: "§not", Always: "§always", FieldTest: "§field"}
    return tags.get(type(value))


Condition = Annotated[
    Union[  # noqa: UP007 — a discriminated union needs the Union form here
        Annotated[AllOf, Tag("§all")],
        Annotated[AnyOf, Tag("§any")],
        Annotated[NotOf, Tag("§not")],
        Annotated[Always, Tag("§always")],
        Annotated[FieldTest, Tag("§field")],
    ],
    Discriminator(
        _tag,
        custom_error_type="invalid_condition",
        custom_error_message=(
            "a condition is {\"field\": PATH, OP: VALUE}, {\"all\": [...]}, {\"any\": [...]}, "
            "{\"not\": {...}} or {\"always\": true}"
        ),
    ),
]

# AllOf, AnyOf and NotOf refer to `Condition` before it exists: pydantic resolves it from this module when a model
# is first built (OcpModel defers that), so no `model_rebuild()` here, which would build the validators at import.


# ---- checks of a field test against its path --------------------------------------------------------------


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return type(value).__name__


_ACCEPTS: dict[ValueType, dict[str, set[str]]] = {
    # path type → operator → kinds of value it accepts
    ValueType.string: {"eq": {"string"}, "ne": {"string"}, "in": {"string"}, "not_in": {"string"},
                       "gt": {"string"}, "gte": {"string"}, "lt": {"string"}, "lte": {"string"},
                       "contains": {"string"}, "matches": {"string"}},
    ValueType.integer: {"eq": {"number"}, "ne": {"number"}, "in": {"number"}, "not_in": {"number"},
                        "gt": {"number"}, "gte": {"number"}, "lt": {"number"}, "lte": {"number"}},
    ValueType.boolean: {"eq": {"boolean"}, "ne": {"boolean"}, "in": {"boolean"}, "not_in": {"boolean"}},
    ValueType.datetime: {"eq": {"string"}, "ne": {"string"}, "gt": {"string"}, "gte": {"string"},
                         "lt": {"string"}, "lte": {"string"}},
    ValueType.object: {},
}  # fmt: skip
_ACCEPTS[ValueType.number] = _ACCEPTS[ValueType.integer]


def field_test_problems(test: FieldTest, paths: dict[str, PathSpec]) -> list[str]:
    given = [op for op in OPERATORS if _attr(op) in test.model_fields_set]
    nulls = [op for op in given if getattr(test, _attr(op)) is None]
    problems = [f"{op}: null is not a value here (use {{\"exists\": false}})" for op in nulls]
    given = [op for op in given if op not in nulls]
    if len(given) != 1 and not nulls:
        problems.append(
            f"give exactly one operator ({', '.join(OPERATORS)}); found "
            + (", ".join(given) if given else "none")
        )
    spec = paths.get(test.field)
    if spec is None:
        problems.append(f"unknown field {test.field!r}{_suggest(test.field, paths)}")
    for op in given:
        problems += _value_problems(op, getattr(test, _attr(op)), spec)
    return problems


def _suggest(path: str, paths: dict[str, PathSpec]) -> str:
    root = path.split(".")[0]
    near = sorted(p for p in paths if p.split(".")[0] == root)[:12]
    if near:
        return f" (known under {root!r}: {', '.join(near)})"
    roots = sorted({p.split(".")[0] for p in paths})
    return f" (known roots: {', '.join(roots)})"


def _value_problems(op: str, value: Any, spec: PathSpec | None) -> list[str]:
    if op == "exists":
        return []
    problems: list[str] = []
    values = value if op in ("in", "not_in") else [value]
    kinds = {_kind(v) for v in values}
    if op in ("in", "not_in") and len(kinds) > 1:
        problems.append(f"{op}: mix of {' and '.join(sorted(kinds))} values; use one type")
    if op == "matches":
        problems += pattern_problems(value)
    if spec is None or spec.type is ValueType.any:
        return problems
    accepted = _ACCEPTS[spec.type].get(op)
    if accepted is None:
        ops = ", ".join([*_ACCEPTS[spec.type], "exists"])
        return [*problems, f"{op} does not apply to {spec.path} ({spec.type.value}); use one of: {ops}"]
    wrong = kinds - accepted
    if wrong:
        problems.append(f"{op}: {spec.path} holds {spec.type.value} values, got {' and '.join(sorted(wrong))}")
        return problems
    if spec.type is ValueType.datetime:
        for v in values:
            if parse_time(v) is None:
                problems.append(f"{op}: {v!r} is not an ISO-8601 time (e.g. 2026-11-11T00:00:00+08:00)")
    if spec.choices and op in ("eq", "ne", "in", "not_in"):
        unknown = [v for v in values if v not in spec.choices]
        if unknown:
            known = ", ".join(spec.choices)
            problems.append(f"{op}: {spec.path} is one of {known}; not {', '.join(map(str, unknown))}")
    return problems


def parse_time(text: Any) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        return parse_instant(text)
    except ValueError:
        return None


def pattern_problems(pattern: Any) -> list[str]:
    """A `matches` pattern must compile and must not nest unbounded repetition (`(a+)+`), which can take
    exponential time on a crafted value; the value read is also capped at MAX_SUBJECT characters."""
    if not isinstance(pattern, str):
        return []
    if len(pattern) > MAX_PATTERN:
        return [f"matches: pattern longer than {MAX_PATTERN} characters"]
    try:
        re.compile(pattern)
    except re.error as exc:
        return [f"matches: not a valid regular expression ({exc})"]
    if _nested_repeat(pattern):
        return ["matches: nested repetition such as (a+)+ can take exponential time; simplify the pattern"]
    return []


def _nested_repeat(pattern: str) -> bool:
    import re._parser as sre  # the stdlib's own parser: the same tree `re.compile` builds

    repeats = {sre.MAX_REPEAT, sre.MIN_REPEAT, getattr(sre, "POSSESSIVE_REPEAT", sre.MAX_REPEAT)}

    def walk(items: Any, inside_unbounded: bool) -> bool:
        for op, arg in items:
            if op in repeats:
                low, high, sub = arg
                unbounded = high == sre.MAXREPEAT or high > 100
                if unbounded and inside_unbounded:
                    return True
                if walk(sub, inside_unbounded or unbounded):
                    return True
            elif op is sre.SUBPATTERN:
                if walk(arg[-1], inside_unbounded):
                    return True
            elif op is sre.BRANCH:
                if any(walk(branch, inside_unbounded) for branch in arg[1]):
                    return True
            elif op in (sre.ASSERT, sre.ASSERT_NOT):
                if walk(arg[1], inside_unbounded):
                    return True
            elif op is sre.GROUPREF and inside_unbounded:
                return True
        return False

    return walk(sre.parse(pattern), False)


def depth(condition: Any) -> int:
    if isinstance(condition, AllOf):
        return 1 + max(depth(c) for c in condition.all)
    if isinstance(condition, AnyOf):
        return 1 + max(depth(c) for c in condition.any)
    if isinstance(condition, NotOf):
        return 1 + depth(condition.not_)
    return 1
