"""Test helpers shared by the suites: fixture files, signed Shopify deliveries, API Gateway and SQS events."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from ocp.channels.wire.shopify import sign

FIXTURES = Path(__file__).parent / "fixtures"


def fixture_bytes(relative: str) -> bytes:
    return (FIXTURES / relative).read_bytes()


def fixture_json(relative: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(fixture_bytes(relative))
    return loaded


def shopify_headers(
    body: bytes, secret: str, webhook_id: str | None = None, topic: str = "orders/create"
) -> dict[str, str]:
    return {
        "X-Shopify-Topic": topic,
        "X-Shopify-Hmac-Sha256": sign(secret, body),
        "X-Shopify-Shop-Domain": "ocp-demo.myshopify.com",
        "X-Shopify-API-Version": "2026-04",
        "X-Shopify-Webhook-Id": webhook_id or str(uuid.uuid4()),
        "X-Shopify-Event-Id": str(uuid.uuid4()),
        "X-Shopify-Triggered-At": "2026-11-11T12:05:16Z",
        "Content-Type": "application/json",
    }


def api_event(method: str, resource: str, path: str, *, body: str | None = None,
              headers: dict[str, str] | None = None, path_params: dict[str, str] | None = None,
              query: dict[str, str] | None = None, principal: str | None = "local",
              scopes: str = "admin operator finance read wms:*") -> dict[str, Any]:
    """An API Gateway REST (v1) proxy event, as API Gateway sends it: on a keyed route its authorizer's answer is
    in `requestContext.authorizer` (default the bootstrap principal; `principal=None`: no authorizer ran)."""
    headers = headers or {}
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
        "pathParameters": path_params,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": resource, "httpMethod": method, "path": f"/local{path}", "stage": "local",
            "requestId": str(uuid.uuid4()), "identity": {"sourceIp": "127.0.0.1"}, "requestTimeEpoch": 0,
            "accountId": "123456789012", "apiId": "local",
            **({"authorizer": {"principal": principal, "scopes": scopes, "principalId": principal}}
               if principal else {}),
        },
        "body": body,
        "isBase64Encoded": False,
    }


def sqs_event(bodies: list[str], queue_arn: str = "arn:aws:sqs:us-east-1:123456789012:orders-inbox") -> dict[str, Any]:
    return {"Records": [
        {
            "messageId": str(uuid.uuid4()), "receiptHandle": "rh", "body": body,
            "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": "0", "SenderId": "x",
                           "ApproximateFirstReceiveTimestamp": "0"},
            "messageAttributes": {}, "md5OfBody": "x", "eventSource": "aws:sqs", "eventSourceARN": queue_arn,
            "awsRegion": "us-east-1",
        }
        for body in bodies
    ]}


class FakeContext:
    function_name = "test"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:test"
    aws_request_id = "req-1"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000
