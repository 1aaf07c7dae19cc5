"""The warehouses' callbacks, and the channel write-back of what they report."""

from ocp.settings.base import _Settings
from ocp.settings.stock import StockSettings


class FulfillmentStoreSettings(StockSettings):
    """Functions that change orders' statuses: the orders table and the stock tables their commits move."""

    orders_table: str


class CallbackSettings(FulfillmentStoreSettings):
    writeback_queue_url: str


class WritebackSettings(_Settings):
    orders_table: str
    channel_secrets_arn: str | None = None
