"""Each principal's API Gateway API key in the usage plan of its kind: the bucket its requests are throttled in.

The REST API takes its API keys from the authorizer (`apiKeySource=AUTHORIZER`), so this key's value is never a
credential: clients cannot present it, the authorizer names it (`usageIdentifierKey`)."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError

from ocp.domain.access.usage_keys import UsageKey


class ApiGatewayUsageKeys:
    def __init__(self, client: Any, plans: Mapping[str, str]) -> None:
        """`client` is a boto3 `apigateway` client; `plans` maps a principal kind to its usage plan's id or name
        (the stack passes names: a plan id in a function's environment would be a CloudFormation cycle)."""
        self._client = client
        self._plans = plans
        self._resolved: dict[str, str] = {}

    def _plan_id(self, kind: str) -> str:
        wanted = self._plans[kind]
        if wanted not in self._resolved:
            pages = self._client.get_paginator("get_usage_plans").paginate()
            found = (plan["id"] for page in pages for plan in page["items"] if wanted in (plan["id"], plan.get("name")))
            self._resolved[wanted] = next(found, wanted)
        return self._resolved[wanted]

    def create(self, principal: str, kind: str) -> UsageKey:
        plan_id = self._plan_id(kind)
        created = self._client.create_api_key(
            name=f"ocp-{principal}-{secrets.token_hex(3)}", enabled=True, value=secrets.token_urlsafe(30),
            description=f"throttle bucket of principal {principal} ({kind})",
        )
        try:
            self._client.create_usage_plan_key(usagePlanId=plan_id, keyId=created["id"], keyType="API_KEY")
        except ClientError:
            self.delete(created["id"])  # no orphan key outside any plan
            raise
        return UsageKey(id=created["id"], value=created["value"])

    def delete(self, key_id: str) -> None:
        try:
            self._client.delete_api_key(apiKey=key_id)
        except ClientError as error:
            if error.response["Error"]["Code"] != "NotFoundException":
                raise
