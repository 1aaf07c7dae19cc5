"""Field paths of the rule language: which exist, what type each holds, and how to read one fast.

The paths are derived from the `Order` model itself (so a field a channel adds is addressable at once), plus
the catalog joined onto lines (`lines.category`, `lines.list_price`, … and `lines.catalog.<field>` for every
catalog field), a few derived values (`total_quantity`), and roots a rule kind adds (`return.reason`).

A path through `lines` (or through any list, such as `tags`) yields one value per element; the condition on it
holds when any element matches. A missing value (absent, None, no catalog entry) is `MISSING`.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum, StrEnum
from functools import cache
from typing import Any, NamedTuple, Union

from pydantic import BaseModel

from ocp.domain.operations.catalog import CatalogFields, CatalogItem
from ocp.domain.order.model import Order


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


class ValueType(StrEnum):
    string = "string"
    integer = "integer"
    number = "number"
    boolean = "boolean"
    datetime = "datetime"
    object = "object"
    """A nested record (`address`, `presale`): only `exists` applies."""
    any = "any"
    """Untyped (kind-specific roots): operators check types when they run."""


class PathSpec(NamedTuple):
    path: str
    type: ValueType
    fanout: bool = False
    """True when the path passes through a list (lines, tags): it yields one value per element."""
    list_leaf: bool = False
    """The path itself names a list of values (`tags`, `lines.gift_for`): `contains` means "has as element"."""
    choices: tuple[str, ...] = ()
    """For enumerations: the values that exist."""


@dataclass(frozen=True)
class Facts:
    """What a rule reads: the order, the catalog entries of its SKUs, and kind-specific roots.

    Values of paths through lists are read once per `Facts` and remembered (`memo`): a hundred rules on
    `lines.sku` walk the lines once. Make one `Facts` per order and share it across the kinds."""

    order: Order
    catalog: Mapping[str, CatalogItem] = field(default_factory=dict)
    extra: Mapping[str, Any] = field(default_factory=dict)
    memo: dict[str, list[Any]] = field(default_factory=dict, compare=False, repr=False)


Getter = Callable[[Facts], Any]
"""A scalar path's reader: the value, or MISSING."""
FanGetter = Callable[[Facts], list[Any]]
"""A fan-out path's reader: one value per element (MISSING ones left out)."""

_EXCLUDED = {"timeline", "holds", "revision", "reservation", "reservation_intent"}
"""Not rule inputs: what OCP itself writes about the order while deciding it."""
CATALOG_SHORTHAND = ("name", "category", "list_price", "min_price", "returnable", "return_window_days")
"""`lines.<field>` for these reads the line's catalog entry (line fields of the same name win: `lines.gift`)."""


