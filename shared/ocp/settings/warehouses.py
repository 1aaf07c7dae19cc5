"""The warehouses registry."""

from ocp.settings.base import _Settings


class WarehousesSettings(_Settings):
    """The warehouses registry: the table, and the warehouses known from configuration."""

    warehouses_table: str
    known_warehouses: str = ""
    """Comma-separated warehouse ids known before any is registered in the warehouses table."""

    @property
    def seed_warehouses(self) -> frozenset[str]:
        return frozenset(part.strip() for part in self.known_warehouses.split(",") if part.strip())
