"""Asking the dispatcher for what an order owes the warehouse that has it (a requested stop, an address update).

Apart from `ocp.services.fulfillment.dispatch` so the services that only ask (the held queue, order processing,
after-sales) load none of the dispatcher's use cases."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ocp.domain.fulfillment.dispatch import DispatchPurpose, DispatchRequest
from ocp.domain.fulfillment.parcels import owes_cancels

if TYPE_CHECKING:
    from ocp.domain.order.model import Order
    from ocp.ports import DispatchQueue


def request_owed(order: Order, queue: DispatchQueue | None, actor: str | None = None) -> tuple[DispatchPurpose, ...]:
    """Ask the dispatcher for what the order owes the warehouse that has it: a pending stop, else an owed update.
    Asking again (a redelivered message, a second cancel) sends nothing twice: each is recorded on the order and
    sent while still owed."""
    stop, owed = order.fulfillment.stop, order.fulfillment.update
    cancels = owes_cancels(order)  # a split order OCP cancelled while warehouses held its instructions
    if queue is None or (stop is not None and not stop.pending) or (stop is None and owed is None and not cancels):
        return ()
    purpose = DispatchPurpose.stop if stop is not None or cancels else DispatchPurpose.update
    queue.send([DispatchRequest(order_id=order.order_id, after_version=order.fulfillment.instruction_version,
                                actor=actor, purpose=purpose)])
    return (purpose,)
