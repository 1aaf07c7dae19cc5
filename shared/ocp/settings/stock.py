"""The stock books' tables, for every function that reads or moves stock."""

from ocp.settings.base import _Settings


class StockSettings(_Settings):
    stock_table: str
    stock_ledger_table: str
    inventory_table: str
