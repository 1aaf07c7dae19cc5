"""Principals: who calls, with which scopes."""

import re
from collections.abc import Iterable

from pydantic import ConfigDict

from ocp.base_model import OcpModel
from ocp.domain.access.scopes import EVERY_WAREHOUSE, WMS_PREFIX
from ocp.domain.errors import DomainError
from ocp.domain.inventory.ids import WAREHOUSE_ID

NAME = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")
RESERVED_NAMES = frozenset({"admin", "local"})
"""The bootstrap key's principal (AWS, local): never given to a stored principal, whose timeline entries would then
pass for the bootstrap key's (the principals function does not read the bootstrap secret to see the clash)."""
PLAIN_SCOPES = ("admin", "operator", "finance", "read")
BOOTSTRAP_SCOPES: tuple[str, ...] = (*PLAIN_SCOPES, EVERY_WAREHOUSE)
KIND_ORDER = ("operator", "wms", "finance", "read", "admin")
"""A principal's kind (its usage plan) is the first of these its scopes hold: the busiest work it does."""


class InvalidPrincipal(DomainError):
    code = "invalid_principal"


class PrincipalExists(DomainError):
    code = "principal_exists"


class PrincipalNotFound(DomainError):
    code = "principal_not_found"


class Principal(OcpModel):
    model_config = ConfigDict(frozen=True)

    name: str
    scopes: tuple[str, ...]
    created_at: str
    usage_key: str | None = None
    """The value of its API Gateway API key: the throttle bucket the authorizer names, not a credential."""
    usage_key_id: str | None = None


def validate_name(name: str) -> str:
    if not NAME.match(name):
        raise InvalidPrincipal("a principal's name is 2-63 characters: lower-case letters, digits and '-', "
                               "starting with a letter or digit", details={"field": "name", "value": name})
    if name in RESERVED_NAMES:
        raise InvalidPrincipal(f"{name!r} is the bootstrap key's principal: choose another name",
                               details={"field": "name", "value": name, "reserved": sorted(RESERVED_NAMES)})
    return name


def validate_scopes(scopes: Iterable[str]) -> tuple[str, ...]:
    """The scopes a new principal may hold, deduplicated in a stable order; `wms:*` is the bootstrap key's alone."""
    given = list(dict.fromkeys(scopes))
    bad = [s for s in given if not _is_grantable(s)]
    if bad or not given:
        raise InvalidPrincipal(
            "scopes are admin, operator, finance, read or wms:<WAREHOUSE>, at least one",
            details={"field": "scopes", "invalid": bad},
        )
    return tuple(given)


def _is_grantable(scope: str) -> bool:
    if scope in PLAIN_SCOPES:
        return True
    return scope.startswith(WMS_PREFIX) and bool(WAREHOUSE_ID.match(scope[len(WMS_PREFIX):]))


def kind_of(scopes: Iterable[str]) -> str:
    held = {("wms" if s.startswith(WMS_PREFIX) else s) for s in scopes}
    return next((kind for kind in KIND_ORDER if kind in held), "read")


def meets(scopes: Iterable[str], needed: Iterable[str]) -> bool:
    """Whether any held scope satisfies any needed one; a route's `wms` is met by every `wms:<W>`."""
    held = {("wms" if s.startswith(WMS_PREFIX) else s) for s in scopes}
    return bool(held & set(needed))
