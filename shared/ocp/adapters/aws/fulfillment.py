"""boto3 adapters for fulfilment: the dispatch and write-back queues, the watchdog's memory of its last counts and
the scheduled jobs' checkpoints."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ocp.adapters.dynamodb.items import plain
from ocp.domain.clock import iso

if TYPE_CHECKING:
    from ocp.domain.fulfillment.dispatch import DispatchRequest

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
        return {hop: int(count) for hop, count in plain(item.get("counts") or {}).items()}

    def save_counts(self, check: str, counts: Mapping[str, int], at: datetime) -> None:
        self._table.put_item(Item={"check_id": check, "counts": dict(counts), "at": iso(at)})


class SqsWritebackQueue:
    """One message per order, `{"order_id"}`: the `channel_writeback` function confirms its due shipments."""

    def __init__(self, client: Any, queue_url: str) -> None:
        self._client = client
        self._queue_url = queue_url

    def send(self, order_ids: Sequence[str]) -> None:
        unique = list(dict.fromkeys(order_ids))
        for start in range(0, len(unique), _SQS_BATCH):
            batch = unique[start:start + _SQS_BATCH]
            response = self._client.send_message_batch(
                QueueUrl=self._queue_url,
                Entries=[{"Id": str(i), "MessageBody": json.dumps({"order_id": order_id})}
                         for i, order_id in enumerate(batch)],
            )
            failed = response.get("Failed") or []
            if failed:
                raise RuntimeError(f"write-back queue refused {len(failed)} of {len(batch)} requests: "
                                   f"{failed[0].get('Message')}")


class DynamoCheckpoints:
    """Named resume positions of scheduled jobs, in the watchdog's state table: `{"check_id", "positions", "at"}`."""

    def __init__(self, table: Any) -> None:
        self._table = table

    def get(self, name: str) -> dict[str, str]:
        item = self._table.get_item(Key={"check_id": name}, ConsistentRead=True).get("Item") or {}
        positions: Mapping[str, Any] = item.get("positions") or {}
        return {key: str(value) for key, value in positions.items()}

    def put(self, name: str, positions: Mapping[str, str], at: datetime) -> None:
        self._table.put_item(Item={"check_id": name, "positions": dict(positions), "at": iso(at)})
