"""The returns state machine's steps (`infra/statemachines/returns.asl.json`): each reads the after-sale, does one
thing, records it as a step, and answers the label the definition's next Choice reads (`{"next": ...}`).

Every step is safe to run again (Step Functions retries it, and a Lambda may run twice): a step that finds its work
done answers the same label without doing it again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any, NamedTuple

from ocp.domain.errors import ChannelNotConfigured, ConcurrentModification, DomainError, OrderNotFound
from ocp.domain.inventory.events import DomainEvent
from ocp.domain.order.model import Order, OrderStatus
from ocp.domain.returns.channel import ChannelAfterSale, ChannelAfterSaleLine, ChannelState
from ocp.domain.returns.checks import Problem, ReturnRefused, check, counting, priced_lines
from ocp.domain.returns.model import (
    AfterSale,
    Decision,
    Label,
    Refund,
    RefundState,
    ReturnKind,
    ReturnStatus,
    Wait,
    Waiting,
    with_step,
)
from ocp.domain.returns.money import grade_deductions, lines_amount, refund_lines, refund_total
from ocp.domain.returns.policy import AUTO_ACTOR, needs_a_person, policy_for, return_facts
from ocp.services.returns.orders import cancel_for_refund, place_replacement, remove_lines
from ocp.services.returns.places import return_address
from ocp.services.returns.progress import refund_id_of, resume_output

if TYPE_CHECKING:
    from ocp.services.returns.deps import ReturnsDeps

WORKFLOW_ACTOR = "ocp:returns-workflow"
PRE_DISPATCH = frozenset({OrderStatus.pending_payment, OrderStatus.received, OrderStatus.held, OrderStatus.reserved})
STOPPABLE = frozenset({OrderStatus.dispatched, OrderStatus.accepted})

Answer = dict[str, Any]
ROUTES = {ReturnKind.refund_only: "intercept", ReturnKind.return_refund: "take_back", ReturnKind.exchange: "take_back",
          ReturnKind.refund_only_after_ship: "refund", ReturnKind.reship: "replace"}
"""What happens to the goods of each kind once approved (the `Routed` Choice of the definition)."""


class UnknownStep(DomainError):
    code = "unknown_step"


def run_step(event: Mapping[str, Any], deps: ReturnsDeps) -> Answer:
    """One task of the state machine: `event` is the task's payload (`step`, `return_id`, and for `await` the
    `on` and the task `token`, for `fail` the `error`)."""
    step = str(event.get("step"))
    action = STEPS.get(step)
    if action is None:
        raise UnknownStep(f"no returns workflow step {step!r}")
    return action(str(event["return_id"]), event, deps)


def load(return_id: str, deps: ReturnsDeps) -> AfterSale:
    found = deps.returns.get(return_id)
    if found is None:
        raise OrderNotFound(f"no after-sale {return_id!r}")
    return found


def order_of(after_sale: AfterSale, deps: ReturnsDeps) -> Order:
    order = deps.orders.get(after_sale.order_id)
    if order is None:
        raise OrderNotFound(f"no order {after_sale.order_id!r}")
    return order


def save(before: AfterSale, after: AfterSale, deps: ReturnsDeps) -> AfterSale:
    return deps.returns.replace(after, before.revision)


# ---- validate and decide -------------------------------------------------------------------------------------


def validate(return_id: str, event: Mapping[str, Any], deps: ReturnsDeps) -> Answer:
    after_sale = load(return_id, deps)
    if after_sale.status == ReturnStatus.rejected:
        return {"next": "refused"}
    if after_sale.policy is not None:
        return {"next": "ok"}
    now = deps.now()
    order = order_of(after_sale, deps)
    policies, catalog_reader = deps.policy_inputs()
    catalog = catalog_reader.get_many({line.sku for line in after_sale.lines if line.sku})
    policy = policy_for(policies.get("return_policy"), return_facts(after_sale, order, catalog, now))
    problems = _line_problems(after_sale, order, deps) or check(after_sale, order, catalog, policy, now)
    if problems:
        reasons = "; ".join(p.reason for p in problems)
        if after_sale.channel_aftersale_id is not None:
            # A marketplace refusal needs the platform's own reason (and on Tmall, proof): a person decides.
            save(after_sale, with_step(after_sale, "validate", WORKFLOW_ACTOR, now, f"OCP would refuse: {reasons}",
                                       policy=policy, refusal=reasons), deps)
            return {"next": "ok"}
        save(after_sale, with_step(after_sale, "validate", WORKFLOW_ACTOR, now, f"refused: {reasons}",
                                   status=ReturnStatus.rejected, policy=policy), deps)
        return {"next": "refused"}
    save(after_sale, with_step(after_sale, "validate", WORKFLOW_ACTOR, now,
                               f"return_policy v{policy.version} rule {policy.rule or 'default'}", policy=policy), deps)
    return {"next": "ok"}


def _line_problems(after_sale: AfterSale, order: Order, deps: ReturnsDeps) -> list[Problem]:
    """The lines against the order and the other after-sales of it, as they are now."""
    wanted = [(line.line_id, line.sku, line.quantity, line.reason) for line in after_sale.lines]
    try:
        priced_lines(order, wanted, deps.returns.of_order(order.order_id), exclude=after_sale.return_id)
    except ReturnRefused as refused:
        return list(refused.problems)
    return []


def decide(return_id: str, event: Mapping[str, Any], deps: ReturnsDeps) -> Answer:
    after_sale = load(return_id, deps)
    if after_sale.decision is not None:
        return {"next": "approved" if after_sale.decision.approved else "rejected"}
    if after_sale.status == ReturnStatus.awaiting_approval:
        return {"next": "manual"}
    policy = after_sale.policy
    assert policy is not None, "validate runs first"
    now = deps.now()
    person = (f"OCP's checks would refuse it ({after_sale.refusal})" if after_sale.refusal
              else needs_a_person(policy, lines_amount(after_sale.lines)))
    if person is None:
        decision = Decision(approved=True, auto=True, rule=policy.rule, by=AUTO_ACTOR, at=now)
        save(after_sale, with_step(after_sale, "decide", AUTO_ACTOR, now, f"auto-approved by rule {policy.rule}",
                                   decision=decision), deps)
        return {"next": "approved"}
    save(after_sale, with_step(after_sale, "decide", AUTO_ACTOR, now, f"a person approves: {person}",
                               status=ReturnStatus.awaiting_approval), deps)
    return {"next": "manual"}


def escalate(return_id: str, event: Mapping[str, Any], deps: ReturnsDeps) -> Answer:
    after_sale = load(return_id, deps)
    now = deps.now()
    detail = "no decision in time" + (f"; the channel decides on its own at {after_sale.deadline}"
                                      if after_sale.deadline else "")
    if deps.alerts is not None:
        deps.alerts.notify(f"After-sale {return_id} needs a decision", f"{detail} (order {after_sale.order_id})")
    save(after_sale, with_step(after_sale, "escalate", WORKFLOW_ACTOR, now, detail), deps)
    return {"next": "ok"}


# ---- pausing on the outside world -----------------------------------------------------------------------------


def await_event(return_id: str, event: Mapping[str, Any], deps: ReturnsDeps) -> Answer:
    """Record the task token the workflow waits on; when what it waits for happened already (an approval that came
    first, receipts before the token was stored), resume it at once."""
    on, token = Waiting(str(event["on"])), str(event["token"])
    for _ in range(3):
        after_sale = load(return_id, deps)
        now = deps.now()
        waiting = after_sale.model_copy(update={"wait": Wait(on=on, token=token, since=now), "updated_at": now})
        try:
            stored = save(after_sale, waiting, deps)
        except ConcurrentModification:
            continue
        ready = resume_output(stored, on)
        if ready is not None:
            deps.workflows.resume(token, ready)
        return {"next": "waiting"}
    raise ConcurrentModification(f"after-sale {return_id} kept changing while its wait was recorded")


# ---- what happens to the goods --------------------------------------------------------------------------------


def route(return_id: str, event: Mapping[str, Any], deps: ReturnsDeps) -> Answer:
    after_sale = load(return_id, deps)
    if after_sale.final:
        return {"next": "done"}
    return {"next": ROUTES[after_sale.kind]}


def intercept(return_id: str, event: Mapping[str, Any], deps: ReturnsDeps) -> Answer:
    """A refund before shipment: lines not yet with the warehouse leave the order (their stock is released); a
    whole order the warehouse has not picked yet is stopped; a parcel already picked ships and comes back."""
    after_sale = load(return_id, deps)
    order = order_of(after_sale, deps)
    now = deps.now()
    whole = _whole_order(after_sale, order)
    if order.status == OrderStatus.cancelled:
        return {"next": "refund"}
    if order.status in PRE_DISPATCH:
        if whole:
            cancel_for_refund(order, deps, f"after-sale {return_id}: refund before shipment")
        else:
            remove_lines(order, after_sale, deps)
        save(after_sale, with_step(after_sale, "intercept", WORKFLOW_ACTOR, now,
                                   "the lines left the order before dispatch; their stock is released"), deps)
        return {"next": "refund"}
    if order.status in STOPPABLE and whole:
        cancel_for_refund(order, deps, f"after-sale {return_id}: refund before shipment")
        save(after_sale, with_step(after_sale, "intercept", WORKFLOW_ACTOR, now,
                                   f"the warehouse is asked to stop order {order.order_id}",
                                   status=ReturnStatus.intercepting), deps)
        return {"next": "wait"}
    return _becomes_return(after_sale, order, deps)


def check_intercept(return_id: str, event: Mapping[str, Any], deps: ReturnsDeps) -> Answer:
    after_sale = load(return_id, deps)
    order = order_of(after_sale, deps)
    if order.status == OrderStatus.cancelled:
        save(after_sale, with_step(after_sale, "intercepted", WORKFLOW_ACTOR, deps.now(),
                                   "the warehouse stopped the order; its stock is back on sale"), deps)
        return {"next": "refund"}
    if order.status in STOPPABLE:
        waited = (deps.now() - after_sale.status_since).total_seconds()
        if waited < deps.timing.intercept_timeout_s:
            return {"next": "wait"}
        if deps.alerts is not None:
            deps.alerts.notify(f"After-sale {return_id}: the warehouse never answered the stop",
                               f"order {order.order_id} is still {order.status.value} after {int(waited)} s; "
                               "it is treated as shipped: the after-sale becomes a return")
    return _becomes_return(after_sale, order, deps)


def _becomes_return(after_sale: AfterSale, order: Order, deps: ReturnsDeps) -> Answer:
    changed = with_step(after_sale, "intercept", WORKFLOW_ACTOR, deps.now(),
                        f"order is {order.status.value}: the parcel ships, and the after-sale becomes a return",
                        kind=ReturnKind.return_refund)
    save(after_sale, changed, deps)
    return {"next": "take_back"}


def _whole_order(after_sale: AfterSale, order: Order) -> bool:
    asked = {line.line_id: line.quantity + line.before for line in after_sale.lines}
    return all(asked.get(line.line_id, 0) >= line.quantity for line in order.lines if not line.gift)


def take_back(return_id: str, event: Mapping[str, Any], deps: ReturnsDeps) -> Answer:
    """The goods come back: on a marketplace the return is agreed with the warehouse's address and the buyer ships
    it; on the web store OCP books a carrier pickup (the label). A return the policy refunds without waiting for
    the goods (`require_receipt: false`) goes on to the refund; an exchange always waits for them."""
    after_sale = load(return_id, deps)
    refund_now = (after_sale.kind == ReturnKind.return_refund and after_sale.policy is not None
                  and not after_sale.policy.require_receipt)
    answer = {"next": "refund" if refund_now else "ok"}
    if after_sale.status in (ReturnStatus.awaiting_buyer_shipment, ReturnStatus.awaiting_receipt):
        return answer
    order = order_of(after_sale, deps)
    now = deps.now()
    address = return_address(order, deps)
    if after_sale.channel_aftersale_id is not None and deps.channels is not None:
        api = deps.channels.aftersale_api(after_sale.channel)
        record = api.fetch_aftersale(after_sale.channel_aftersale_id)
        api.agree_return(record, address)
        status = ReturnStatus.awaiting_receipt if record.buyer_shipment else ReturnStatus.awaiting_buyer_shipment
        save(after_sale, with_step(after_sale, "take_back", WORKFLOW_ACTOR, now,
                                   f"return agreed on {after_sale.channel}, to {address.detail}", status=status,
                                   channel_version=record.version), deps)
        return answer
    if deps.carriers is None:
        save(after_sale, with_step(after_sale, "take_back", WORKFLOW_ACTOR, now,
                                   f"no carrier configured: the buyer sends the goods back to {address.detail}",
                                   status=ReturnStatus.awaiting_buyer_shipment), deps)
        return answer
    booking = deps.carriers.book_return(return_id, _sender(order), address.model_dump(mode="json"), parcels=1)
    label = Label(carrier=booking.carrier, waybill_no=booking.waybill_no, source="ocp",
                  pickup_code=booking.pickup_code, return_address=address.detail)
    save(after_sale, with_step(after_sale, "take_back", WORKFLOW_ACTOR, now,
                               f"{booking.carrier} pickup {booking.waybill_no} booked",
                               status=ReturnStatus.awaiting_receipt, label=label), deps)
    return answer


def _sender(order: Order) -> dict[str, str]:
    address = order.address
    return {"name": address.recipient or address.masked_recipient or "", "phone": address.phone or "",
            "province": address.province or "",
            "city": address.city or "", "district": address.district or "", "detail": address.detail or ""}


def received(return_id: str, event: Mapping[str, Any], deps: ReturnsDeps) -> Answer:
    after_sale = load(return_id, deps)
    if after_sale.final:
        return {"next": "done"}
    if after_sale.wait is not None:
        save(after_sale, after_sale.model_copy(update={"wait": None}), deps)
    return {"next": "replace" if after_sale.kind == ReturnKind.exchange else "refund"}


# ---- money ---------------------------------------------------------------------------------------------------


def refund(return_id: str, event: Mapping[str, Any], deps: ReturnsDeps) -> Answer:
    """Refund the returned units' share of each line's `paid`, shipping per policy, less the grade deductions: agreed
    on the channel at its current version, or issued on the web store's payment side."""
    after_sale = load(return_id, deps)
    policy = after_sale.policy
    assert policy is not None, "validate runs first"
    timeout = deps.timing.minutes(policy.refund_overdue_after_minutes)
    if after_sale.kind == ReturnKind.reship:
        return {"next": "replace", "timeout_s": timeout}
    if after_sale.refund is not None and after_sale.refund.state != RefundState.pending:
        settled = after_sale.refund.state == RefundState.settled
        return {"next": "done" if settled else "await_settlement", "timeout_s": timeout}
    now = deps.now()
    order = order_of(after_sale, deps)
    lines = refund_lines(after_sale, counting(deps.returns.of_order(order.order_id), order, exclude=return_id))
    deductions = grade_deductions(lines, _graded(after_sale), policy) if after_sale.receipts else 0
    # Nothing was shipped for a refund before shipment: the buyer gets the postage back with the whole order.
    ships_back = policy.refund_shipping or after_sale.kind == ReturnKind.refund_only
    shipping = order.amounts.shipping if ships_back and _whole_order(after_sale, order) else 0
    amount = refund_total(lines, shipping, deductions)
    if after_sale.requested_amount is not None and after_sale.requested_amount < amount:
        amount = after_sale.requested_amount  # a marketplace buyer may ask for less (a part refund, compensation)
    agreed = _agree_refund(after_sale, amount, deps)
    refund_record = Refund(refund_id=refund_id_of(return_id), amount=amount, lines_amount=lines_amount(lines),
                           shipping=shipping, deductions=deductions,
                           state=RefundState.settled if agreed.paid_out else RefundState.requested,
                           channel_ref=agreed.reference, requested_at=now, due_at=now + timedelta(seconds=timeout),
                           settled_at=now if agreed.paid_out else None)
    status = ReturnStatus.refunded if agreed.paid_out else ReturnStatus.refund_pending
    save(after_sale, with_step(after_sale, "refund", WORKFLOW_ACTOR, now, agreed.detail(amount, after_sale),
                               status=status, lines=lines, refund=refund_record, refund_amount=amount, wait=None), deps)
    return {"next": "done" if agreed.paid_out else "await_settlement", "timeout_s": timeout}


