"""The `sla` kind: the stuck-order report's `SlaPolicy` (`ocp.domain.fulfillment.stuck`), a status → limit table
with cut-offs, not a list of rules. It is versioned and validated by the same store and API as the other kinds; its
`version` is the store's (a `version` in a PUT body is ignored)."""

from __future__ import annotations

from typing import Any

from ocp.domain.fulfillment.stuck import DEFAULT_SLA_DOCUMENT, SlaPolicy

DOCUMENT = SlaPolicy
DEFAULT: dict[str, Any] = {k: v for k, v in DEFAULT_SLA_DOCUMENT.items() if k != "version"}
