"""Access: the authorizer and the principals API."""

import os

from ocp.settings.base import _Settings


class AuthorizerSettings(_Settings):
    principals_table: str
    bootstrap_secret_arn: str | None = None
    """`{"api_key", "principal", "usage_key"}`: the key with every scope (locally `OCP_API_KEY`, principal `local`)."""
    route_scopes: str
    """The route → scopes map (`infra.wiring.route_scopes_env`)."""


class PrincipalsApiSettings(_Settings):
    principals_table: str
    bootstrap_secret_arn: str | None = None

    def usage_plan_ids(self) -> dict[str, str]:
        """Principal kind → usage plan id, from `USAGE_PLAN_ID_<KIND>` (`infra.wiring.usage_plan_env`); empty
        where no plan is wired, and then principals get no throttle key."""
        prefix = "USAGE_PLAN_ID_"
        return {name[len(prefix):].lower(): value for name, value in os.environ.items()
                if name.startswith(prefix) and value}
