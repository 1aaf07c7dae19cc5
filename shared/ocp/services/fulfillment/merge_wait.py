"""Waiting to merge (合单): where a newly reserved order would be handed to the dispatcher, with the routing
document's `merge_window_minutes` on it waits instead (one more conditional write of the order). Apart from the
merge run, the merged dispatch and the parcel callbacks (`ocp.services.fulfillment.merge`), which the order path
never runs."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, NamedTuple, Protocol

from ocp.domain.fulfillment.merge_window import can_wait, merge_window, waiting, waits
from ocp.services.order.updates import update_order

if TYPE_CHECKING:  # types only (importing the rules' modules would load every anomaly check)
    from ocp.domain.decisions.decide import RuleBook
    from ocp.domain.order.model import Order
    from ocp.ports import TransactionalOrderStore

ACTOR = "parcel_merge"


class RuleBookSource(Protocol):
    def book(self) -> RuleBook: ...


class MergeWait(NamedTuple):
    """What a newly reserved order needs to wait for its mates: the rules in force, and a write of the order."""

    orders: TransactionalOrderStore
    rules: RuleBookSource
    now: Callable[[], datetime]


def wait_to_merge(order: Order, merge: MergeWait | None, actor: str | None = None) -> bool:
    """True when the reserved order waits for others (now, or already): send no dispatch request for it. False
    when merging is off or the order cannot merge (split, no buyer, handed over): dispatch it as before."""
    if merge is None:
        return False
    if waits(order):
        return True
    window = merge_window(merge.rules.book().routing.document)
    if not window or not can_wait(order):
        return False
    now = merge.now()

    def stamp(current: Order) -> Order | None:
        return waiting(current, window, now, actor) if can_wait(current) and not waits(current) else None

    stored, _ = update_order(merge.orders, order.order_id, stamp, actor=ACTOR, at=now)
    return waits(stored)
