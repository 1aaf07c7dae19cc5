"""Domain outcomes that the edges map to HTTP statuses (`ocp.api.errors`) or queue behaviour."""

from __future__ import annotations


class DomainError(Exception):
    code = "domain_error"

    def __init__(self, message: str, details: object | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class UnknownChannel(DomainError):
    code = "unknown_channel"


class SignatureInvalid(DomainError):
    code = "signature_invalid"


class ChannelNotConfigured(DomainError):
    code = "channel_not_configured"


class MalformedDelivery(DomainError):
    code = "malformed_delivery"


class UnmappableDocument(DomainError):
    """A signed document that cannot become a unified order; `details` lists every reason."""

    code = "unmappable_document"

    def __init__(self, reasons: list[str]) -> None:
        super().__init__("; ".join(reasons), details=reasons)
        self.reasons = reasons


class OrderNotFound(DomainError):
    code = "order_not_found"


class InvalidQuery(DomainError):
    code = "invalid_query"


class OrderExists(DomainError):
    """The order is already stored (a conditional create failed)."""

    code = "order_exists"


class ConcurrentModification(DomainError):
    """Someone else wrote the order between our read and our write."""

    code = "concurrent_modification"


class ChannelApiUnavailable(DomainError):
    """A channel API call failed in a way that may pass on retry (network, timeout, 5xx, throttling)."""

    code = "channel_api_unavailable"


class ChannelApiRejected(DomainError):
    """A channel API refused a call for good (unknown order, no permission): retrying will not help."""

    code = "channel_api_rejected"
