"""The orders table, which most functions that read or change orders share."""

from ocp.settings.base import _Settings


class OperatorSettings(_Settings):
    orders_table: str
