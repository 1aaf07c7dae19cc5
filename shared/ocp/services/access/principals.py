"""Principals and their keys: created with a key shown once, listed without it, revoked at once."""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from ocp.domain.access.keys import generate_api_key, hash_api_key
from ocp.domain.access.principals import (
    BOOTSTRAP_SCOPES,
    Principal,
    PrincipalExists,
    PrincipalNotFound,
    kind_of,
    validate_name,
    validate_scopes,
)
from ocp.domain.clock import utc_now

if TYPE_CHECKING:
    from ocp.ports import PrincipalStore, UsageKeys

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class BootstrapKey:
    """The key with every scope (`OCP_API_KEY` locally, a generated secret in AWS) and its principal's name."""

    api_key: str
    principal: str
    usage_key: str | None = None

    def as_principal(self) -> Principal:
        return Principal(name=self.principal, scopes=BOOTSTRAP_SCOPES, created_at="1970-01-01T00:00:00Z",
                         usage_key=self.usage_key)


@dataclass(frozen=True)
class AccessDeps:
    principals: PrincipalStore
    bootstrap: Callable[[], BootstrapKey | None]
    """Read when needed (cached by whoever builds it): the secret may be rotated."""
    usage_keys: UsageKeys | None = None
    now: Callable[[], datetime] = utc_now


@dataclass(frozen=True)
class NewPrincipal:
    principal: Principal
    api_key: str
    """Shown once, in the answer to the create; only its hash is kept."""


def authenticate(deps: AccessDeps, api_key: str) -> Principal | None:
    """The principal a presented key belongs to, None for an unknown or revoked key."""
    bootstrap = deps.bootstrap()
    if bootstrap and hmac.compare_digest(api_key.encode("utf-8"), bootstrap.api_key.encode("utf-8")):
        return bootstrap.as_principal()
    return deps.principals.by_key_hash(hash_api_key(api_key))


def create_principal(deps: AccessDeps, name: str, scopes: Iterable[str]) -> NewPrincipal:
    validate_name(name)
    granted = validate_scopes(scopes)
    bootstrap = deps.bootstrap()
    if (bootstrap and bootstrap.principal == name) or deps.principals.get(name):
        raise PrincipalExists(f"a principal named {name!r} exists: revoke it first to issue a new key",
                              details={"name": name})
    usage = deps.usage_keys.create(name, kind_of(granted)) if deps.usage_keys else None
    api_key = generate_api_key()
    principal = Principal(name=name, scopes=granted, created_at=_now_iso(deps),
                          usage_key=usage.value if usage else None, usage_key_id=usage.id if usage else None)
    try:
        deps.principals.create(principal, hash_api_key(api_key))
    except PrincipalExists:
        if deps.usage_keys and usage:
            deps.usage_keys.delete(usage.id)  # lost a race for the name: leave no orphan throttle key
        raise
    logger.info("principal created", extra={"principal": name, "scopes": list(granted)})
    return NewPrincipal(principal=principal, api_key=api_key)


def list_principals(deps: AccessDeps) -> list[Principal]:
    return deps.principals.list()


def revoke_principal(deps: AccessDeps, name: str) -> Principal:
    removed = deps.principals.delete(name)
    if removed is None:
        raise PrincipalNotFound(f"no principal named {name!r}", details={"name": name})
    if deps.usage_keys and removed.usage_key_id:
        # After the key stopped working: a failure here leaves only an unused throttle bucket behind.
        deps.usage_keys.delete(removed.usage_key_id)
    logger.info("principal revoked", extra={"principal": name})
    return removed


def _now_iso(deps: AccessDeps) -> str:
    return deps.now().strftime("%Y-%m-%dT%H:%M:%SZ")
