"""Whether an after-sale may go ahead against its order (pure): the workflow's `validate` step, and `POST /returns`
before it answers 202.

Each problem names its line and a code an operator, a buyer's channel or a script can act on.
"""

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from pydantic import ConfigDict, Field

from ocp.base_model import OcpModel
from ocp.domain.errors import DomainError
from ocp.domain.order.model import Order, OrderLine, OrderStatus
from ocp.domain.returns.model import AfterSale, Policy, ReturnKind, ReturnLine, ReturnStatus

if TYPE_CHECKING:
    from ocp.domain.operations.catalog import CatalogItem

SHIPPED = frozenset({OrderStatus.shipped, OrderStatus.delivered})
NEEDS_SHIPMENT = frozenset({ReturnKind.return_refund, ReturnKind.exchange, ReturnKind.refund_only_after_ship,
                            ReturnKind.reship})
TAKES_GOODS_BACK = frozenset({ReturnKind.return_refund, ReturnKind.exchange})


class Problem(OcpModel):
    model_config = ConfigDict(frozen=True)

    code: str = Field(description="not_shipped | order_cancelled | unknown_line | quantity_exceeded | "
                                  "not_returnable | window_closed | no_lines")
    reason: str
    line_id: str | None = None
    sku: str | None = None


class ReturnRefused(DomainError):
    """The after-sale cannot go ahead; `details` lists every problem."""

    code = "return_refused"

    def __init__(self, problems: Sequence[Problem]) -> None:
        super().__init__("; ".join(p.reason for p in problems), details=[p.model_dump() for p in problems])
        self.problems = tuple(problems)


LINES_REFUNDED = "lines_refunded"
"""The order's timeline event when a refund before shipment took units off it (detail: `refund_marker`)."""


def refund_marker(return_id: str) -> str:
    return f"refund:{return_id}"


def left_the_order(order: Order) -> set[str]:
    """The after-sales whose units were taken off the order (a refund before shipment): the order's lines no longer
    hold them, so they count against nothing that is still on it."""
    return {entry.detail.removeprefix("refund:") for entry in order.timeline
            if entry.event == LINES_REFUNDED and entry.detail and entry.detail.startswith("refund:")}


def counting(earlier: Sequence[AfterSale], order: Order, exclude: str | None = None) -> list[AfterSale]:
    """The other after-sales that hold units of the order's lines as they are now: not rejected, failed or closed
    unrefunded, and not ones whose units already left the order."""
    gone = left_the_order(order)
    return [other for other in earlier
            if other.return_id != exclude and other.return_id not in gone and _counts(other)]


def in_flight(earlier: Sequence[AfterSale], exclude: str | None = None) -> dict[str, int]:
    """Units per order line in the after-sales given (see `counting`), `exclude` left out."""
    counts: dict[str, int] = {}
    for other in earlier:
        if other.return_id == exclude:
            continue
        for line in other.lines:
            counts[line.line_id] = counts.get(line.line_id, 0) + line.quantity
    return counts


def _counts(after_sale: AfterSale) -> bool:
    if after_sale.status in (ReturnStatus.rejected, ReturnStatus.failed):
        return False
    return not (after_sale.status == ReturnStatus.closed and after_sale.refund is None
                and after_sale.replacement_order_id is None)


def priced_lines(order: Order, wanted: Sequence[tuple[str | None, str | None, int, str | None]],
                 earlier: Sequence[AfterSale], exclude: str | None = None) -> tuple[ReturnLine, ...]:
    """The after-sale's lines from (line id, SKU, quantity, reason) requests: each matched to its order line (by id,
    else the first line of the SKU with units left), priced from that line's `paid`, after the units earlier
    after-sales took. `ReturnRefused` lists every line that does not fit."""
    taken = in_flight(counting(earlier, order, exclude))
    problems: list[Problem] = []
    lines: list[ReturnLine] = []
    if not wanted:
        raise ReturnRefused([Problem(code="no_lines", reason="an after-sale needs at least one line")])
    for line_id, sku, quantity, reason in wanted:
        line = _order_line(order, line_id, sku, taken, quantity)
        if line is None:
            problems.append(Problem(code="unknown_line", line_id=line_id, sku=sku,
                                    reason=f"order {order.order_id} has no line {line_id or sku!r} to return"))
            continue
        before = taken.get(line.line_id, 0)
        if before + quantity > line.quantity:
            problems.append(Problem(
                code="quantity_exceeded", line_id=line.line_id, sku=line.sku,
                reason=f"line {line.line_id} ({line.sku}): {quantity} asked, {line.quantity - before} of "
                       f"{line.quantity} bought left after earlier after-sales"))
            continue
        taken[line.line_id] = before + quantity
        lines.append(ReturnLine(line_id=line.line_id, sku=line.sku, quantity=quantity, reason=reason,
                                ordered=line.quantity, paid=line.paid, before=before))
    if problems:
        raise ReturnRefused(problems)
    return tuple(lines)


def _order_line(order: Order, line_id: str | None, sku: str | None, taken: Mapping[str, int],
                quantity: int) -> OrderLine | None:
    if line_id is not None:
        return next((line for line in order.lines if line.line_id == line_id), None)
    candidates = [line for line in order.lines if line.sku == sku]
    return next((line for line in candidates if line.quantity - taken.get(line.line_id, 0) >= quantity),
                candidates[0] if candidates else None)


def check(after_sale: AfterSale, order: Order, catalog: "Mapping[str, CatalogItem]", policy: Policy,
          now: datetime) -> list[Problem]:
    """Every reason the after-sale cannot go ahead against its order now (the lines were priced already)."""
    problems: list[Problem] = []
    if order.status == OrderStatus.cancelled:
        problems.append(Problem(code="order_cancelled", reason=f"order {order.order_id} is cancelled"))
        return problems
    if after_sale.kind in NEEDS_SHIPMENT and order.status not in SHIPPED:
        problems.append(Problem(code="not_shipped", reason=f"order {order.order_id} is {order.status.value}, not "
                                                           f"shipped: ask for a refund before shipment instead"))
        return problems
    if after_sale.kind not in TAKES_GOODS_BACK:
        return problems
    for line in after_sale.lines:
        item = catalog.get(line.sku)
        if item is not None and not item.returnable:
            problems.append(Problem(code="not_returnable", line_id=line.line_id, sku=line.sku,
                                    reason=f"{line.sku} is not returnable (catalog)"))
            continue
        window = policy.window_days if policy.window_days is not None else (
            item.return_window_days if item is not None else None)
        days = days_since_delivery(order, now)
        if window is not None and days is not None and days > window:
            problems.append(Problem(code="window_closed", line_id=line.line_id, sku=line.sku,
                                    reason=f"{line.sku}: delivered {days} days ago, returns close after {window}"))
    return problems


def days_since_delivery(order: Order, now: datetime) -> int | None:
    """Whole days since the order was delivered; None while it is on its way (the window has not started)."""
    if order.status != OrderStatus.delivered:
        return None
    return max(0, (now - order.status_since).days)
