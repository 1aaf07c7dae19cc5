"""Orders that stall: the stuck report, the watchdog, re-dispatches (and the parcel merge's dispatch queue)."""

from ocp.settings.base import _Settings


class FulfillmentOpsSettings(_Settings):
    orders_table: str
    dispatch_queue_url: str


class WatchdogSettings(_Settings):
    orders_table: str
    watchdog_table: str


class StuckSettings(_Settings):
    returns_table: str | None = None
    """After-sales for the report's after-sale hops; unset: the report shows orders only."""
