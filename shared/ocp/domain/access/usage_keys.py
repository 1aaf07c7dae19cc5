"""A principal's API Gateway API key as the `UsageKeys` port creates it, apart from `ocp.ports`."""

from pydantic import ConfigDict

from ocp.base_model import OcpModel


class UsageKey(OcpModel):
    """A principal's API Gateway API key: its throttle bucket in the usage plan of its kind (not a credential)."""

    model_config = ConfigDict(frozen=True)

    id: str
    value: str
