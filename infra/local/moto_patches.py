"""Two of moto's costs that grow with the data, taken out of the embedded AWS (moto is pinned at 5.2.5).

DynamoDB transactions. moto's `transact_write_items` deep-copies every table a transaction names before writing,
and swaps the copy back in when the transaction is cancelled. The copy grows with the table and with every
stream record the table ever produced, so each order's transaction costs more than the one before: after a few
hundred orders the copies were most of `ocp local`'s CPU and the runtime fell below one order per second.
Installed here instead: the transaction journals only the items it names (a deep copy of each, or that it was
absent) and the length of each table's stream; when it is cancelled those items are put back and the stream
records it wrote dropped. The client sees the same (all or nothing, the same errors, no stream records from a
cancelled transaction), and the live table objects stay in place, so stream iterators stay valid. Transactions
are also serialised with each other and with single-item writes, as DynamoDB isolates them: moto has no locks,
and a rollback (moto's copy-and-swap, or this journal's cut of the stream) would also undo other requests' writes
made while the transaction ran.

SQS receives. For every message it hands out, moto checks the retention period by computing all of the
queue's attributes, which counts every message in the queue (twice, with a clock read per message): a receive
of 10 from a backlog of n cost 20·n clock reads. The check here reads the one attribute it needs. Sends still
count the queue (moto reads one attribute from all of them), so moto's SQS clock, a datetime subtraction per
message, reads `time.time()` instead: the same epoch milliseconds, several times cheaper, which matters for a
queue nothing consumes locally (a warehouse's WMS queue fills up during a drill).

`install()` patches the whole process (`ocp local` runs one embedded AWS); `uninstall()` puts moto's own back, and
`installed()` does both around a block, so tests leave moto as they found it.
"""

from __future__ import annotations

import copy
import inspect
import threading
import time
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

_lock = threading.RLock()
_MISSING = object()
_replaced: list[tuple[Any, str, Any]] = []
"""(owner, attribute, what the owner itself held or _MISSING) per patch, in the order applied."""
_WHOLE_TABLE_COPY = "original_table_state[table_name] = copy.deepcopy("
_SINGLE_WRITES = ("put_item", "update_item", "delete_item", "execute_statement")
"""Backend writes outside transactions (batch writes go through put_item and delete_item)."""


@dataclass
class _Saved:
    table: Any
    hash_value: Any
    range_value: Any
    item: Any
    """A deep copy of the item before the transaction, or None when it did not exist."""


def install() -> None:
    """Patch moto's DynamoDB and SQS backends in this process (idempotent)."""
    with _lock:
        if _replaced:
            return
        from moto.dynamodb import models
        from moto.dynamodb.models.table import Table

        original = models.DynamoDBBackend.transact_write_items
        if _WHOLE_TABLE_COPY not in inspect.getsource(original):
            raise RuntimeError("moto's transact_write_items no longer copies whole tables as moto 5.2.5 did; "
                               "re-check infra/local/moto_patches.py")
        _replace(models, "copy", _copy_without_tables(Table))
        _replace(models.DynamoDBBackend, "transact_write_items", _journaled(original))
        for name in _SINGLE_WRITES:
            _replace(models.DynamoDBBackend, name, _serialised(getattr(models.DynamoDBBackend, name)))
        _install_retention_check()


def uninstall() -> None:
    """Put back what `install()` replaced (idempotent)."""
    with _lock:
        while _replaced:
            owner, name, before = _replaced.pop()
            if before is _MISSING:
                delattr(owner, name)
            else:
                setattr(owner, name, before)


def is_installed() -> bool:
    return bool(_replaced)


@contextmanager
def installed() -> Iterator[None]:
    """The patches for the block; afterwards moto is as it was (still patched if it was before)."""
    already = is_installed()
    install()
    try:
        yield
    finally:
        if not already:
            uninstall()


def _replace(owner: Any, name: str, value: Any) -> None:
    _replaced.append((owner, name, vars(owner).get(name, _MISSING)))
    setattr(owner, name, value)


def _install_retention_check() -> None:
    from moto.core.utils import unix_time
    from moto.sqs.models import SQSBackend

    def is_message_valid_based_on_retention_period(backend: Any, queue_name: str, message: Any) -> bool:
        retention_s = int(backend.get_queue(queue_name).message_retention_period)
        return bool(retention_s + message.sent_timestamp / 1000 > unix_time())

    _replace(SQSBackend, "is_message_valid_based_on_retention_period", is_message_valid_based_on_retention_period)
    _install_fast_sqs_clock()


def _install_fast_sqs_clock() -> None:
    from moto.sqs import models

    exact = models.unix_time_millis

    def unix_time_millis(dt: datetime | None = None) -> float:
        return time.time() * 1000.0 if dt is None else exact(dt)

    _replace(models, "unix_time_millis", unix_time_millis)


def _copy_without_tables(table_type: type) -> types.SimpleNamespace:
    """moto's module-level `copy` with `deepcopy(table)` answering the live table: its rollback then swaps a table
    for itself, and the journal does the real undo."""

    def deepcopy(value: Any, memo: dict[int, Any] | None = None) -> Any:
        return value if isinstance(value, table_type) else copy.deepcopy(value, memo)

    return types.SimpleNamespace(deepcopy=deepcopy, copy=copy.copy)


def _serialised(write: Callable[..., Any]) -> Callable[..., Any]:
    """A write that waits for a running transaction: its rollback then cannot erase the write or its stream record."""

    def locked(backend: Any, *args: Any, **kwargs: Any) -> Any:
        with _lock:
            return write(backend, *args, **kwargs)

    locked.__name__ = write.__name__
    return locked


def _journaled(original: Callable[..., None]) -> Callable[..., None]:
    def transact_write_items(backend: Any, transact_items: list[dict[str, Any]]) -> None:
        with _lock:
            saved = _save(backend, transact_items)
            streams = {id(t): (t, len(t.stream_shard.items)) for t in backend.tables.values() if t.stream_shard}
            try:
                original(backend, transact_items)
            except BaseException:
                _restore(saved, streams.values())
                raise

    return transact_write_items


def _save(backend: Any, transact_items: list[dict[str, Any]]) -> list[_Saved]:
    """Each named item as it is now; an operation whose table or key is malformed writes nothing, so it is skipped."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    saved: list[_Saved] = []
    for entry in transact_items:
        try:
            op_type, op = next(iter(entry.items()))
            table = backend.tables[op["TableName"]]
            key = op["Item"] if op_type == "Put" else op["Key"]
            hash_value = DynamoType(key[table.hash_key_attr])
            range_value = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
            current = table.get_item(hash_value, range_value)
        except Exception:  # noqa: S112 - moto reports the malformed operation itself
            continue
        saved.append(_Saved(table, hash_value, range_value, copy.deepcopy(current)))
    return saved


def _restore(saved: list[_Saved], streams: Any) -> None:
    for entry in reversed(saved):  # reversed: an item named twice ends as it was first seen
        items = entry.table.items
        if entry.range_value is None:
            if entry.item is None:
                items.pop(entry.hash_value, None)
            else:
                items[entry.hash_value] = entry.item
        elif entry.item is None:
            items.get(entry.hash_value, {}).pop(entry.range_value, None)
        else:
            items[entry.hash_value][entry.range_value] = entry.item
    for table, length in streams:
        if table.stream_shard is not None:
            del table.stream_shard.items[length:]
