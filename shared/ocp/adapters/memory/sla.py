"""Where the `sla` document comes from: the built-in default until the rules store holds one (then its cache)."""

from __future__ import annotations

from ocp.domain.fulfillment.stuck import SlaPolicy, default_sla


class StaticSla:
    def __init__(self, policy: SlaPolicy | None = None) -> None:
        self._policy = policy if policy is not None else default_sla()

    def current(self) -> SlaPolicy:
        return self._policy
