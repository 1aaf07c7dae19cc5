"""The `routing` kind: which warehouses (or supplier) an order goes to; the first matching rule wins."""

import re
from typing import Any

from pydantic import Field, field_validator, model_validator

from ocp.base_model import FrozenModel
from ocp.domain.decisions.routing import ANY_WAREHOUSE
from ocp.domain.decisions.rules.kinds import MAX_RULES, DocumentBase, RuleBase, always_rule
from ocp.domain.order.model import HoldReason

WAREHOUSE_ID = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$"


class RoutingThen(FrozenModel):
    """Exactly one of: ordered candidate `warehouses` (`"*"` last = then any other warehouse with stock),
    a `supplier` that drop-ships, or a `hold` reason that sends the order to review."""

    warehouses: list[str] | None = Field(default=None, min_length=1, max_length=50)
    split: bool = Field(default=False, description="Split across the candidates when none can take the whole order")
    supplier: str | None = Field(default=None, pattern=WAREHOUSE_ID)
    hold: HoldReason | None = None

    @field_validator("warehouses")
    @classmethod
    def _warehouse_ids(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return value
        problems = [
            f"{w!r} is not a warehouse id" for w in value if w != ANY_WAREHOUSE and not re.match(WAREHOUSE_ID, w)
        ]
        if ANY_WAREHOUSE in value[:-1]:
            problems.append(f'"{ANY_WAREHOUSE}" (any other warehouse) may only come last')
        if len(set(value)) != len(value):
            problems.append("a warehouse is listed twice")
        if problems:
            raise ValueError("; ".join(problems))
        return value

    @model_validator(mode="after")
    def _one_action(self) -> "RoutingThen":
        actions = [name for name in ("warehouses", "supplier", "hold") if getattr(self, name) is not None]
        if len(actions) != 1:
            raise ValueError(f"give exactly one of warehouses, supplier, hold; found {', '.join(actions) or 'none'}")
        if self.split and self.warehouses is None:
            raise ValueError("split applies to warehouses only")
        return self


class RoutingRule(RuleBase):
    then: RoutingThen


MAX_MERGE_WINDOW_MINUTES = 240
"""A parcel held longer than this for a buyer's next order would miss the day's cut-off."""


class RoutingDocument(DocumentBase):
    rules: list[RoutingRule] = Field(max_length=MAX_RULES)
    merge_window_minutes: int = Field(
        default=0, ge=0, le=MAX_MERGE_WINDOW_MINUTES,
        description="Merged parcels: a newly reserved order waits up to this long for other orders of the same "
                    "channel, buyer, address and warehouse, and they leave as one instruction; 0 (default) is off",
    )


DOCUMENT = RoutingDocument
DEFAULT: dict[str, Any] = {"description": "Ships with OCP: any warehouse with stock", "rules": [
    always_rule("default", 1_000_000, {"warehouses": [ANY_WAREHOUSE], "split": False},
                "Any warehouse that can take the whole order"),
]}
