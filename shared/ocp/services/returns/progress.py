"""Moving an after-sale along, for every returns function: start its workflow, apply a change at the revision read
and resume the workflow when it waits on what changed, settle its refund.

Kept apart from the requests (the return policy, the stock books) and the workflow's steps (orders, channels) so the
after-sale intake loads neither.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ocp.domain.errors import ConcurrentModification
from ocp.domain.returns.errors import ReturnConflict, ReturnNotFound
from ocp.domain.returns.model import AfterSale, RefundState, ReturnStatus, Waiting, with_step
from ocp.services.access.attribution import stamp_steps

if TYPE_CHECKING:
    from ocp.services.returns.deps import ReturnsDeps

_ATTEMPTS = 5


def get_return(return_id: str, deps: ReturnsDeps) -> AfterSale:
    found = deps.returns.get(return_id)
    if found is None:
        raise ReturnNotFound(f"no after-sale {return_id!r}")
    return found


def start(after_sale: AfterSale, deps: ReturnsDeps) -> None:
    """Start the after-sale's workflow; named by its id, so a second start changes nothing."""
    deps.workflows.start(after_sale.return_id,
                         deps.timing.execution_input(after_sale.return_id, deps.now(), after_sale.deadline))


def resume_output(after_sale: AfterSale, on: Waiting) -> Mapping[str, Any] | None:
    """What resumes a wait on `on`, once the after-sale shows it happened; None while it has not. An after-sale that
    ended meanwhile (closed or refused on the channel) ends its workflow."""
    if on == Waiting.decision and after_sale.decision is not None:
        return {"next": "approved" if after_sale.decision.approved else "rejected"}
    if after_sale.final and on != Waiting.settlement:
        return {"next": "done"}
    if on == Waiting.receipt and after_sale.receipts and after_sale.fully_received():
        return {"next": "received"}
    if on == Waiting.settlement and after_sale.refund is not None and after_sale.refund.state == RefundState.settled:
        return {"next": "settled"}
    return None


def resume_if_waiting(after_sale: AfterSale, deps: ReturnsDeps) -> None:
    """Resume the workflow when the after-sale now shows what it waits for."""
    if after_sale.wait is None:
        return
    ready = resume_output(after_sale, after_sale.wait.on)
    if ready is not None:
        deps.workflows.resume(after_sale.wait.token, ready)


def update(return_id: str, deps: ReturnsDeps, change: Callable[[AfterSale, datetime], AfterSale | None]) -> AfterSale:
    """Apply `change` at the revision read, then resume the workflow if it waits on what changed."""
    for _ in range(_ATTEMPTS):
        current = get_return(return_id, deps)
        after = change(current, deps.now())
        if after is None:
            resume_if_waiting(current, deps)
            return current
        try:
            stored = deps.returns.replace(stamp_steps(current, after), current.revision)
        except ConcurrentModification:
            continue
        resume_if_waiting(stored, deps)
        return stored
    raise ConcurrentModification(f"after-sale {return_id} kept changing; retry")


def refund_id_of(return_id: str) -> str:
    return f"rf-{return_id}"


def return_id_of_refund(refund_id: str) -> str | None:
    return refund_id[3:] if refund_id.startswith("rf-") else None


def settle(return_id: str, deps: ReturnsDeps, actor: str) -> AfterSale:
    """The refund's money arrived (the payment side, or the channel's refund-success); a repeat changes nothing."""

    def change(current: AfterSale, now: datetime) -> AfterSale | None:
        refund = current.refund
        if refund is None:
            raise ReturnConflict(f"after-sale {return_id} has no refund agreed yet")
        if refund.state == RefundState.settled:
            return None
        settled = refund.model_copy(update={"state": RefundState.settled, "settled_at": now})
        return with_step(current, "settled", actor, now, f"refund {refund.amount} {current.currency} arrived",
                         refund=settled, status=ReturnStatus.refunded)

    return update(return_id, deps, change)
