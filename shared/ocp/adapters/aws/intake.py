"""boto3 adapters for the archive (and its listing by prefix), the inbox queue, the quarantine table (its records
for operators too) and channel secrets."""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import reduce
from typing import Any

from boto3.dynamodb.conditions import Attr, ConditionBase

from ocp.channels.base import ChannelCredentials
from ocp.domain.errors import ChannelNotConfigured
from ocp.domain.order.inbox import InboxMessage, QuarantineRecord
from ocp.domain.order.replay import ArchivedObject, QuarantineEntry, QuarantineState

_MAX_SCANS = 10
"""Scan calls per quarantine page at most: a page of filtered records may come back short, never slow."""


class S3RawArchive:
    def __init__(self, client: Any, bucket: str) -> None:
        self._client = client
        self._bucket = bucket

    def put(self, key: str, content: bytes) -> None:
        self._client.put_object(
            Bucket=self._bucket, Key=key, Body=content, ContentType="application/json",
            ServerSideEncryption="AES256",
        )

    def get(self, key: str) -> bytes:
        """`KeyError` when there is no such object."""
        try:
            body: bytes = self._client.get_object(Bucket=self._bucket, Key=key)["Body"].read()
        except self._client.exceptions.NoSuchKey:
            raise KeyError(key) from None
        return body

    def list_keys(self, prefix: str, start_after: str | None, limit: int) -> list[ArchivedObject]:
        found: list[ArchivedObject] = []
        request: dict[str, Any] = {"Bucket": self._bucket, "Prefix": prefix}
        if start_after:
            request["StartAfter"] = start_after
        while len(found) < limit:
            page = self._client.list_objects_v2(**request, MaxKeys=limit - len(found))
            found += [ArchivedObject(key=o["Key"], stored_at=o["LastModified"]) for o in page.get("Contents", [])]
            if not page.get("IsTruncated"):
                break
            request["ContinuationToken"] = page["NextContinuationToken"]
        return found[:limit]


class SqsInbox:
    def __init__(self, client: Any, queue_url: str) -> None:
        self._client = client
        self._queue_url = queue_url

    def send(self, message: InboxMessage) -> None:
        self._client.send_message(
            QueueUrl=self._queue_url,
            MessageBody=message.model_dump_json(),
            MessageAttributes={
                "channel": {"DataType": "String", "StringValue": message.channel},
                "delivery_id": {"DataType": "String", "StringValue": message.delivery_id},
            },
        )


class DynamoQuarantine:
    def __init__(self, table: Any) -> None:
        self._table = table

    def put(self, record: QuarantineRecord) -> None:
        # Overwriting is fine: the same delivery quarantined twice carries the same reason. A redriven record
        # quarantined again is open again (the put drops `redriven_at`).
        self._table.put_item(Item={"quarantine_id": record.quarantine_id, **record.model_dump(mode="json")})

    def get(self, quarantine_id: str) -> QuarantineEntry | None:
        item = self._table.get_item(Key={"quarantine_id": quarantine_id}, ConsistentRead=True).get("Item")
        return QuarantineEntry.model_validate(item) if item else None

    def page(self, channel: str | None, state: QuarantineState, limit: int,
             token: str | None) -> tuple[list[QuarantineEntry], str | None]:
        """A scan with the filters: the table holds what awaits an operator, so it stays small. Each call reads at
        most `limit` items in all (a page may come back short: the token says more may follow)."""
        filters: list[ConditionBase] = []
        if channel is not None:
            filters.append(Attr("channel").eq(channel))
        if state == "open":
            filters.append(Attr("redriven_at").not_exists())
        elif state == "redriven":
            filters.append(Attr("redriven_at").exists())
        found: list[QuarantineEntry] = []
        start = {"quarantine_id": token} if token else None
        for _ in range(_MAX_SCANS):
            request: dict[str, Any] = {"Limit": limit - len(found)}
            if filters:
                request["FilterExpression"] = reduce(lambda a, b: a & b, filters)
            if start:
                request["ExclusiveStartKey"] = start
            page = self._table.scan(**request)
            found += [QuarantineEntry.model_validate(item) for item in page.get("Items", [])]
            start = page.get("LastEvaluatedKey")
            if not start or len(found) >= limit:
                break
        return found, (str(start["quarantine_id"]) if start else None)

    def mark_redriven(self, quarantine_id: str, seen_at: str, at: str) -> bool:
        try:
            self._table.update_item(
                Key={"quarantine_id": quarantine_id},
                UpdateExpression="SET redriven_at = :at",
                ConditionExpression="attribute_exists(quarantine_id) AND attribute_not_exists(redriven_at) "
                                    "AND #at = :seen",
                ExpressionAttributeNames={"#at": "at"},
                ExpressionAttributeValues={":at": at, ":seen": seen_at},
            )
        except self._table.meta.client.exceptions.ConditionalCheckFailedException:
            return False
        return True


class ChannelCredentialsSource:
    """`OCP_CHANNEL_SECRET_<CH>` / `OCP_CHANNEL_APP_KEY_<CH>` / `OCP_CHANNEL_ACCESS_TOKEN_<CH>` first (local
    runtime, overrides), else the JSON secret `{"<channel>": {"secret", "app_key", "access_token", "api_url"}}`
    in Secrets Manager, cached by powertools."""

    def __init__(self, secret_arn: str | None, overrides: Mapping[str, str]) -> None:
        """`overrides`: the per-channel settings (`settings.channel_overrides()`), looked up on every call."""
        self._secret_arn = secret_arn
        self._overrides = overrides

    def credentials(self, channel: str) -> ChannelCredentials:
        upper = channel.upper()
        secret = self._overrides.get(f"OCP_CHANNEL_SECRET_{upper}")
        if secret:
            return ChannelCredentials(
                secret=secret,
                app_key=self._overrides.get(f"OCP_CHANNEL_APP_KEY_{upper}") or None,
                access_token=self._overrides.get(f"OCP_CHANNEL_ACCESS_TOKEN_{upper}") or None,
            )
        entry = self._from_secrets_manager().get(channel) or {}
        if not entry.get("secret"):
            raise ChannelNotConfigured(f"no signing secret configured for channel {channel!r}")
        return ChannelCredentials(
            secret=entry["secret"], app_key=entry.get("app_key"), access_token=entry.get("access_token"),
            api_url=entry.get("api_url"),
        )

    def _from_secrets_manager(self) -> dict[str, Any]:
        if not self._secret_arn:
            return {}
        from aws_lambda_powertools.utilities import parameters

        value = parameters.get_secret(self._secret_arn, max_age=300)
        parsed = json.loads(value) if isinstance(value, str) else value
        return parsed if isinstance(parsed, dict) else {}
