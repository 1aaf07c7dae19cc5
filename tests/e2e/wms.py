"""What a WMS would consume from its queue in the local platform, read (and deleted) as a WMS reads it."""

from __future__ import annotations

import json
import time
from typing import Any

from infra import wiring
from infra.local import LocalPlatform


def queue_messages(platform: LocalPlatform, queue_url: str, expected: int,
                   timeout_s: float = 10) -> list[dict[str, Any]]:
    """The queue's messages (with their attributes), until `expected` came or `timeout_s` passed."""
    sqs = platform.client("sqs")
    found: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout_s
    while len(found) < expected and time.monotonic() < deadline:
        for message in sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"],
                                           WaitTimeSeconds=1).get("Messages", []):
            found.append(message)
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return found


def wms_messages(platform: LocalPlatform, warehouse: str, expected: int) -> list[dict[str, Any]]:
    """The messages on the warehouse's own WMS queue (declared in the wiring)."""
    return queue_messages(platform, platform.queue_url(wiring.wms_queue_id(warehouse)), expected)


def bodies(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The instructions the messages carry."""
    return [json.loads(message["Body"]) for message in messages]
