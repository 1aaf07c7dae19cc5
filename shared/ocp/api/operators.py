"""Who is acting, for the audit trail of operator actions.

An operator console or script names the person in the `x-ocp-actor` header (an email or login, up to 128
printable characters). Without it the action is attributed to the API key that called: `api-key:<key id>` as
API Gateway reports it (never the key itself), or `api-key` where no id is known (the local runtime).
"""

from __future__ import annotations

from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent

from ocp.domain.errors import InvalidQuery

ACTOR_HEADER = "x-ocp-actor"
MAX_ACTOR = 128


def actor_of(event: APIGatewayProxyEvent) -> str:
    named = (event.headers.get(ACTOR_HEADER) or "").strip()  # powertools v3 headers: case-insensitive
    if named:
        if len(named) > MAX_ACTOR or not named.isprintable():
            raise InvalidQuery(f"{ACTOR_HEADER} names the operator: up to {MAX_ACTOR} printable characters",
                               details={"field": ACTOR_HEADER})
        return named
    key_id = event.request_context.identity.api_key_id
    return f"api-key:{key_id}" if key_id else "api-key"


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
