"""Lambda's DynamoDB stream event source mapping, locally: read a table's stream (embedded AWS), invoke the
function with real `aws:dynamodb` stream events, honour `batchItemFailures`.

As in Lambda with `ReportBatchItemFailures`, a batch whose response names a failed sequence number is retried
from that record on (`retry_attempts` times, then the records are skipped and logged); a handler that raises
retries the whole batch. Records are gathered for up to `max_batching_window_s` or `batch_size` records.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from infra import wiring
from infra.local import config
from infra.local.sqs_poller import InFlight

log = logging.getLogger("ocp.local.stream")

Invoker = Callable[[wiring.Function, dict[str, Any]], Any]
_IDLE_SLEEP_S = 0.1
"""Between reads of an idle stream (Lambda reads each shard about four times a second)."""


def stream_event(records: list[dict[str, Any]], stream_arn: str) -> dict[str, Any]:
    """The event Lambda sends for a batch of `GetRecords` results."""
    return {"Records": [_record(record, stream_arn) for record in records]}


def _record(record: dict[str, Any], stream_arn: str) -> dict[str, Any]:
    section = dict(record["dynamodb"])
    created = section.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        section["ApproximateCreationDateTime"] = int(created.timestamp())
    return {
        "eventID": record.get("eventID"),
        "eventName": record["eventName"],
        "eventVersion": record.get("eventVersion", "1.1"),
        "eventSource": "aws:dynamodb",
        "awsRegion": config.REGION,
        "dynamodb": section,
        "eventSourceARN": stream_arn,
    }


def failed_from(result: Any, records: list[dict[str, Any]]) -> int | None:
    """Index of the first record to retry, from a partial batch response; None when all succeeded."""
    failures = (result or {}).get("batchItemFailures") if isinstance(result, dict) else None
    if not failures:
        return None
    sequence = {r["dynamodb"]["SequenceNumber"]: i for i, r in enumerate(records)}
    indexes = [sequence.get(f.get("itemIdentifier")) if isinstance(f, dict) else None for f in failures]
    if any(i is None for i in indexes):
        return 0  # names something outside the batch: Lambda treats the whole batch as failed
    return min(i for i in indexes if i is not None)


class StreamPoller:
    """One `StreamTrigger`: a thread that reads every shard of the stream and invokes until `stop()`."""

    def __init__(
        self,
        trigger: wiring.StreamTrigger,
        function: wiring.Function,
        stream_arn: str,
        streams: Any,
        invoke: Invoker,
        in_flight: InFlight,
    ) -> None:
        self.trigger, self.function = trigger, function
        self._stream_arn, self._streams = stream_arn, streams
        self._invoke, self._in_flight = invoke, in_flight
        self._iterators: dict[str, str] = {}
        self._last_sequence: dict[str, str] = {}
        self._pending: list[dict[str, Any]] = []
        self._attempts = 0
        self._quiet_since: float | None = None
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"ocp-local-stream-{trigger.table}", daemon=True)

    @property
    def quiet_since(self) -> float | None:
        """When the latest read that found nothing began (monotonic); None while records are being handled."""
        return self._quiet_since

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout_s: float = 10) -> None:
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout=timeout_s)

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                if not self.poll_once():
                    self._stopping.wait(_IDLE_SLEEP_S)
            except Exception:
                log.exception("reading the stream of %s failed; retrying", self.trigger.table)
                self._stopping.wait(1)

    def poll_once(self) -> int:
        """Gather up to a batch (within the batching window) and invoke; the number of records handled."""
        started = time.monotonic()
        deadline = started + self.trigger.max_batching_window_s
        while len(self._pending) < self.trigger.batch_size:
            got = self._read(self.trigger.batch_size - len(self._pending))
            if got:
                self._quiet_since = None
            if not got and (not self._pending or time.monotonic() >= deadline):
                break
            self._pending += got
            if not got:
                time.sleep(_IDLE_SLEEP_S)
        if not self._pending:
            self._quiet_since = started
            return 0
        self._quiet_since = None
        batch = self._pending[: self.trigger.batch_size]
        with self._in_flight.track():
            self._process(batch)
        return len(batch)

    def _read(self, limit: int) -> list[dict[str, Any]]:
        if not self._iterators:
            shards = self._streams.describe_stream(StreamArn=self._stream_arn)["StreamDescription"]["Shards"]
            for shard in shards:
                self._iterators[shard["ShardId"]] = self._iterator(shard["ShardId"])
        records: list[dict[str, Any]] = []
        for shard_id, iterator in list(self._iterators.items()):
            response = self._streams.get_records(ShardIterator=iterator, Limit=max(1, limit))
            got = response.get("Records", [])
            records += got
            if got:
                self._last_sequence[shard_id] = got[-1]["dynamodb"]["SequenceNumber"]
            # An empty read's next iterator stays current: the embedded DynamoDB undoes a cancelled transaction
            # in the live table instead of swapping in a copy (`moto_patches`), so one call per read suffices.
            self._iterators[shard_id] = response.get("NextShardIterator") or self._iterator(shard_id)
        return records

    def _iterator(self, shard_id: str) -> str:
        last = self._last_sequence.get(shard_id)
        position: dict[str, str] = (
            {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": last} if last
            else {"ShardIteratorType": "TRIM_HORIZON"}
        )
        iterator: str = self._streams.get_shard_iterator(
            StreamArn=self._stream_arn, ShardId=shard_id, **position)["ShardIterator"]
        return iterator

    def _process(self, batch: list[dict[str, Any]]) -> None:
        try:
            result = self._invoke(self.function, stream_event(batch, self._stream_arn))
            retry_from = failed_from(result, batch)
        except Exception:
            log.exception("%s raised on a stream batch of %d", self.function.id, len(batch))
            retry_from = 0
        if retry_from is None:
            del self._pending[: len(batch)]
            self._attempts = 0
            return
        self._attempts += 1
        if self._attempts > self.trigger.retry_attempts:
            log.error("%s: skipping %d stream records after %d attempts", self.function.id,
                      len(batch) - retry_from, self._attempts)
            del self._pending[: len(batch)]
            self._attempts = 0
            return
        del self._pending[:retry_from]
