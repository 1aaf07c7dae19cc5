"""After-sale outcomes the API maps to HTTP statuses (`ocp.api.errors`)."""

from __future__ import annotations

from ocp.domain.errors import DomainError


class InvalidReturnRequest(DomainError):
    code = "invalid_request"


class ReturnNotFound(DomainError):
    code = "return_not_found"


class ReturnConflict(DomainError):
    """The after-sale is not in a state that takes this action."""

    code = "return_conflict"
