"""boto3 adapters for the archive, the inbox queue, the quarantine table and channel secrets."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ocp.channels.base import ChannelCredentials
from ocp.domain.errors import ChannelNotConfigured
from ocp.ports import InboxMessage, QuarantineRecord


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
        body: bytes = self._client.get_object(Bucket=self._bucket, Key=key)["Body"].read()
        return body


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
        # Overwriting is fine: the same delivery quarantined twice carries the same reason.
        self._table.put_item(Item={"quarantine_id": record.quarantine_id, **record.model_dump(mode="json")})


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
