"""In-memory twin of the event publisher and the notifier."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ocp.domain.inventory.events import DomainEvent


class MemoryEvents:
    """What was published and notified, in order."""

    def __init__(self) -> None:
        self.events: list[DomainEvent] = []
        self.notifications: list[tuple[str, str]] = []

    def publish(self, events: list[DomainEvent]) -> None:
        self.events += events

    def notify(self, subject: str, message: str) -> None:
        self.notifications.append((subject, message))
