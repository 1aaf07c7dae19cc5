"""The stock books' tables, for every function that reads or moves stock."""

from __future__ import annotations

from ocp.settings.base import _Settings


class StockSettings(_Settings):
    stock_table: str
    stock_ledger_table: str
    inventory_table: str
