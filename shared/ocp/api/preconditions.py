"""`If-Match`: a write that acts only if the resource is still at the revision or version its caller read."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ocp.domain.errors import InvalidQuery

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent


def revision_of(event: APIGatewayProxyEvent, of_what: str = "the order's revision") -> int | None:
    """`If-Match: <number>` (an ETag, quoted or not): act only if the resource is still at that revision or version
    (else 409). `of_what` names the number in the 400 for anything else."""
    value = event.headers.get("If-Match")  # powertools v3 headers: case-insensitive
    if value is None:
        return None
    text = value.strip().strip('"')
    if not text.isdigit():
        raise InvalidQuery(f"If-Match takes {of_what} the action is based on", details={"If-Match": value})
    return int(text)