def _graded(after_sale: AfterSale) -> dict[str, dict[Any, int]]:
    graded: dict[str, dict[Any, int]] = {}
    for receipt in after_sale.receipts:
        for line in receipt.lines:
            grades = graded.setdefault(line.sku, {})
            grades[line.grade] = grades.get(line.grade, 0) + line.quantity
    return graded


class Agreed(NamedTuple):
    reference: str | None
    """The channel's refund reference; None when no channel API takes the refund (finance pays it)."""
    paid_out: bool = False
    """The channel shows the money paid already (it refunded on its own, e.g. at its deadline)."""
    channel: str = ""

    def detail(self, amount: int, after_sale: AfterSale) -> str:
        money = f"refund {amount} {after_sale.currency}"
        if self.paid_out:
            return f"{money}: already paid out by {self.channel}"
        if self.reference is None:
            return f"{money} for finance to pay (no channel API takes it)"
        return f"{money} agreed on {self.channel}"


def _agree_refund(after_sale: AfterSale, amount: int, deps: ReturnsDeps) -> Agreed:
    """Agree the refund on the channel at the version read just now (a stale one raises, and the retried step reads
    again)."""
    if deps.channels is None:
        return Agreed(None)
    aftersale_id = after_sale.channel_aftersale_id
    if aftersale_id is None:
        if after_sale.channel != "shopify":
            return Agreed(None)
        aftersale_id = after_sale.return_id
    try:
        api = deps.channels.aftersale_api(after_sale.channel)
    except ChannelNotConfigured:
        return Agreed(None)
    if after_sale.channel_aftersale_id is None:
        # A web-store return OCP started: Shopify's refund is created with OCP's id as its idempotency note.
        lines = tuple(ChannelAfterSaleLine(channel_line_id=line.line_id, quantity=line.quantity, sku=line.sku)
                      for line in after_sale.lines)
        record = ChannelAfterSale(channel=after_sale.channel, aftersale_id=aftersale_id,
                                  channel_order_id=_channel_order_id(after_sale, deps), kind=after_sale.kind,
                                  state=ChannelState.awaiting_seller, channel_status="ocp", lines=lines,
                                  modified_at=after_sale.updated_at)
        return Agreed(api.agree_refund(record, amount) or aftersale_id, channel=after_sale.channel)
    record = api.fetch_aftersale(aftersale_id)
    if record.state == ChannelState.refunded:
        return Agreed(aftersale_id, paid_out=True, channel=after_sale.channel)
    return Agreed(api.agree_refund(record, amount) or aftersale_id, channel=after_sale.channel)


