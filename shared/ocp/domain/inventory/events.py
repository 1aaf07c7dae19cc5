"""An event OCP publishes on its event bus: a leaf, so fulfilment and after-sales publish theirs without building
the stock signals' models."""

from typing import Any

from pydantic import ConfigDict

from ocp.base_model import OcpModel

EVENT_SOURCE = "ocp.inventory"


class DomainEvent(OcpModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    detail_type: str
    detail: dict[str, Any]
    source: str = EVENT_SOURCE
