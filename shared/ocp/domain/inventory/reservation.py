"""What an order carries about its stock: the reservation it holds (pure; the lock strategy is `locking.py`).

Kept apart from `stock.py` so the order model can import it without importing the order model back.
"""

from enum import StrEnum

from pydantic import Field

from ocp.base_model import FrozenModel
from ocp.domain.clock import UtcTime
from ocp.domain.inventory.locking import LockStrategy as LockStrategy  # re-exported: its importers predate `locking`


class ReservationState(StrEnum):
    active = "active"
    released = "released"
    shipped = "shipped"


class StockAllocation(FrozenModel):
    """Units of one SKU reserved on one stock shard of the order's warehouse."""

    sku: str
    shard: int = Field(default=0, ge=0)
    quantity: int = Field(gt=0)
    warehouse: str | None = Field(
        default=None, description="A split order's allocation in another warehouse; None: the reservation's own"
    )


class PurchaseClaim(FrozenModel):
    """Units counted against the buyer's per-SKU purchase limit by this reservation."""

    sku: str
    quantity: int = Field(gt=0)


class PartEnded(FrozenModel):
    """A split order's warehouse whose part ended with its parcel (shipped, or released when the warehouse cancelled
    it) while the other warehouses' parts stay reserved."""

    warehouse: str
    state: ReservationState
    at: UtcTime


class Reservation(FrozenModel):
    seq: int = Field(ge=1, description="1 for the order's first reservation, +1 for each later one")
    state: ReservationState
    strategy: LockStrategy
    warehouse: str
    allocations: tuple[StockAllocation, ...] = Field(min_length=1)
    purchase_claims: tuple[PurchaseClaim, ...] = ()
    reserved_at: UtcTime
    expires_at: UtcTime | None = Field(
        default=None, description="Unpaid orders only: when the sweeper puts the order's stock back on sale"
    )
    ended_at: UtcTime | None = Field(default=None, description="When it was released or shipped")
    parts_ended: tuple[PartEnded, ...] = Field(
        default=(), description="A split order's warehouses whose part already ended (the rest is still reserved)")

    def quantity(self, sku: str) -> int:
        return sum(a.quantity for a in self.allocations if a.sku == sku)

    def warehouses(self) -> tuple[str, ...]:
        """Every warehouse holding part of it, the reservation's own first (more than one: a split order)."""
        return tuple(dict.fromkeys([self.warehouse, *(a.warehouse or self.warehouse for a in self.allocations)]))

    def active_allocations(self) -> tuple[StockAllocation, ...]:
        """The allocations still reserved: all but those of the parts ended."""
        ended = {part.warehouse for part in self.parts_ended}
        return tuple(a for a in self.allocations if (a.warehouse or self.warehouse) not in ended)
