"""After-sales: their own table, workflow and timings (all the after-sale intake reads)."""

from ocp.settings.base import _Settings


class ReturnsSettings(_Settings):
    """After-sales: their table and workflow, and how long the workflow waits (seconds; `ocp local` and the tests
    shorten them, `returns_seconds_per_minute` scales the return policy's minutes)."""

    returns_table: str
    returns_state_machine_arn: str
    orders_table: str
    channel_secrets_arn: str | None = None
    returns_decision_timeout_s: int = 24 * 3600
    returns_poll_s: int = 60
    returns_seconds_per_minute: float = 60.0
    returns_carrier: str | None = None
    """`local`: web-store return pickups are booked with the local carrier; unset: none is booked (the buyer
    sends the goods back to the warehouse's return address)."""
