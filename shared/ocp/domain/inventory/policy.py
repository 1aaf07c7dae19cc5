"""The stock policy: lock strategy per channel and per SKU, purchase limits, shard counts (pure).

One versioned JSON document (`PUT /inventory-policy`), cached in each process like the rules: the order
processor never reads it per order. A SKU's setting wins over its channel's, which wins over the default.
"""

from datetime import timedelta
from typing import TYPE_CHECKING

from pydantic import Field, field_validator

from ocp.base_model import FrozenModel
from ocp.domain.inventory.locking import LockStrategy
from ocp.domain.inventory.stock import MAX_SHARDS, validate_sku

if TYPE_CHECKING:
    from ocp.domain.order.model import Order
from ocp.domain.order.enums import Channel

MAX_EXPIRY_MINUTES = 7 * 24 * 60

# When an order's lines disagree, the strategy that locks soonest wins: pre_reserve (with the shortest
# expiry) protects hot stock from unpaid orders best, then reserve_on_order, then reserve_on_payment.
_EAGERNESS = {LockStrategy.pre_reserve: 0, LockStrategy.reserve_on_order: 1, LockStrategy.reserve_on_payment: 2}


class ChannelPolicy(FrozenModel):
    strategy: LockStrategy | None = None
    expiry_minutes: int | None = Field(default=None, ge=1, le=MAX_EXPIRY_MINUTES)
    unpaid_expiry_minutes: int | None = Field(default=None, ge=1, le=MAX_EXPIRY_MINUTES)


class SkuPolicy(FrozenModel):
    strategy: LockStrategy | None = None
    expiry_minutes: int | None = Field(default=None, ge=1, le=MAX_EXPIRY_MINUTES)
    unpaid_expiry_minutes: int | None = Field(default=None, ge=1, le=MAX_EXPIRY_MINUTES)
    purchase_limit: int | None = Field(default=None, ge=1, description="Units one buyer may hold of this SKU")
    shards: int | None = Field(default=None, ge=1, le=MAX_SHARDS, description="Stock shards per warehouse")


class StockPolicy(FrozenModel):
    version: int = Field(default=0, description="Assigned by OCP on every accepted document")
    default_strategy: LockStrategy = LockStrategy.reserve_on_order
    default_expiry_minutes: int = Field(default=30, ge=1, le=MAX_EXPIRY_MINUTES)
    unpaid_expiry_minutes: int = Field(
        default=60, ge=1, le=MAX_EXPIRY_MINUTES,
        description="How long an unpaid order reserved on order keeps its stock before the sweeper releases it",
    )
    channels: dict[Channel, ChannelPolicy] = Field(default_factory=dict)
    skus: dict[str, SkuPolicy] = Field(default_factory=dict)

    @field_validator("skus")
    @classmethod
    def _sku_names(cls, skus: dict[str, SkuPolicy]) -> dict[str, SkuPolicy]:
        for sku in skus:
            validate_sku(sku)
        return skus

    def line_strategy(self, channel: Channel, sku: str) -> tuple[LockStrategy, int]:
        """The line's strategy and how long its unpaid reservation lasts: `expiry_minutes` under pre_reserve,
        `unpaid_expiry_minutes` under reserve_on_order (a SKU's setting wins over its channel's, then the default)."""
        sku_policy = self.skus.get(sku) or SkuPolicy()
        channel_policy = self.channels.get(channel) or ChannelPolicy()
        strategy = sku_policy.strategy or channel_policy.strategy or self.default_strategy
        if strategy == LockStrategy.pre_reserve:
            expiry = sku_policy.expiry_minutes or channel_policy.expiry_minutes or self.default_expiry_minutes
        else:
            expiry = (sku_policy.unpaid_expiry_minutes or channel_policy.unpaid_expiry_minutes
                      or self.unpaid_expiry_minutes)
        return strategy, expiry

    def order_strategy(self, order: "Order") -> tuple[LockStrategy, timedelta | None]:
        """The order's strategy and how long a reservation made before payment lasts (None: it makes none)."""
        choices = [self.line_strategy(order.channel, line.sku) for line in order.lines]
        strategy, expiry = min(choices, key=lambda c: (_EAGERNESS[c[0]], c[1]))
        return strategy, None if strategy == LockStrategy.reserve_on_payment else timedelta(minutes=expiry)

    def purchase_limit(self, sku: str) -> int | None:
        policy = self.skus.get(sku)
        return policy.purchase_limit if policy else None

    def shards(self, sku: str) -> int | None:
        """The shard count the policy asks for, or None to keep what the stock has."""
        policy = self.skus.get(sku)
        return policy.shards if policy else None
