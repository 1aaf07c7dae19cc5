"""After-sales asked for and acted on through the API: `POST /returns`, approve/reject, warehouse receipts, refund
settlement. Each records its step on the after-sale and, when the workflow waits for it, resumes the workflow."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import Field, ValidationError

from ocp.base_model import FrozenModel
from ocp.domain.errors import OrderNotFound
from ocp.domain.returns.checks import Problem, ReturnRefused, check, priced_lines
from ocp.domain.returns.errors import InvalidReturnRequest, ReturnConflict, ReturnNotFound
from ocp.domain.returns.model import AfterSale, Decision, Receipt, ReceiptLine, ReturnKind, ReturnStatus, with_step
from ocp.domain.returns.policy import policy_for, return_facts
from ocp.services.access.attribution import stamp_steps
from ocp.services.returns.places import receiving_warehouse
from ocp.services.returns.progress import get_return, return_id_of_refund, settle, start, update
from ocp.services.returns.restock import restock_receipt

if TYPE_CHECKING:
    from ocp.services.returns.deps import ReturnsDeps


class RequestLine(FrozenModel):
    sku: str | None = Field(default=None, min_length=1, max_length=128)
    line_id: str | None = Field(default=None, min_length=1, max_length=128)
    quantity: int = Field(gt=0, le=100_000)
    reason: str | None = Field(default=None, max_length=500)


class ReturnRequest(FrozenModel):
    order_id: str = Field(min_length=1, max_length=200)
    lines: list[RequestLine] = Field(min_length=1, max_length=500)
    kind: ReturnKind = ReturnKind.return_refund
    reason: str | None = Field(default=None, max_length=500)
    request_id: str | None = Field(default=None, min_length=1, max_length=128,
                                   description="The caller's idempotency key: the same key answers the same return")


class ReceiptRequest(FrozenModel):
    lines: list[ReceiptLine] = Field(min_length=1, max_length=500)
    receipt_id: str | None = Field(default=None, min_length=1, max_length=128)
    warehouse: str | None = Field(default=None, min_length=1, max_length=64)


def parse(model: type[FrozenModel], body: Any) -> Any:
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        details = [{"field": ".".join(str(p) for p in error["loc"]) or "body", "problem": error["msg"]}
                   for error in exc.errors()]
        raise InvalidReturnRequest(f"the request is not a valid {model.__name__}", details=details) from None


# ---- a new after-sale -------------------------------------------------------------------------------------------


def create_return(body: Any, deps: ReturnsDeps, actor: str) -> tuple[AfterSale, bool]:
    """Check the request against the order now (a refusal is the caller's 4xx), store it and start its workflow.
    The second value is False when the same request (`request_id`) was made before: its after-sale answers."""
    request: ReturnRequest = parse(ReturnRequest, body)
    return_id = _return_id(request)
    existing = deps.returns.get(return_id)
    if existing is not None:
        start(existing, deps)
        return existing, False
    order = deps.orders.get(request.order_id)
    if order is None:
        raise OrderNotFound(f"no order {request.order_id!r}")
    now = deps.now()
    wanted = [(line.line_id, line.sku, line.quantity, line.reason or request.reason) for line in request.lines]
    lines = priced_lines(order, wanted, deps.returns.of_order(order.order_id))
    after_sale = AfterSale(return_id=return_id, order_id=order.order_id, channel=order.channel.value, kind=request.kind,
                           status=ReturnStatus.requested, status_since=now, lines=lines, currency=order.currency,
                           reason=request.reason, shipping_paid=order.amounts.shipping, created_at=now, updated_at=now)
    policies, catalog_reader = deps.policy_inputs()
    catalog = catalog_reader.get_many({line.sku for line in lines if line.sku})
    policy = policy_for(policies.get("return_policy"), return_facts(after_sale, order, catalog, now))
    problems: list[Problem] = check(after_sale, order, catalog, policy, now)
    if problems:
        raise ReturnRefused(problems)
    after_sale = with_step(after_sale, "requested", actor, now, f"{request.kind.value} of {len(lines)} line(s)")
    if not deps.returns.create(stamp_steps(None, after_sale)):
        after_sale = get_return(return_id, deps)
    start(after_sale, deps)
    return after_sale, True


def _return_id(request: ReturnRequest) -> str:
    if request.request_id is None:
        return f"ret-{uuid.uuid4().hex[:20]}"
    digest = hashlib.sha256(f"{request.order_id}\n{request.request_id}".encode()).hexdigest()[:20]
    return f"ret-{digest}"


# ---- acting on one ----------------------------------------------------------------------------------------------


def decide_return(return_id: str, approved: bool, deps: ReturnsDeps, actor: str, note: str | None = None,
                  reason_code: str | None = None) -> AfterSale:
    """A person's approval or rejection of an after-sale waiting for one. Rejecting a marketplace's after-sale needs
    the channel's reason code (it is refused there with it)."""

    def change(current: AfterSale, now: datetime) -> AfterSale | None:
        if not approved and current.channel_aftersale_id is not None and not reason_code:
            raise InvalidReturnRequest(
                f"refusing a {current.channel} after-sale needs the channel's reason code",
                details=[{"field": "reason_code", "problem": f"required: {current.channel} refuses with its own "
                                                             "reason codes"}])
        if current.decision is not None:
            if current.decision.approved == approved:
                return None
            raise ReturnConflict(f"after-sale {return_id} was already "
                                 f"{'approved' if current.decision.approved else 'rejected'}")
        if current.status not in (ReturnStatus.awaiting_approval, ReturnStatus.requested):
            raise ReturnConflict(f"after-sale {return_id} is {current.status.value}: nothing to decide")
        decision = Decision(approved=approved, auto=False, by=actor, at=now, reason=note, reason_code=reason_code)
        updates: dict[str, Any] = {"decision": decision}
        if not approved:
            updates["status"] = ReturnStatus.rejected
        return with_step(current, "approve" if approved else "reject", actor, now, note, **updates)

    return update(return_id, deps, change)


RECEIVING = frozenset({ReturnStatus.awaiting_receipt, ReturnStatus.awaiting_buyer_shipment,
                       # Goods may still arrive after a refund that did not wait for them (`require_receipt: false`).
                       ReturnStatus.refund_pending, ReturnStatus.refund_overdue, ReturnStatus.refunded})


def record_receipt(return_id: str, body: Any, deps: ReturnsDeps, actor: str,
                   may_receive_at: Callable[[str, str | None], None] | None = None) -> AfterSale:
    """A warehouse's scan of returned goods: recorded on the after-sale first (checked against what is still
    expected, at the revision read), then put on the books by grade (intact back on sale, the rest in their
    buckets). A repeated `receipt_id` changes nothing, and finishes the books if the first call died between the two
    writes; without a `receipt_id` every scan counts. Several partial receipts add up. `may_receive_at(warehouse,
    due)` refuses (it raises) before anything is written a receipt the caller may not book: at `warehouse` (named
    in the body, else `due`), of a return `due` back at the order's warehouse (None: the order is gone)."""
    request: ReceiptRequest = parse(ReceiptRequest, body)
    receipt_id = request.receipt_id or f"rc-{uuid.uuid4().hex[:16]}"
    current = get_return(return_id, deps)
    order = deps.orders.get(current.order_id)
    due = receiving_warehouse(order) if order else None
    warehouse = request.warehouse or due or "unknown"
    if may_receive_at is not None:
        may_receive_at(warehouse, due)
    receipt = Receipt(receipt_id=receipt_id, at=deps.now(), warehouse=warehouse, lines=tuple(request.lines),
                      actor=actor)

    def change(latest: AfterSale, at: datetime) -> AfterSale | None:
        if any(r.receipt_id == receipt_id for r in latest.receipts):
            return None
        if latest.status not in RECEIVING:
            raise ReturnConflict(f"after-sale {return_id} is {latest.status.value}: it takes no receipt")
        _check_receipt(latest, request)
        graded = ", ".join(f"{line.quantity} {line.sku} {line.grade.value}" for line in receipt.lines)
        status = ReturnStatus.awaiting_receipt if latest.status == ReturnStatus.awaiting_buyer_shipment \
            else latest.status
        return with_step(latest, "receipt", actor, at, f"{receipt_id} at {warehouse}: {graded}",
                         receipts=(*latest.receipts, receipt), status=status)

    stored = update(return_id, deps, change)
    recorded = next(r for r in stored.receipts if r.receipt_id == receipt_id)
    restock_receipt(stored, recorded, deps)  # idempotent: one ledger entry per receipt line
    return stored


def _check_receipt(after_sale: AfterSale, request: ReceiptRequest) -> None:
    expected, received = after_sale.expected(), after_sale.received()
    incoming: dict[str, int] = {}
    for line in request.lines:
        incoming[line.sku] = incoming.get(line.sku, 0) + line.quantity
    details = [{"field": "lines", "sku": sku,
                "problem": f"{count} received, {expected.get(sku, 0) - received.get(sku, 0)} of {sku} still expected"}
               for sku, count in incoming.items() if received.get(sku, 0) + count > expected.get(sku, 0)]
    if details:
        raise InvalidReturnRequest("the receipt holds more than the after-sale returns", details=details)


def settle_refund(refund_id: str, deps: ReturnsDeps, actor: str) -> AfterSale:
    """The payment side confirmed the money arrived (`POST /refunds/{refund_id}/settled`); a repeat changes nothing."""
    return_id = return_id_of_refund(refund_id)
    if return_id is None or deps.returns.get(return_id) is None:
        raise ReturnNotFound(f"no refund {refund_id!r}")
    return settle(return_id, deps, actor)