def _unwrap(annotation: Any) -> tuple[Any, bool]:
    """(inner type, is a list) after Optional/Annotated/tuple[X, ...]/list[X]."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        inner = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _unwrap(inner[0]) if len(inner) == 1 else (Any, False)
    if origin in (tuple, list, set, frozenset):
        args = [a for a in typing.get_args(annotation) if a is not Ellipsis]
        element: Any = _unwrap(args[0])[0] if args else Any
        return element, True
    return annotation, False


def _scalar_type(annotation: Any) -> tuple[ValueType, tuple[str, ...]]:
    if isinstance(annotation, type):
        if issubclass(annotation, Enum):
            return ValueType.string, tuple(str(m.value) for m in annotation)
        if issubclass(annotation, bool):
            return ValueType.boolean, ()
        if issubclass(annotation, int):
            return ValueType.integer, ()
        if issubclass(annotation, float):
            return ValueType.number, ()
        if issubclass(annotation, str):
            return ValueType.string, ()
        if issubclass(annotation, datetime):
            return ValueType.datetime, ()
        if issubclass(annotation, BaseModel):
            return ValueType.object, ()
    return ValueType.any, ()


def _walk(model: type[BaseModel], prefix: str, fanout: bool, out: dict[str, PathSpec]) -> None:
    for name, info in model.model_fields.items():
        if not prefix and name in _EXCLUDED:
            continue
        inner, is_list = _unwrap(info.annotation)
        path = f"{prefix}{name}"
        vtype, choices = _scalar_type(inner)
        out[path] = PathSpec(path, vtype, fanout=fanout or is_list, choices=choices,
                             list_leaf=is_list and vtype is not ValueType.object)
        if vtype is ValueType.object and isinstance(inner, type) and issubclass(inner, BaseModel):
            _walk(inner, f"{path}.", fanout or is_list, out)


@cache
def order_paths() -> Mapping[str, PathSpec]:
    """Every path over the unified order, the catalog join and the derived values."""
    out: dict[str, PathSpec] = {}
    _walk(Order, "", False, out)
    catalog: dict[str, PathSpec] = {}
    _walk(CatalogFields, "", False, catalog)
    for name, spec in catalog.items():
        out[f"lines.catalog.{name}"] = PathSpec(f"lines.catalog.{name}", spec.type, fanout=True, choices=spec.choices)
        if name in CATALOG_SHORTHAND and f"lines.{name}" not in out:
            out[f"lines.{name}"] = PathSpec(f"lines.{name}", spec.type, fanout=True, choices=spec.choices)
    out["total_quantity"] = PathSpec("total_quantity", ValueType.integer)
    return out


def known_paths(extra_roots: Mapping[str, ValueType] | None = None) -> dict[str, PathSpec]:
    paths = dict(order_paths())
    for path, vtype in (extra_roots or {}).items():
        paths[path] = PathSpec(path, vtype)
    return paths


# ---- readers --------------------------------------------------------------------------------------------


def _or_missing(value: Any) -> Any:
    return MISSING if value is None else value


def _attr_chain(attrs: tuple[str, ...]) -> Callable[[Any], Any]:
    if len(attrs) == 1:
        (a,) = attrs
        return lambda obj: _or_missing(getattr(obj, a, None))
    if len(attrs) == 2:
        a, b = attrs

        def two(obj: Any) -> Any:
            mid = getattr(obj, a, None)
            return MISSING if mid is None else _or_missing(getattr(mid, b, None))

        return two

    def chain(obj: Any) -> Any:
        for attr in attrs:
            obj = getattr(obj, attr, None)
            if obj is None:
                return MISSING
        return obj

    return chain


def _flatten(values: list[Any]) -> list[Any]:
    out: list[Any] = []
    for value in values:
        if value is MISSING:
            continue
        if isinstance(value, tuple | list):
            out.extend(v for v in value if v is not None)
        else:
            out.append(value)
    return out


def _total_quantity(facts: Facts) -> int:
    return sum(line.quantity for line in facts.order.lines)


def _extra_reader(parts: tuple[str, ...]) -> Getter:
    def read(facts: Facts) -> Any:
        value: Any = facts.extra
        for part in parts:
            if not isinstance(value, Mapping) or part not in value:
                return MISSING
            value = value[part]
        return _or_missing(value)

    return read


def scalar_reader(spec: PathSpec) -> Getter:
    """A reader for a path that does not fan out."""
    if spec.path == "total_quantity":
        return _total_quantity
    parts = tuple(spec.path.split("."))
    if spec.path not in order_paths():
        return _extra_reader(parts)
    chain = _attr_chain(parts)
    return lambda facts: chain(facts.order)


def fanout_reader(spec: PathSpec) -> FanGetter:
    """A reader for a path through a list: the values of every element, flattened, MISSING left out;
    computed once per `Facts`."""
    compute = _fanout_values(spec)
    key = spec.path

    def read(facts: Facts) -> list[Any]:
        found = facts.memo.get(key)
        if found is None:
            found = facts.memo[key] = compute(facts)
        return found

    return read


def _fanout_values(spec: PathSpec) -> FanGetter:
    parts = tuple(spec.path.split("."))
    if parts[0] == "lines" and len(parts) > 1:
        rest = parts[1:]
        on_catalog = rest[0] == "catalog" or (rest[0] in CATALOG_SHORTHAND and len(rest) == 1
                                              and rest[0] not in _line_fields())
        if on_catalog:
            attr = rest[-1]

            def from_catalog(facts: Facts) -> list[Any]:
                catalog = facts.catalog
                found = []
                for line in facts.order.lines:
                    item = catalog.get(line.sku)
                    if item is not None:
                        value = getattr(item, attr, None)
                        if value is not None:
                            found.append(value)
                return found

            return from_catalog
        chain = _attr_chain(rest)
        return lambda facts: _flatten([chain(line) for line in facts.order.lines])
    whole = _attr_chain(parts)
    return lambda facts: _flatten([whole(facts.order)])


@cache
def _line_fields() -> frozenset[str]:
    from ocp.domain.order.model import OrderLine

    return frozenset(OrderLine.model_fields)