def _channel_order_id(after_sale: AfterSale, deps: ReturnsDeps) -> str:
    return order_of(after_sale, deps).channel_order_id


def overdue(return_id: str, event: Mapping[str, Any], deps: ReturnsDeps) -> Answer:
    after_sale = load(return_id, deps)
    if after_sale.refund is None or after_sale.refund.state == RefundState.settled:
        return {"next": "ok"}  # settled between the wait's timeout and this step: not overdue
    now = deps.now()
    amount = after_sale.refund.amount if after_sale.refund else after_sale.refund_amount
    due = after_sale.refund.due_at if after_sale.refund else None
    detail = f"refund {amount} {after_sale.currency} not settled by {due}"
    if deps.events is not None:
        deps.events.publish([DomainEvent(detail_type="RefundOverdue", detail={
            "return_id": return_id, "order_id": after_sale.order_id, "channel": after_sale.channel,
            "refund_id": refund_id_of(return_id), "amount": amount, "currency": after_sale.currency})])
    if deps.alerts is not None:
        deps.alerts.notify(f"Refund overdue: {return_id}", detail)
    save(after_sale, with_step(after_sale, "overdue", WORKFLOW_ACTOR, now, detail,
                               status=ReturnStatus.refund_overdue), deps)
    return {"next": "ok"}


