"""API keys: random, shown once, stored only as a hash."""

from __future__ import annotations

import hashlib
import secrets

KEY_PREFIX = "ocp_"
"""Makes a leaked key recognisable in logs and secret scanners."""


def generate_api_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_api_key(api_key: str) -> str:
    """Hex SHA-256: keys are 256 random bits, so a fast unsalted hash is enough to make the stored value useless."""
    return hashlib.sha256(api_key.encode("utf-8")).hexdigest()
