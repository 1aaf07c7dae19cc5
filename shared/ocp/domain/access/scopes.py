"""The scope names a warehouse binding reads, and the refusal of a call beyond the caller's scopes: apart from
`principals` (the stored principal's model and validation), which only the principals' own functions use."""

from __future__ import annotations

from ocp.domain.errors import DomainError

WMS_PREFIX = "wms:"
EVERY_WAREHOUSE = "wms:*"


class Forbidden(DomainError):
    """The caller is known but its scopes do not reach this action (or this warehouse)."""

    code = "forbidden"
