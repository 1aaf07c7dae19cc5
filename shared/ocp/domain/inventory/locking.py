"""How a channel's orders lock stock: apart from `reservation.py` (the reservation an order holds, and its models)
so the stock policy and the channel view load only this enum."""

from __future__ import annotations

from enum import StrEnum


class LockStrategy(StrEnum):
    reserve_on_order = "reserve_on_order"
    """Reserve as soon as the order is captured, paid or not; an unpaid order holds stock until cancelled."""
    reserve_on_payment = "reserve_on_payment"
    """Reserve only once the order is paid; unpaid orders never hold stock."""
    pre_reserve = "pre_reserve"
    """Reserve on capture, but an order still unpaid after the expiry releases its stock (the sweeper does)."""
