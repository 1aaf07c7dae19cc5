"""The platform's wiring, declared once and free of CDK.

The CDK constructs, the local runtime (`infra/local`) and the tests all read these declarations, so the
cloud and the laptop cannot drift apart: a table, queue, route or function added here exists in both.
Every function gets the same value for the same variable name (the local runtime runs them in one
process). Environment values name resources by their logical id (`Ref`); each reader resolves a `Ref` to the
real name, URL or ARN in its own world.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Access = Literal["read", "write", "read_write", "send", "consume"]


@dataclass(frozen=True)
class Ref:
    """A reference to a declared resource, resolved by whoever builds the resources."""

    resource: str
    attribute: Literal["name", "url", "arn"] = "name"


@dataclass(frozen=True)
class Index:
    name: str
    partition_key: str
    sort_key: str | None = None


@dataclass(frozen=True)
class Table:
    id: str
    partition_key: str
    sort_key: str | None = None
    indexes: tuple[Index, ...] = ()


@dataclass(frozen=True)
class Bucket:
    id: str


@dataclass(frozen=True)
class Secret:
    """A JSON secret; in AWS the functions read it, locally `OCP_CHANNEL_*` env vars stand in for it."""

    id: str


@dataclass(frozen=True)
class Queue:
    id: str
    visibility_timeout_s: int = 60
    max_receive_count: int = 5
    """Deliveries before a message moves to the dead-letter queue `<id>-dlq`."""

    @property
    def dlq_id(self) -> str:
        return f"{self.id}-dlq"


@dataclass(frozen=True)
class Grant:
    resource: str
    access: Access


@dataclass(frozen=True)
class Function:
    id: str
    handler: str
    """Dotted path `functions.<id>.handler.lambda_handler`: the same path in tests, locally and in AWS."""
    description: str
    env: dict[str, str | Ref] = field(default_factory=dict)
    grants: tuple[Grant, ...] = ()
    memory_mb: int = 512
    timeout_s: int = 15

    @property
    def module(self) -> str:
        return self.handler.rsplit(".", 1)[0]


@dataclass(frozen=True)
class Route:
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
    path: str
    """API Gateway resource path, e.g. `/orders/{order_id}`."""
    function: str
    api_key_required: bool = True


@dataclass(frozen=True)
class QueueTrigger:
    queue: str
    function: str
    batch_size: int = 10
    max_batching_window_s: int = 1


@dataclass(frozen=True)
class Schedule:
    """Invoke `function` every `rate_minutes` with an EventBridge "Scheduled Event" payload.

    In AWS an EventBridge rule `rate(N minutes)` targets the function; locally a timer thread invokes the
    handler in-process with the same event shape (`infra/local/scheduler.py`).
    """

    id: str
    function: str
    rate_minutes: int = 1


# ---- resources -------------------------------------------------------------------------------------

ORDERS = Table(
    id="orders",
    partition_key="order_id",
    indexes=(
        # Look an order up by its channel's own id: `GET /orders?channel=&channel_order_id=`.
        Index(name="by_channel_order", partition_key="channel_key"),
        # Held queue and stuck orders: every order with a status, oldest first.
        Index(name="by_status", partition_key="status", sort_key="status_since"),
    ),
)
QUARANTINE = Table(id="quarantine", partition_key="quarantine_id")
RAW_ARCHIVE = Bucket(id="raw-deliveries")
CHANNEL_SECRETS = Secret(id="channel-secrets")
# Visibility timeout 6× the processor timeout, as AWS advises for Lambda event sources.
ORDERS_INBOX = Queue(id="orders-inbox", visibility_timeout_s=360, max_receive_count=5)

TABLES: tuple[Table, ...] = (ORDERS, QUARANTINE)
BUCKETS: tuple[Bucket, ...] = (RAW_ARCHIVE,)
QUEUES: tuple[Queue, ...] = (ORDERS_INBOX,)
SECRETS: tuple[Secret, ...] = (CHANNEL_SECRETS,)

_COMMON_ENV: dict[str, str | Ref] = {
    "POWERTOOLS_METRICS_NAMESPACE": "OCP",
    "POWERTOOLS_LOG_LEVEL": "INFO",
}

FUNCTIONS: tuple[Function, ...] = (
    Function(
        id="channel_webhook",
        handler="functions.channel_webhook.handler.lambda_handler",
        description="Verifies a channel delivery, archives it raw, enqueues it",
        env={
            **_COMMON_ENV,
            "RAW_BUCKET": Ref(RAW_ARCHIVE.id),
            "INBOX_QUEUE_URL": Ref(ORDERS_INBOX.id, "url"),
            "QUARANTINE_TABLE": Ref(QUARANTINE.id),
            "CHANNEL_SECRETS_ARN": Ref(CHANNEL_SECRETS.id, "arn"),
        },
        grants=(
            Grant(CHANNEL_SECRETS.id, "read"),
            Grant(RAW_ARCHIVE.id, "write"),
            Grant(ORDERS_INBOX.id, "send"),
            Grant(QUARANTINE.id, "write"),
        ),
        timeout_s=10,
    ),
    Function(
        id="order_processor",
        handler="functions.order_processor.handler.lambda_handler",
        description="Normalises inbox messages into unified orders, idempotently",
        env={
            **_COMMON_ENV,
            "ORDERS_TABLE": Ref(ORDERS.id),
            "QUARANTINE_TABLE": Ref(QUARANTINE.id),
            "RAW_BUCKET": Ref(RAW_ARCHIVE.id),
        },
        grants=(
            Grant(ORDERS.id, "read_write"),
            Grant(QUARANTINE.id, "write"),
            Grant(RAW_ARCHIVE.id, "read"),
            Grant(ORDERS_INBOX.id, "consume"),
        ),
        timeout_s=60,
    ),
    Function(
        id="operator_api",
        handler="functions.operator_api.handler.lambda_handler",
        description="Operator and partner API: orders, held queue",
        env={
            **_COMMON_ENV,
            "ORDERS_TABLE": Ref(ORDERS.id),
        },
        grants=(Grant(ORDERS.id, "read"),),
    ),
)

ROUTES: tuple[Route, ...] = (
    # Channels authenticate with their own signatures, not API keys.
    Route("POST", "/webhooks/{channel}", "channel_webhook", api_key_required=False),
    Route("GET", "/orders", "operator_api"),
    Route("GET", "/orders/{order_id}", "operator_api"),
    Route("GET", "/openapi.json", "operator_api", api_key_required=False),
)

QUEUE_TRIGGERS: tuple[QueueTrigger, ...] = (
    QueueTrigger(queue=ORDERS_INBOX.id, function="order_processor", batch_size=10),
)

SCHEDULES: tuple[Schedule, ...] = ()


def function(function_id: str) -> Function:
    for declared in FUNCTIONS:
        if declared.id == function_id:
            return declared
    raise KeyError(f"no function {function_id!r} in the wiring")
