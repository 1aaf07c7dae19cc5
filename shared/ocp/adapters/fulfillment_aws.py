"""boto3 adapters for fulfilment: the dispatch queue and the watchdog's memory of its last counts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from ocp.domain.clock import iso
from ocp.domain.dispatch import DispatchRequest

_SQS_BATCH = 10


class SqsDispatchQueue:
    def __init__(self, client: Any, queue_url: str) -> None:
        self._client = client
        self._queue_url = queue_url

    def send(self, requests: Sequence[DispatchRequest]) -> None:
        for start in range(0, len(requests), _SQS_BATCH):
            batch = requests[start:start + _SQS_BATCH]
            response = self._client.send_message_batch(
                QueueUrl=self._queue_url,
                Entries=[{"Id": str(i), "MessageBody": r.model_dump_json()} for i, r in enumerate(batch)],
            )
            failed = response.get("Failed") or []
            if failed:
                names = ", ".join(batch[int(f["Id"])].order_id for f in failed)
                raise RuntimeError(f"dispatch queue refused requests for {names}: {failed[0].get('Message')}")


class DynamoWatchdogState:
    """One item per check: `{"check_id", "counts": {hop: n}, "at"}`."""

    def __init__(self, table: Any) -> None:
        self._table = table

    def last_counts(self, check: str) -> dict[str, int]:
        item = self._table.get_item(Key={"check_id": check}, ConsistentRead=True).get("Item") or {}
        counts: Mapping[str, Decimal] = item.get("counts") or {}
        return {hop: int(count) for hop, count in counts.items()}

    def save_counts(self, check: str, counts: Mapping[str, int], at: datetime) -> None:
        self._table.put_item(Item={"check_id": check, "counts": dict(counts), "at": iso(at)})
