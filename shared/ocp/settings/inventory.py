"""The inventory functions: the inventory API, stock events, and the reservation sweeper."""

from ocp.settings.stock import StockSettings
from ocp.settings.warehouses import WarehousesSettings


class InventoryApiSettings(StockSettings, WarehousesSettings):
    pass


class StockEventsSettings(StockSettings):
    event_bus_name: str
    alert_topic_arn: str


class SweeperSettings(StockSettings):
    orders_table: str
