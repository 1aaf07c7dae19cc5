"""What a callback did to its order: a leaf, so the routes' answer models name it without building the callback
state machine and the order's models."""

from __future__ import annotations

from enum import StrEnum


class Outcome(StrEnum):
    applied = "applied"
    """New and legal: recorded and in effect (the status may stay, e.g. after a partial shipment)."""
    duplicate = "duplicate"
    late = "late"
    impossible = "impossible"
