"""The pollers' high-water marks (the `CursorStore` port's records), apart from `ocp.ports`."""

from datetime import datetime

from pydantic import ConfigDict

from ocp.base_model import OcpModel


class PollCursor(OcpModel):
    """A poller's high-water mark: every order modified before `high_water_mark` has been enqueued."""

    model_config = ConfigDict(frozen=True)

    channel: str
    high_water_mark: datetime
    version: int = 0
    updated_at: datetime | None = None
