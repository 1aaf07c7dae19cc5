"""Pre-sale orders whose ship date came: their timed hold goes, and with no other hold left they are released like
an operator's release. Apart from the held queue's actions (`held_queue`) so the operators' function loads none of
it."""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from ocp.domain.errors import ConcurrentModification
from ocp.domain.inventory.commit import OrderCommit
from ocp.domain.operations.held_queue import resumed, without_due_holds
from ocp.domain.order.model import OrderStatus
from ocp.services.inventory.reservation import commit_order
from ocp.services.order.updates import WRITE_ATTEMPTS

if TYPE_CHECKING:
    from ocp.services.operations.held_queue import HeldQueueDeps

PRESALE_ACTOR = "ocp:presale-release"


class DueRelease(NamedTuple):
    order_id: str
    status: OrderStatus | None
    """None: nothing to do (released by someone else, or not due after all)."""


def release_due_orders(deps: HeldQueueDeps, limit: int = 200) -> list[DueRelease]:
    """Held orders whose timed hold ended: the hold goes; with no other hold left the order is released through
    the checks and reservation like an operator's release (by `PRESALE_ACTOR`), else it stays held for them."""
    done: list[DueRelease] = []
    for order_id in deps.queries.release_due(deps.now(), limit):
        done.append(DueRelease(order_id, _release_due(deps, order_id)))
    return done


def _release_due(deps: HeldQueueDeps, order_id: str) -> OrderStatus | None:
    # The order path loads on the first due order, as in `held_queue.release_order`.
    from ocp.services.decisions.order_path import merging, place, request_dispatch

    for _ in range(WRITE_ATTEMPTS):
        current = deps.orders.get(order_id)
        now = deps.now()
        if current is None or current.status != OrderStatus.held:
            return None
        shorter = without_due_holds(current, now)
        if shorter is None:
            return None
        if shorter.holds:
            stored = commit_order(deps.stock, OrderCommit(order=shorter, expected_revision=current.revision))
        else:
            stored = place(current, resumed(shorter, now), deps.stock, deps.rules)
            if stored is not None:
                request_dispatch(current, stored, deps.dispatch, actor=PRESALE_ACTOR,
                                 merge=merging(deps.rules, deps.orders, deps.now))
        if stored is not None:
            return stored.status
    raise ConcurrentModification(f"order {order_id} kept changing; the next run retries")
