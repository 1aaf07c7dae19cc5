"""`TransactWriteItems` with the retries it needs: conflicts and throttling back off with full jitter, a failed
condition comes back to the caller with DynamoDB's per-item cancellation reasons.

DynamoDB cancels a transaction per item: `ConditionalCheckFailed` is a verdict (retrying cannot change it),
`TransactionConflict` (another transaction or write touched an item at the same moment) and the throttling
reasons are transient. Every call carries its own `ClientRequestToken` (random per call and attempt), so
botocore's resend of a timed-out request is deduplicated by DynamoDB, while a deliberate retry — or another
worker sending the very same items for a duplicate delivery — is never mistaken for it. The token dedupes for
10 minutes only; the conditions in the items are what make a replay harmless for good.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from ocp.adapters.dynamodb.items import from_item
from ocp.domain.inventory.stock import StockContention

CONDITION_FAILED = "ConditionalCheckFailed"
TRANSIENT_REASONS = frozenset({
    "TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded", "RequestLimitExceeded",
})
TRANSIENT_ERRORS = frozenset({
    "TransactionConflictException", "TransactionInProgressException", "ThrottlingException",
    "ProvisionedThroughputExceededException", "RequestLimitExceeded", "InternalServerError",
})

@dataclass
class RetryPolicy:
    """Full-jitter exponential backoff (AWS's recommendation for contended writes)."""

    attempts: int = 8
    base_s: float = 0.005
    cap_s: float = 0.4
    sleep: Callable[[float], None] = time.sleep
    random: Callable[[], float] = field(default=random.random)

    def delay(self, attempt: int) -> float:
        return self.random() * min(self.cap_s, self.base_s * 2**attempt)


@dataclass
class TransactStats:
    """Counts for tests and benchmarks: calls made and why they were retried."""

    calls: int = 0
    retries: int = 0
    retry_reasons: dict[str, int] = field(default_factory=dict)

    def retried(self, reason: str) -> None:
        self.retries += 1
        self.retry_reasons[reason] = self.retry_reasons.get(reason, 0) + 1


def request_token(items: list[dict[str, Any]], nonce: str, attempt: int) -> str:
    digest = hashlib.sha256(json.dumps(items, sort_keys=True, default=str).encode())
    digest.update(f"#{nonce}#{attempt}".encode())
    return digest.hexdigest()[:36]


def transact(
    client: Any,
    items: list[dict[str, Any]],
    retry: RetryPolicy,
    stats: TransactStats | None = None,
) -> list[dict[str, Any]] | None:
    """None when written; the cancellation reasons (one per item) when a condition failed."""
    stats = stats if stats is not None else TransactStats()
    last, nonce = "nothing", uuid.uuid4().hex
    for attempt in range(retry.attempts):
        if attempt:
            retry.sleep(retry.delay(attempt))
        stats.calls += 1
        try:
            client.transact_write_items(TransactItems=items, ClientRequestToken=request_token(items, nonce, attempt))
            return None
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code == "TransactionCanceledException":
                reasons: list[dict[str, Any]] = [dict(r) for r in exc.response.get("CancellationReasons") or []]
                codes = {str(r.get("Code")) for r in reasons}
                if CONDITION_FAILED in codes:
                    return reasons
                transient = codes & TRANSIENT_REASONS
                if not transient:
                    raise
                last = sorted(transient)[0]
            elif code in TRANSIENT_ERRORS:
                last = code
            else:
                raise
            stats.retried(last)
    raise StockContention(f"stock write still contended after {retry.attempts} attempts ({last}); retry later")


def failed_old_item(reason: dict[str, Any]) -> dict[str, Any] | None:
    """The item as it was when its condition failed (asked for with ReturnValuesOnConditionCheckFailure)."""
    item = reason.get("Item")
    return from_item(item) if item else None
