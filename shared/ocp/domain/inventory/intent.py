"""What an order carries while a stock change too large for one transaction is written in several (pure data).

DynamoDB takes at most 100 items per transaction. A larger change (an order of ~50 lines or more) is written as:
the order with a `StockIntent` listing every chunk (one write, at the order's revision), each chunk as its own
transaction (conditional as a single commit would be, plus a check that the order still carries this intent),
then the order as decided with the intent cleared. The intent is what makes this crash-safe: whoever finds it
(a redelivery, the sweeper) knows every chunk, can tell which ones landed from their ledger entries, and
finishes or undoes the change (`ocp.domain.inventory.chunks`). Kept apart so the order model can import it.
"""

from typing import Any

from pydantic import Field, SerializerFunctionWrapHandler, model_serializer

from ocp.base_model import FrozenModel
from ocp.domain.clock import UtcTime
from ocp.domain.inventory.movements import MovementKind


class _Compact(FrozenModel):
    """Stored in the order item once per stock line: fields at their default are left out (a 500-line order's
    intent stays well inside DynamoDB's 400 KB item)."""

    @model_serializer(mode="wrap")
    def _without_defaults(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        fields = type(self).model_fields
        return {key: value for key, value in data.items() if key not in fields or value != fields[key].default}


class IntentMove(_Compact):
    """One shard's movement in a chunk, and the ledger entry that records it."""

    entry_id: str | None = Field(default=None, description="None: the order's usual id for the movement "
                                                           "(`order#<order>#<cycle>#<kind>#…`) + `#i<revision>`")
    kind: MovementKind
    warehouse: str
    sku: str
    shard: int = 0
    delta_on_hand: int = 0
    delta_reserved: int = 0
    delta_available: int = 0
    reason: str | None = Field(default=None, description="The ledger entry's reason when not the intent's")


class IntentCounter(_Compact):
    """A buyer's purchase counter moved in a chunk (a claim must stay within `limit`)."""

    buyer_id: str
    sku: str
    delta: int
    limit: int | None = None


class IntentChunk(FrozenModel):
    moves: tuple[IntentMove, ...] = Field(min_length=1, description="At least one: its ledger entries show it landed")
    counters: tuple[IntentCounter, ...] = ()


class FinalChange(FrozenModel):
    """The order once the change is done, as a difference from the order that carries the intent."""

    fields: dict[str, Any] = Field(default_factory=dict, description="Order fields set (their JSON form)")
    cleared: tuple[str, ...] = Field(default=(), description="Order fields set to nothing")
    timeline: tuple[dict[str, Any], ...] = Field(default=(), description="Timeline entries appended")


class StockIntent(FrozenModel):
    revision: int = Field(description="The order revision written with this intent: every chunk checks it")
    cycle: int | None = Field(default=None, description="The reservation cycle in the moves' usual ledger ids")
    kind: str = Field(description="reserve | release | ship | move (a reservation following edited lines)")
    undo: bool = Field(default=False, description="Giving back the chunks of a change that could not finish")
    chunks: tuple[IntentChunk, ...] = Field(min_length=1)
    failable: int = Field(
        default=0, ge=0, description="The first `failable` chunks can be refused for stock or a purchase limit "
                                     "(they come first; once a later chunk is in, the change only goes forward)",
    )
    actor: str
    reason: str
    at: UtcTime = Field(description="The ledger entries' time")
    started_at: UtcTime
    final: FinalChange
    cause: str | None = Field(default=None, description="Undo: why the change could not finish")
