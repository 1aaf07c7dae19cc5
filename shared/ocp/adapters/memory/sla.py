"""Where the `sla` document comes from: the built-in default until the rules store holds one (then its cache)."""

from __future__ import annotations

from ocp.domain.fulfillment.stuck import DEFAULT_SLA, SlaPolicy


class StaticSla:
    def __init__(self, policy: SlaPolicy = DEFAULT_SLA) -> None:
        self._policy = policy

    def current(self) -> SlaPolicy:
        return self._policy
