"""A rule document as the `RulesStore` port keeps it, apart from `ocp.ports`."""

from typing import Any

from pydantic import ConfigDict

from ocp.base_model import OcpModel


class StoredRules(OcpModel):
    """One accepted rule document at one version (versions start at 1; 0 is the built-in default)."""

    model_config = ConfigDict(frozen=True)

    kind: str
    version: int
    document: dict[str, Any]
    created_at: str
