"""The documented answers of each route besides its success: every error is `ErrorResponse` (`errors.py`)."""

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse

from ocp.base_model import OcpModel


class ErrorInfo(OcpModel):
    code: str
    message: str
    details: Any = None
    """What was wrong, when there is more to say: the invalid fields, the problems found (absent otherwise)."""


class ErrorResponse(OcpModel):
    """`{"error": {"code", "message", "details"?}}`: every 4xx/5xx the API answers (API.md)."""

    error: ErrorInfo


def errors(*statuses: int, descriptions: Mapping[int, str] | None = None) -> dict[int, OpenAPIResponse]:
    """`responses=` entries for the error statuses a route answers with, besides 401/403 for a missing or wrong
    API key (`infra.openapi` adds those from the wiring). An invalid request is 400 `invalid_request`
    (`errors.register_error_handlers`), not the 422 `HTTPValidationError` powertools documents by default, which
    `infra.openapi` drops; a route whose domain refuses a well-formed request with 422 names it here."""
    return {
        status: {"description": (descriptions or {}).get(status, HTTPStatus(status).phrase),
                 "content": {"application/json": {"model": ErrorResponse}}}
        for status in sorted(statuses)
    }


def documented(*statuses: int, descriptions: Mapping[int, str] | None = None) -> dict[int, OpenAPIResponse]:
    """`responses=` for a route answering 200 with its return type, or one of the error `statuses`."""
    ok = (descriptions or {}).get(200, "Successful Response")
    return {200: {"description": ok}, **errors(*statuses, descriptions=descriptions)}
