"""What intake hands on (the `Inbox` and `Quarantine` ports): here, not in `ocp.ports`, so importing a protocol
builds no model."""

from typing import Any

from pydantic import ConfigDict, computed_field

from ocp.base_model import OcpModel


class InboxMessage(OcpModel):
    """What the webhook enqueues for the order processor: a pointer to the archived delivery and its body."""

    model_config = ConfigDict(frozen=True)

    delivery_id: str
    message_id: str
    channel: str
    topic: str | None = None
    archive_key: str
    received_at: str
    document: dict[str, Any] | None = None
    """The channel document inline; None when too big for SQS, then it is read from the archive."""


class QuarantineRecord(OcpModel):
    """A delivery or message OCP could not use, kept with the reason for an operator and for replay."""

    model_config = ConfigDict(frozen=True)

    delivery_id: str
    message_id: str | None = None
    channel: str
    stage: str
    reason: str
    details: list[str] = []
    archive_key: str | None = None
    at: str

    @computed_field  # type: ignore[prop-decorator]
    @property
    def quarantine_id(self) -> str:
        return f"{self.delivery_id}#{self.message_id or self.stage}"
