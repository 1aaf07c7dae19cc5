"""What stock changes mean to the outside: low-stock alerts, coupon suspend/resume, channel listings (pure).

Each signal has a key, a value and an `as_of` (a counter that only grows as the stock changes). A signal is
published when its value changes, once: the stored state is written conditionally on `as_of`, so a late or
repeated view of the stock can never publish again or move a signal backwards.
"""

from collections.abc import Sequence
from enum import StrEnum
from typing import TYPE_CHECKING, NamedTuple

from pydantic import Field

from ocp.base_model import FrozenModel
from ocp.domain.inventory.events import DomainEvent
from ocp.domain.inventory.locking import LockStrategy
from ocp.domain.inventory.stock import StockLevel, is_low
from ocp.domain.order.enums import Channel

if TYPE_CHECKING:
    from ocp.domain.inventory.policy import StockPolicy


class SignalState(FrozenModel):
    value: int
    as_of: int
    notified: bool = Field(description="False between storing a new value and publishing it")


class SignalKind(StrEnum):
    stock_alert = "stock_alert"
    """Per (warehouse, SKU): available crossed below its safety stock, or back."""
    coupon = "coupon"
    """Per SKU over all warehouses: suspend coupons while sellable stock is below the total safety stock."""
    listing = "listing"
    """Per SKU: what every channel should list as sellable."""


class Signal(NamedTuple):
    kind: SignalKind
    key: str
    value: int
    as_of: int
    events: tuple[DomainEvent, ...]
    notification: tuple[str, str] | None = None
    quiet_first: bool = False
    """A first sighting of this value needs no announcement (stock that is simply not low)."""


def sellable(levels: Sequence[StockLevel]) -> int:
    return max(0, sum(level.available for level in levels))


def signals_for(sku: str, levels: Sequence[StockLevel]) -> list[Signal]:
    signals = [_stock_alert(level) for level in levels]
    if not levels:
        return signals
    as_of = sum(level.as_of for level in levels)
    available = sum(level.available for level in levels)
    safety = sum(level.safety_stock for level in levels)
    low = is_low(available, safety)
    coupon_detail = {"sku": sku, "available": available, "safety_stock": safety, "as_of": as_of}
    signals.append(Signal(
        kind=SignalKind.coupon, key=f"{SignalKind.coupon.value}#{sku}", value=int(low), as_of=as_of,
        events=(DomainEvent(detail_type="coupon.suspend" if low else "coupon.resume", detail=coupon_detail),),
        quiet_first=not low,
    ))
    quantity = sellable(levels)
    signals.append(Signal(
        kind=SignalKind.listing, key=f"{SignalKind.listing.value}#{sku}", value=quantity, as_of=as_of,
        events=tuple(
            DomainEvent(detail_type="listing.update",
                        detail={"channel": channel.value, "sku": sku, "quantity": quantity, "as_of": as_of})
            for channel in Channel
        ),
    ))
    return signals


def _stock_alert(level: StockLevel) -> Signal:
    low = level.low
    detail = {"sku": level.sku, "warehouse": level.warehouse, "available": level.available,
              "safety_stock": level.safety_stock, "as_of": level.as_of}
    notification = None
    if low:
        notification = (
            f"OCP stock low: {level.sku} at {level.warehouse}"[:100],
            f"{level.sku} at {level.warehouse}: {level.available} available, safety stock {level.safety_stock} "
            f"(on hand {level.on_hand}, reserved {level.reserved}).",
        )
    return Signal(
        kind=SignalKind.stock_alert, key=f"{SignalKind.stock_alert.value}#{level.warehouse}#{level.sku}",
        value=int(low), as_of=level.as_of,
        events=(DomainEvent(detail_type="stock.low" if low else "stock.recovered", detail=detail),),
        notification=notification, quiet_first=not low,
    )


class ChannelStock(FrozenModel):
    listed: int = Field(description="What the channel should show as sellable")
    strategy: LockStrategy
    purchase_limit: int | None = None


def channel_view(sku: str, levels: Sequence[StockLevel], policy: "StockPolicy") -> dict[str, ChannelStock]:
    listed = sellable(levels)
    return {
        channel.value: ChannelStock(listed=listed, strategy=policy.line_strategy(channel, sku)[0],
                                    purchase_limit=policy.purchase_limit(sku))
        for channel in Channel
    }
