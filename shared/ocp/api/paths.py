"""Request paths as the routes are written."""

from __future__ import annotations

from typing import Any


def with_literal_colons(event: dict[str, Any], encode_hash: bool = False) -> dict[str, Any]:
    """The event with a percent-encoded colon put back (`/orders%3Abulk` → `/orders:bulk`: routes like
    `/orders:bulk` are written with it plain). `encode_hash`: a `#` a gateway decoded is encoded again, since
    powertools matches no `#` in a path parameter (the route decodes it)."""
    path = event.get("path")
    if not isinstance(path, str) or not ("%3a" in path.lower() or (encode_hash and "#" in path)):
        return event
    plain = path.replace("%3A", ":").replace("%3a", ":")
    return {**event, "path": plain.replace("#", "%23") if encode_hash else plain}