# ---- exchange and reship ----------------------------------------------------------------------------------------


def replace(return_id: str, event: Mapping[str, Any], deps: ReturnsDeps) -> Answer:
    after_sale = load(return_id, deps)
    if after_sale.replacement_order_id is not None:
        return {"next": "done"}
    order = order_of(after_sale, deps)
    replacement = place_replacement(order, after_sale, deps)
    save(after_sale, with_step(after_sale, "replace", WORKFLOW_ACTOR, deps.now(),
                               f"replacement order {replacement.order_id} is {replacement.status.value}",
                               status=ReturnStatus.closed, replacement_order_id=replacement.order_id, wait=None), deps)
    return {"next": "done"}


# ---- failure ---------------------------------------------------------------------------------------------------


def fail(return_id: str, event: Mapping[str, Any], deps: ReturnsDeps) -> Answer:
    """The catch path: the after-sale says which step failed and why, and people are told (never a silent fail)."""
    error = event.get("error") or {}
    cause = f"{error.get('Error', 'error')}: {str(error.get('Cause', ''))[:500]}"
    after_sale = load(return_id, deps)
    if deps.alerts is not None:
        deps.alerts.notify(f"After-sale workflow failed: {return_id}", cause)
    if deps.events is not None:
        deps.events.publish([DomainEvent(detail_type="ReturnWorkflowFailed",
                                         detail={"return_id": return_id, "order_id": after_sale.order_id,
                                                 "error": cause})])
    save(after_sale, with_step(after_sale, "fail", WORKFLOW_ACTOR, deps.now(), cause, status=ReturnStatus.failed,
                               failure=cause, wait=None), deps)
    return {"next": "failed"}


