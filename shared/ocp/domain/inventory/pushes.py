"""A WMS's absolute on-hand pushes (pure): the request (`StockPush`), the count time stored for one (`count_time`)
and what a push did (`PushResult`).
"""

from datetime import UTC, datetime

from pydantic import AwareDatetime, ConfigDict, Field, StrictInt, field_validator

from ocp.base_model import FrozenModel, OcpModel
from ocp.domain.inventory.stock import StockLevel

# ---- WMS pushes -------------------------------------------------------------------------------------------------


class StockPush(OcpModel):
    """`PUT /inventory/{warehouse}/{sku}`: the WMS's absolute on-hand with its version."""

    model_config = ConfigDict(extra="forbid")

    on_hand: StrictInt = Field(ge=0, description="Absolute units on hand in the warehouse")
    version: StrictInt = Field(ge=0, description="The WMS's version of this number; only a higher one applies")
    safety_stock: StrictInt | None = Field(
        default=None, ge=0, description="Alert threshold for this warehouse (kept when omitted)"
    )
    as_of: AwareDatetime | None = Field(
        default=None, description="When the WMS counted on_hand (ISO-8601 with an offset, e.g. `2026-11-11T04:05:13Z`);"
                                  " default: when the push arrives. A parcel shipped at or before it is taken to be "
                                  "counted already, so its `shipped` callback does not take it off on_hand again",
    )

    @field_validator("as_of")
    @classmethod
    def _in_utc(cls, value: datetime | None) -> datetime | None:
        return value.astimezone(UTC) if value is not None else None


def count_time(as_of: datetime | None, arrived: datetime) -> datetime:
    """The count time stored for a push: its `as_of`, never after it arrived (a WMS clock running ahead would
    otherwise mark later shipments as counted), at the second precision the stock table keeps."""
    moment = min(as_of, arrived) if as_of is not None else arrived
    return moment.astimezone(UTC).replace(microsecond=0)


class PushResult(FrozenModel):
    applied: bool
    created: bool = False
    reason: str | None = Field(default=None, description="Why it was not applied: stale_version | repeated_version")
    stored_version: int
    message: str
    level: StockLevel | None = None
