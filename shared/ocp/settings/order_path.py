"""The order path: the order processor, and what every function placing orders through the rules reads."""

from ocp.settings.base import _Settings
from ocp.settings.rules import RulesTableSettings
from ocp.settings.warehouses import WarehousesSettings


class ProcessorSettings(_Settings):
    orders_table: str
    quarantine_table: str
    raw_bucket: str
    channel_secrets_arn: str | None = None
    """Credentials for pulling thin messages' full orders."""


class DecisionSettings(RulesTableSettings, WarehousesSettings):
    """What the rules in the order path read: rules, catalog, warehouses, and the duplicate keys."""

    catalog_table: str
    fingerprints_table: str


class DispatchSenderSettings(_Settings):
    """Functions that hand newly reserved orders to the dispatcher."""

    dispatch_queue_url: str
