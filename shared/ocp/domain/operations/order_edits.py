"""`PATCH /orders/{id}`: an operator fixes a held order's address, picks its warehouse (routing rules are then
skipped for the order) or edits its lines within what the buyer paid (the lines' `paid` plus shipping must still
equal `amounts.paid`). The reasons tied to a fixed field are acknowledged (`FIELD_REASONS`), so the checks do not
raise them again on release.
"""

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field, ValidationError

from ocp.base_model import FrozenModel
from ocp.domain.errors import DomainError
from ocp.domain.operations.held_queue import operator_entry, suits
from ocp.domain.operations.restock import OrderActionRefused
from ocp.domain.order.model import GIFT_LINE_PREFIX, Address, Amounts, HoldReason, Order, OrderLine, OrderStatus
from ocp.domain.problems import Problem, problems_from

if TYPE_CHECKING:
    from ocp.domain.decisions.routing import WarehouseFacts

FIELD_REASONS: dict[str, tuple[HoldReason, ...]] = {
    "address": (HoldReason.address_unresolved, HoldReason.phone_invalid),
    "lines": (HoldReason.price_abnormal,),
}
"""A field an operator fixed and the hold reasons about it, which the checks then no longer raise."""


class InvalidOrderEdit(DomainError):
    """`details` lists every problem (400)."""

    code = "invalid_order_edit"

    def __init__(self, message: str, problems: list[Problem]) -> None:
        super().__init__(message, details=[p.as_dict() for p in problems])


class AddressPatch(FrozenModel):
    """Only the fields given change; `null` clears one."""

    country: str | None = Field(default=None, min_length=2, max_length=2)
    province: str | None = Field(default=None, max_length=40)
    city: str | None = Field(default=None, max_length=40)
    district: str | None = Field(default=None, max_length=40)
    town: str | None = Field(default=None, max_length=40)
    detail: str | None = Field(default=None, max_length=200)
    postal_code: str | None = Field(default=None, max_length=16)
    recipient: str | None = Field(default=None, max_length=64)
    phone: str | None = Field(default=None, max_length=32)


class LineEdit(FrozenModel):
    line_id: str = Field(min_length=1, max_length=64)
    sku: str = Field(min_length=1, max_length=128)
    quantity: int = Field(gt=0, le=10_000, strict=True)
    unit_price: int = Field(ge=0, strict=True, description="Minor units (fen)")
    paid: int = Field(ge=0, strict=True, description="This line's share of what the buyer paid")
    title: str | None = Field(default=None, max_length=200)


class OrderPatch(FrozenModel):
    """The body of `PATCH /orders/{order_id}`: any of address, warehouse, lines (the whole list of sold lines;
    gift lines OCP added are worked out again on release), and a note for the timeline."""

    address: AddressPatch | None = None
    warehouse: str | None = Field(default=None, min_length=1, max_length=64)
    lines: list[LineEdit] | None = Field(default=None, min_length=1, max_length=200)
    note: str | None = Field(default=None, max_length=300)


def parse_patch(body: Any) -> OrderPatch:
    try:
        patch = OrderPatch.model_validate(body)
    except ValidationError as exc:
        raise InvalidOrderEdit("the edit is not valid", problems_from(exc)) from None
    if patch.address is None and patch.warehouse is None and patch.lines is None:
        raise InvalidOrderEdit("give at least one of address, warehouse, lines",
                               [Problem(path="", problem="nothing to change")])
    return patch


