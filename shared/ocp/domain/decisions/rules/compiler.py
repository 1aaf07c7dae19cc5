"""Conditions compiled once into closures: `test(facts) -> bool` for the hot path, and `explain` for a dry run.

No `eval`: each node becomes a small Python function over the values its path reads. A test never raises:
a missing value or a value of the wrong type makes it false (every operator but `exists`), and `explain`
records why in the trace.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any, NamedTuple

from ocp.domain.decisions.rules.conditions import (
    MAX_SUBJECT,
    AllOf,
    Always,
    AnyOf,
    FieldTest,
    NotOf,
    parse_time,
)
from ocp.domain.decisions.rules.paths import (
    MISSING,
    Facts,
    PathSpec,
    ValueType,
    fanout_reader,
    order_paths,
    scalar_reader,
)

Test = Callable[[Facts], bool]
Trace = list[dict[str, Any]]
Explain = Callable[[Facts, Trace, str], bool]
ValueTest = Callable[[Any], bool]

MAX_TRACE_VALUES = 10


class CompiledCondition(NamedTuple):
    test: Test
    explain: Explain
    """Evaluate exactly as `test` does (same short-circuits), appending one trace entry per node."""


def compile_condition(condition: Any, paths: dict[str, PathSpec]) -> CompiledCondition:
    if isinstance(condition, FieldTest):
        return _compile_field(condition, paths[condition.field])
    if isinstance(condition, Always):
        return _compile_always(condition.always)
    if isinstance(condition, AllOf):
        return _compile_all([compile_condition(c, paths) for c in condition.all])
    if isinstance(condition, AnyOf):
        return _compile_any([compile_condition(c, paths) for c in condition.any])
    if isinstance(condition, NotOf):
        return _compile_not(compile_condition(condition.not_, paths))
    raise TypeError(f"not a condition: {condition!r}")


# ---- combinators ---------------------------------------------------------------------------------------


def _compile_always(value: bool) -> CompiledCondition:
    def explain(facts: Facts, trace: Trace, at: str) -> bool:
        trace.append({"at": at, "condition": f"always {str(value).lower()}", "result": value})
        return value

    return CompiledCondition(lambda facts: value, explain)


def _compile_all(parts: list[CompiledCondition]) -> CompiledCondition:
    tests = tuple(p.test for p in parts)
    if len(tests) == 1:
        test = tests[0]
    elif len(tests) == 2:
        a, b = tests

        def test(facts: Facts) -> bool:
            return a(facts) and b(facts)
    else:

        def test(facts: Facts) -> bool:
            return all(t(facts) for t in tests)

    def explain(facts: Facts, trace: Trace, at: str) -> bool:
        entry: dict[str, Any] = {"at": at, "condition": f"all of {len(parts)}", "result": True}
        trace.append(entry)
        for i, part in enumerate(parts):
            if not part.explain(facts, trace, f"{at}.all[{i}]"):
                entry["result"] = False
                break
        return bool(entry["result"])

    return CompiledCondition(test, explain)


def _compile_any(parts: list[CompiledCondition]) -> CompiledCondition:
    tests = tuple(p.test for p in parts)

    def test(facts: Facts) -> bool:
        return any(t(facts) for t in tests)

    def explain(facts: Facts, trace: Trace, at: str) -> bool:
        entry: dict[str, Any] = {"at": at, "condition": f"any of {len(parts)}", "result": False}
        trace.append(entry)
        for i, part in enumerate(parts):
            if part.explain(facts, trace, f"{at}.any[{i}]"):
                entry["result"] = True
                break
        return bool(entry["result"])

    return CompiledCondition(test, explain)


def _compile_not(inner: CompiledCondition) -> CompiledCondition:
    inner_test = inner.test

    def explain(facts: Facts, trace: Trace, at: str) -> bool:
        entry: dict[str, Any] = {"at": at, "condition": "not", "result": None}
        trace.append(entry)
        entry["result"] = not inner.explain(facts, trace, f"{at}.not")
        return bool(entry["result"])

    return CompiledCondition(lambda facts: not inner_test(facts), explain)


# ---- field tests ---------------------------------------------------------------------------------------


def _is_number(value: Any) -> bool:
    kind = type(value)
    return kind is int or kind is float


def _is_string(value: Any) -> bool:
    return isinstance(value, str)


def _is_bool(value: Any) -> bool:
    return type(value) is bool


def _is_time(value: Any) -> bool:
    return isinstance(value, datetime)


def _type_check(op: str, expected: Any, spec: PathSpec) -> tuple[ValueTest, str]:
    """(is this value of a type the operator can compare, the type's name)."""
    sample = expected[0] if op in ("in", "not_in") else expected
    if op == "contains" and spec.list_leaf:
        return _is_scalar_of(sample)
    if op in ("contains", "matches"):
        return _is_string, "string"
    if spec.type is ValueType.datetime:
        return _is_time, "datetime"
    return _is_scalar_of(sample)


def _is_scalar_of(sample: Any) -> tuple[ValueTest, str]:
    if isinstance(sample, bool):
        return _is_bool, "boolean"
    if isinstance(sample, int | float):
        return _is_number, "number"
    return _is_string, "string"


def _value_test(op: str, expected: Any, spec: PathSpec) -> ValueTest:
    """A test of one value; the type check is folded in so a mismatch is simply false."""
    ok, _ = _type_check(op, expected, spec)
    if spec.type is ValueType.datetime and op not in ("contains", "matches"):
        expected = parse_time(expected)
    if op == "eq":
        if isinstance(expected, bool):
            return lambda v: v is expected
        return lambda v: ok(v) and v == expected
    if op == "ne":
        return lambda v: ok(v) and v != expected
    if op in ("in", "not_in"):
        members = frozenset(expected)
        if op == "in":
            return lambda v: ok(v) and v in members
        return lambda v: ok(v) and v not in members
    if op == "gt":
        return lambda v: ok(v) and v > expected
    if op == "gte":
        return lambda v: ok(v) and v >= expected
    if op == "lt":
        return lambda v: ok(v) and v < expected
    if op == "lte":
        return lambda v: ok(v) and v <= expected
    if op == "contains":
        if spec.list_leaf:  # the elements are the values: "has this element"
            return lambda v: ok(v) and v == expected
        text = str(expected)
        return lambda v: isinstance(v, str) and text in v
    if op == "matches":
        search = re.compile(expected).search
        return lambda v: isinstance(v, str) and search(v[:MAX_SUBJECT]) is not None
    raise ValueError(f"unknown operator {op!r}")


def _compile_field(condition: FieldTest, spec: PathSpec) -> CompiledCondition:
    op, expected = condition.operator, condition.value
    text = _describe(condition.field, op, expected)
    if op == "exists":
        return _compile_exists(spec, bool(expected), text)
    check = _value_test(op, expected, spec)
    ok, type_name = _type_check(op, expected, spec)
    values = _values_reader(spec)
    test = _string_fast_path(op, expected, spec) or _generic_test(spec, check)

    def explain(facts: Facts, trace: Trace, at: str) -> bool:
        found = values(facts)
        result = any(check(v) for v in found)
        entry: dict[str, Any] = {"at": at, "condition": text, "result": result, "actual": _shown(found, spec)}
        if not found:
            entry["note"] = "no value at this path (missing values never match)"
        elif not any(ok(v) for v in found):
            entry["note"] = f"type mismatch: {op} compares {type_name} values"
        trace.append(entry)
        return result

    return CompiledCondition(test, explain)


def _values_reader(spec: PathSpec) -> Callable[[Facts], list[Any]]:
    """Every value the path yields (none when missing), for the trace."""
    if spec.fanout:
        return fanout_reader(spec)
    one = scalar_reader(spec)

    def values(facts: Facts) -> list[Any]:
        value = one(facts)
        return [] if value is MISSING else [value]

    return values


def _generic_test(spec: PathSpec, check: ValueTest) -> Test:
    if spec.fanout:
        many = fanout_reader(spec)

        def any_value(facts: Facts) -> bool:
            for value in many(facts):  # noqa: SIM110 — a plain loop beats any(<generator>) on the hot path
                if check(value):
                    return True
            return False

        return any_value
    one = scalar_reader(spec)
    return lambda facts: check(one(facts))


def _string_fast_path(op: str, expected: Any, spec: PathSpec) -> Test | None:
    """`eq`/`in` on text over the order's own paths, done by the interpreter's C code: a value equal to a
    string is a string, and the order's values are all hashable, so `==`, `in` and set overlap decide alone."""
    if spec.path not in order_paths() or spec.type is ValueType.datetime or op not in ("eq", "in"):
        return None
    members = expected if op == "in" else [expected]
    if not all(isinstance(m, str) for m in members):
        return None
    if spec.fanout:
        many = fanout_reader(spec)
        if op == "eq":
            return lambda facts: expected in many(facts)
        wanted = frozenset(members)
        return lambda facts: not wanted.isdisjoint(many(facts))
    one = scalar_reader(spec)
    if op == "eq":
        return lambda facts: one(facts) == expected
    wanted = frozenset(members)
    return lambda facts: one(facts) in wanted


def _compile_exists(spec: PathSpec, wanted: bool, text: str) -> CompiledCondition:
    if spec.fanout:
        many = fanout_reader(spec)

        def present(facts: Facts) -> bool:
            return bool(many(facts))
    else:
        one = scalar_reader(spec)

        def present(facts: Facts) -> bool:
            return one(facts) is not MISSING

    def test(facts: Facts) -> bool:
        return present(facts) is wanted

    def explain(facts: Facts, trace: Trace, at: str) -> bool:
        result = test(facts)
        shown = "present" if present(facts) else "missing"
        trace.append({"at": at, "condition": text, "result": result, "actual": shown})
        return result

    return CompiledCondition(test, explain)


def _describe(field: str, op: str, value: Any) -> str:
    shown = json.dumps(value, ensure_ascii=False)
    if len(shown) > 120:
        shown = shown[:117] + "..."
    return f"{field} {op} {shown}"


def _shown(values: list[Any], spec: PathSpec) -> Any:
    plain = [_json_safe(v) for v in values[:MAX_TRACE_VALUES]]
    if len(values) > MAX_TRACE_VALUES:
        plain.append(f"... {len(values) - MAX_TRACE_VALUES} more")
    if not spec.fanout:
        return plain[0] if plain else None
    return plain


def _json_safe(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str):
        return str(value)[:200]
    if isinstance(value, int | float | bool):
        return value
    return type(value).__name__
