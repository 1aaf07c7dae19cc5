"""Order lifecycle events from the channels: applied in the channel's modification order, never backwards."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from ocp.channels.taobao import TaobaoAdapter
from ocp.domain.order.ingest import LifecycleEvent, apply_channel_update, first_capture, lifecycle_events
from ocp.domain.order.model import Order, OrderStatus
from tests.channel_support import taobao_trade

MULTI = "channels/taobao/trade_fullinfo.multi_line.json"
T0 = datetime(2026, 11, 11, 4, 0, tzinfo=UTC)
ADAPTER = TaobaoAdapter()


def _view(modified: str, **changes: Any) -> Order:
    """The multi-line trade as the channel shows it at `modified` (GMT+8), with changes."""
    trade = taobao_trade(MULTI) | {"modified": modified} | changes
    return ADAPTER.to_order(trade)


def _unpaid(modified: str = "2026-11-11 00:00:05") -> Order:
    return _view(modified, status="WAIT_BUYER_PAY", pay_time=None)


def _stored(view: Order) -> Order:
    return first_capture(view, T0, T0)


def _events(order: Order) -> list[str]:
    return [entry.event for entry in order.timeline if entry.hop == "ingest" and entry.event != "received"]


def test_created_unpaid_then_paid() -> None:
    # Given an order first seen unpaid
    stored = _stored(_unpaid())
    assert stored.status == OrderStatus.pending_payment and stored.paid_at is None
    # When the channel's later view says paid
    paid = apply_channel_update(stored, _view("2026-11-11 00:00:10"), T0 + timedelta(seconds=5))
    # Then it moved to received, recording "paid" with the transition
    assert paid is not None and paid.status == OrderStatus.received
    assert paid.paid_at == datetime(2026, 11, 10, 16, 0, 9, tzinfo=UTC)
    assert _events(paid) == ["paid"]
    assert paid.timeline[-1].detail == "pending_payment → received"


def test_address_changed_is_recorded_without_the_address() -> None:
    stored = _stored(_view("2026-11-11 00:00:10"))
    moved = apply_channel_update(stored, _view("2026-11-11 01:00:00", receiver_address="新**路**号"), T0)
    assert moved is not None and moved.address.detail == "新**路**号"
    assert _events(moved) == ["address_changed"]
    assert moved.timeline[-1].detail is None  # PII never goes into the timeline


def test_amount_changed_by_the_seller() -> None:
    # Given a paid order / When the seller lowers the postage by 5.00 (改价)
    stored = _stored(_view("2026-11-11 00:00:10"))
    cheaper = apply_channel_update(stored, _view("2026-11-11 00:30:00", post_fee="5.00", payment="593.00"), T0)
    # Then the amounts follow and the event names the change
    assert cheaper is not None and cheaper.amounts.paid == 59300
    assert _events(cheaper) == ["amount_changed"]
    assert cheaper.timeline[-1].detail == "paid 59800 → 59300"


def test_refund_started_on_a_line() -> None:
    stored = _stored(_view("2026-11-11 00:00:10"))
    trade = taobao_trade(MULTI) | {"modified": "2026-11-12 09:00:00"}
    trade["orders"]["order"][1]["refund_status"] = "WAIT_SELLER_AGREE"
    refunding = apply_channel_update(stored, ADAPTER.to_order(trade), T0)
    assert refunding is not None and refunding.lines[1].refund_requested
    assert _events(refunding) == ["refund_started"]
    assert refunding.timeline[-1].detail == "lines 4105328891234567892"


def test_closed_by_the_channel() -> None:
    stored = _stored(_view("2026-11-11 00:00:10"))
    closed = apply_channel_update(stored, _view("2026-11-11 02:00:00", status="TRADE_CLOSED",
                                                end_time="2026-11-11 02:00:00"), T0)
    assert closed is not None and closed.status == OrderStatus.cancelled
    assert _events(closed) == ["cancelled_by_channel"]


def test_late_and_duplicate_views_change_nothing() -> None:
    # Given a paid order
    stored = _stored(_view("2026-11-11 00:00:10"))
    # When an older unpaid view or the same view again arrives / Then nothing applies
    assert apply_channel_update(stored, _unpaid("2026-11-11 00:00:05"), T0) is None
    assert apply_channel_update(stored, _view("2026-11-11 00:00:10"), T0) is None


def test_same_second_forward_move_applies_but_a_backward_one_does_not() -> None:
    # Given an unpaid order and a paid view stamped in the very same second
    stored = _stored(_unpaid("2026-11-11 00:00:10"))
    paid = apply_channel_update(stored, _view("2026-11-11 00:00:10"), T0)
    # Then the forward move applies; the unpaid view of that second cannot undo it
    assert paid is not None and paid.status == OrderStatus.received
    assert apply_channel_update(paid, _unpaid("2026-11-11 00:00:10"), T0) is None


def test_several_changes_at_once_each_get_an_event() -> None:
    stored = _stored(_unpaid())
    view = _view("2026-11-11 00:40:00", receiver_address="新**路**号", post_fee="0.00", payment="588.00")
    assert lifecycle_events(stored, view) == [
        LifecycleEvent.paid, LifecycleEvent.address_changed, LifecycleEvent.amount_changed,
    ]


def test_a_view_without_pay_time_does_not_erase_it() -> None:
    stored = _stored(_view("2026-11-11 00:00:10"))
    later = apply_channel_update(stored, _view("2026-11-11 03:00:00", pay_time=None, seller_memo="已联系"), T0)
    assert later is not None and later.paid_at == stored.paid_at
    assert _events(later) == ["channel_updated"] and later.seller_note == "已联系"


# ---- any arrival order -----------------------------------------------------------------------------------

_HISTORY = [
    ("2026-11-11 00:00:05", {"status": "WAIT_BUYER_PAY", "pay_time": None}),
    ("2026-11-11 00:00:10", {}),
    ("2026-11-11 00:20:00", {"receiver_address": "新**路**号"}),
    ("2026-11-11 00:30:00", {"receiver_address": "新**路**号", "post_fee": "5.00", "payment": "593.00"}),
    ("2026-11-11 02:00:00", {"receiver_address": "新**路**号", "post_fee": "5.00", "payment": "593.00",
                             "status": "TRADE_CLOSED", "end_time": "2026-11-11 02:00:00"}),
]
_VIEWS = [_view(modified, **changes) for modified, changes in _HISTORY]


@settings(max_examples=120, deadline=None)
@given(st.permutations(range(len(_VIEWS))), st.lists(st.integers(0, len(_VIEWS) - 1), max_size=4))
def test_any_arrival_order_with_duplicates_ends_at_the_newest_view(order: list[int], repeats: list[int]) -> None:
    # Given the channel's views of one order's life, delivered in any order, some of them twice
    arrivals = [_VIEWS[i] for i in itertools.chain(order, repeats)]
    stored = _stored(arrivals[0])
    # When each is applied as it arrives
    for view in arrivals[1:]:
        stored = apply_channel_update(stored, view, T0) or stored
    # Then the order is what the newest view says: closed, with the changed address and amounts
    newest = _VIEWS[-1]
    assert stored.status == OrderStatus.cancelled
    assert stored.channel_updated_at == newest.channel_updated_at
    assert (stored.address, stored.amounts, stored.lines) == (newest.address, newest.amounts, newest.lines)
    # And the status never went back: once cancelled in the timeline, nothing after it reopened it
    statuses = [e.detail for e in stored.timeline if e.detail and "→" in e.detail and "paid " not in e.detail]
    assert all(not d.startswith("cancelled") for d in statuses)