def reject(return_id: str, event: Mapping[str, Any], deps: ReturnsDeps) -> Answer:
    """A person's rejection: refused on the marketplace with the reason code they chose (once: a refusal the channel
    shows already is not sent again)."""
    after_sale = load(return_id, deps)
    decision = after_sale.decision
    if after_sale.channel_aftersale_id is None or deps.channels is None or decision is None:
        return {"next": "done"}
    if any(step.step == "refused_on_channel" for step in after_sale.steps):
        return {"next": "done"}
    api = deps.channels.aftersale_api(after_sale.channel)
    record = api.fetch_aftersale(after_sale.channel_aftersale_id)
    if record.state not in (ChannelState.refused, ChannelState.closed):
        api.refuse(record, decision.reason_code or "", (decision.reason or "refused by the merchant")[:200])
    save(after_sale, with_step(after_sale, "refused_on_channel", WORKFLOW_ACTOR, deps.now(),
                               f"refused on {after_sale.channel} with reason code {decision.reason_code}"), deps)
    return {"next": "done"}


STEPS: dict[str, Callable[[str, Mapping[str, Any], ReturnsDeps], Answer]] = {
    "validate": validate, "decide": decide, "await": await_event, "escalate": escalate, "route": route,
    "intercept": intercept, "check_intercept": check_intercept, "take_back": take_back, "received": received,
    "refund": refund, "overdue": overdue, "replace": replace, "reject": reject, "fail": fail,
}