def edited(order: Order, patch: OrderPatch, warehouses: "Mapping[str, WarehouseFacts]", actor: str,
           at: datetime) -> Order:
    """The held order with the operator's edit applied and re-validated; `InvalidOrderEdit` lists every problem."""
    if order.status != OrderStatus.held:
        raise OrderActionRefused(f"order {order.order_id} is {order.status.value}: only held orders are edited",
                                 details={"status": order.status.value})
    problems: list[Problem] = []
    update: dict[str, Any] = {}
    fields: list[str] = []
    if patch.address is not None:
        given = patch.address.model_dump(exclude_unset=True)
        update["address"] = Address.model_validate({**order.address.model_dump(), **given})
        fields.append("address")
    if patch.lines is not None:
        lines, amounts, line_problems = _edited_lines(order, patch.lines)
        problems += line_problems
        update |= {"lines": lines, "amounts": amounts}
        fields.append("lines")
    if patch.warehouse is not None:
        facts = warehouses.get(patch.warehouse)
        why = "is not a known warehouse" if facts is None else suits(facts, order)
        if why is not None:
            problems.append(Problem(path="warehouse", problem=f"{patch.warehouse} {why}"))
        fields.append("warehouse")
    if problems:
        raise InvalidOrderEdit(f"the edit of order {order.order_id} is not valid", problems)
    overrides = order.operator_overrides
    fixed = [reason for name in fields for reason in FIELD_REASONS.get(name, ())]
    update["operator_overrides"] = overrides.model_copy(update={
        "acknowledged": tuple(dict.fromkeys((*overrides.acknowledged, *fixed))),
        "warehouse": patch.warehouse or overrides.warehouse,
        "edited": tuple(dict.fromkeys((*overrides.edited, *fields))),
    })
    detail = "changed " + ", ".join(fields) + (f" → {patch.warehouse}" if patch.warehouse else "") + (
        f": {patch.note}" if patch.note else "")
    update["timeline"] = (*order.timeline, operator_entry(at, "edited", actor, detail))
    try:
        return Order.model_validate({**order.model_dump(), **{k: _dumped(v) for k, v in update.items()}})
    except ValidationError as exc:
        raise InvalidOrderEdit(f"the edit of order {order.order_id} is not valid", problems_from(exc)) from None


def _dumped(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump()
    if isinstance(value, tuple):
        return tuple(_dumped(v) for v in value)
    return value


def _edited_lines(order: Order, edits: list[LineEdit]) -> tuple[tuple[OrderLine, ...], Amounts, list[Problem]]:
    """The sold lines as edited (a line keeps its channel fields when its id stays), and the amounts they make:
    `paid` and shipping stay what the buyer paid; items and discount follow the lines."""
    problems: list[Problem] = []
    before = {line.line_id: line for line in order.lines}
    seen: set[str] = set()
    lines: list[OrderLine] = []
    for i, edit in enumerate(edits):
        if edit.line_id in seen:
            problems.append(Problem(path=f"lines[{i}].line_id", problem="listed twice"))
        seen.add(edit.line_id)
        if edit.line_id.startswith(GIFT_LINE_PREFIX):
            problems.append(Problem(path=f"lines[{i}].line_id", problem="gift lines are added by the gift rules"))
        tax = before[edit.line_id].tax if edit.line_id in before else 0
        discount = edit.unit_price * edit.quantity - (edit.paid - tax)
        if discount < 0:
            problems.append(Problem(path=f"lines[{i}].paid", problem="more than unit_price × quantity"))
        kept = before[edit.line_id].model_dump() if edit.line_id in before else {}
        lines.append(OrderLine.model_validate({
            **kept, **edit.model_dump(exclude_none=True), "discount": max(0, discount), "tax": tax,
            "gift": kept.get("gift", False), "refund_requested": kept.get("refund_requested", False),
        }))
    paid = sum(line.paid for line in lines)
    expected = order.amounts.paid - order.amounts.shipping
    if paid != expected:
        problems.append(Problem(path="lines", problem=f"the lines' paid add up to {paid}; the buyer paid {expected} "
                                                      f"for items ({order.amounts.paid} minus shipping "
                                                      f"{order.amounts.shipping})"))
    items = sum(line.unit_price * line.quantity for line in lines)
    amounts = order.amounts.model_copy(update={"items": items, "discount": sum(line.discount for line in lines)})
    return tuple(lines), amounts, problems
