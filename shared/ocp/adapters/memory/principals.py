"""In-memory twins of the principals table and of API Gateway's usage-plan keys."""

from __future__ import annotations

import secrets
import threading

from ocp.domain.access.principals import Principal, PrincipalExists
from ocp.domain.access.usage_keys import UsageKey


class MemoryPrincipalStore:
    def __init__(self) -> None:
        self._by_name: dict[str, tuple[Principal, str]] = {}
        self._lock = threading.Lock()

    def create(self, principal: Principal, key_hash: str) -> None:
        with self._lock:
            if principal.name in self._by_name or any(h == key_hash for _, h in self._by_name.values()):
                raise PrincipalExists(f"a principal named {principal.name!r} exists", details={"name": principal.name})
            self._by_name[principal.name] = (principal, key_hash)

    def get(self, name: str) -> Principal | None:
        stored = self._by_name.get(name)
        return stored[0] if stored else None

    def by_key_hash(self, key_hash: str) -> Principal | None:
        return next((p for p, h in list(self._by_name.values()) if h == key_hash), None)

    def delete(self, name: str) -> Principal | None:
        with self._lock:
            stored = self._by_name.pop(name, None)
        return stored[0] if stored else None

    def list(self) -> list[Principal]:
        return sorted((p for p, _ in list(self._by_name.values())), key=lambda p: p.name)


class MemoryUsageKeys:
    """Keys per usage plan kind, as API Gateway would hold them."""

    def __init__(self) -> None:
        self.keys: dict[str, tuple[str, UsageKey]] = {}

    def create(self, principal: str, kind: str) -> UsageKey:
        key = UsageKey(id=secrets.token_hex(5), value=secrets.token_urlsafe(30))
        self.keys[key.id] = (kind, key)
        return key

    def delete(self, key_id: str) -> None:
        self.keys.pop(key_id, None)
