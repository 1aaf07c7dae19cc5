"""Domain events to EventBridge, notifications to SNS."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ocp.domain.inventory.events import DomainEvent

_PUT_EVENTS_LIMIT = 10


class EventBridgePublisher:
    def __init__(self, client: Any, bus_name: str) -> None:
        self._client = client
        self._bus_name = bus_name

    def publish(self, events: list[DomainEvent]) -> None:
        for start in range(0, len(events), _PUT_EVENTS_LIMIT):
            chunk = events[start:start + _PUT_EVENTS_LIMIT]
            response = self._client.put_events(Entries=[
                {"EventBusName": self._bus_name, "Source": e.source, "DetailType": e.detail_type,
                 "Detail": json.dumps(e.detail, ensure_ascii=False)}
                for e in chunk
            ])
            if response.get("FailedEntryCount"):
                failed = [entry for entry in response.get("Entries", []) if entry.get("ErrorCode")]
                raise RuntimeError(f"EventBridge refused {len(failed)} of {len(chunk)} events: {failed[:3]}")


class SnsNotifier:
    def __init__(self, client: Any, topic_arn: str) -> None:
        self._client = client
        self._topic_arn = topic_arn

    def notify(self, subject: str, message: str) -> None:
        self._client.publish(TopicArn=self._topic_arn, Subject=subject[:100], Message=message)
