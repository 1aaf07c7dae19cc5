"""An order's part in a merged parcel (`Order.fulfillment.merge`). Pure data; the rules that change it are in
`ocp.domain.fulfillment.merge`. Imports only the clock: `state.py` (and so the order model) imports it.
"""

from pydantic import ConfigDict, Field

from ocp.base_model import OcpModel
from ocp.domain.clock import UtcTime


class MergeRecord(OcpModel):
    """Waiting for other orders of the same buyer, address and warehouse, then the group the order left in.

    Waiting: `wait_until` set. Once its window ended (`decided_at`): in a group (`group_id`, `order_ids`, the
    merged instruction's `instruction_version`), or alone (no group: it is dispatched as any other order)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    wait_until: UtcTime | None = Field(
        default=None, description="Waits until then for orders to leave with (None once its window ended)")
    decided_at: UtcTime | None = Field(default=None, description="When its window ended and its group was formed")
    group_id: str | None = Field(
        default=None, description="The merge group, `merge:<its first order's id>` (None: the order left alone)")
    order_ids: tuple[str, ...] = Field(
        default=(), description="Every order the group's one instruction covers (without this one once it left)")
    instruction_version: int | None = Field(
        default=None, description="The merged instruction's version (idempotency key `<group_id>:<version>`)")
    note: str | None = Field(
        default=None, description="Why the order left its group, or why the group's instruction was not sent")

    @property
    def waiting(self) -> bool:
        return self.wait_until is not None
