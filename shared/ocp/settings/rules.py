"""The rules (and catalog) tables."""

from ocp.settings.base import _Settings


class RulesApiSettings(_Settings):
    """The rules and catalog API."""

    rules_table: str
    catalog_table: str


class RulesTableSettings(_Settings):
    """Readers of the rules cache only (the stuck report's `sla` document)."""

    rules_table: str
