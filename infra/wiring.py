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

Access = Literal["read", "write", "read_write", "send", "consume", "publish", "start", "callback", "redrive",
                 "manage_keys"]
"""`start` on a state machine: start and describe its executions; `callback`: resume its paused tasks
(`SendTaskSuccess`/`SendTaskFailure`); `redrive` on a dead-letter queue: consume it and start a message move task
out of it (`StartMessageMoveTask`); `manage_keys` on a `UsagePlan`: create and delete API Gateway API keys and add
them to that plan (`apigateway:POST /apikeys`, `/usageplans/{id}/keys`, `DELETE /apikeys/*`)."""


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
    projection: tuple[str, ...] | None = None
    """What the index copies besides its keys and the table's: None = every attribute (ALL), () = keys only
    (KEYS_ONLY), names = those (INCLUDE). An index item is rewritten only when a key or a projected attribute
    changes, so a narrow projection saves a write on most updates of the table item."""

    def projection_spec(self) -> dict[str, object]:
        """The index's `Projection`, as `CreateTable` and CloudFormation spell it."""
        if self.projection is None:
            return {"ProjectionType": "ALL"}
        if not self.projection:
            return {"ProjectionType": "KEYS_ONLY"}
        return {"ProjectionType": "INCLUDE", "NonKeyAttributes": list(self.projection)}


@dataclass(frozen=True)
class Table:
    id: str
    partition_key: str
    sort_key: str | None = None
    indexes: tuple[Index, ...] = ()
    stream: bool = False
    """A DynamoDB stream with new and old images (consumed through a `StreamTrigger`)."""
    ttl_attribute: str | None = None
    """DynamoDB TTL: items whose number attribute of this name (epoch seconds) is past are deleted, eventually."""


@dataclass(frozen=True)
class Bucket:
    id: str


@dataclass(frozen=True)
class Secret:
    """A JSON secret; in AWS the functions read it, locally `OCP_*` env vars stand in for it (`ocp.settings`)."""

    id: str
    holds: str
    """What the JSON object holds (the secret's description)."""
    not_rotated_because: str
    """Why Secrets Manager does not rotate it (the acknowledged cdk-nag SMG4 finding)."""


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
class QueuePrefix:
    """Queues OCP does not create, named `<prefix>…` in the stack's account and region (a WMS's own queue,
    registered at runtime). `Grant(id, "send")` allows `sqs:SendMessage` on exactly those names."""

    id: str
    prefix: str


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


RouteScope = Literal["admin", "operator", "finance", "read", "wms"]
"""What a route needs (any one of its scopes). `wms` is met by any `wms:<WAREHOUSE>` scope: the handler then binds
the call to that warehouse. A principal's scopes are these plus `wms:<WAREHOUSE>` (`ocp.domain.access`)."""
PUBLIC: tuple[RouteScope, ...] = ()
"""A route without an API key: channels sign their webhooks, the OpenAPI document is public."""


@dataclass(frozen=True)
class Route:
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
    path: str
    """API Gateway resource path, e.g. `/orders/{order_id}`."""
    function: str
    scopes: tuple[RouteScope, ...]
    """The scopes that reach it (any one); `PUBLIC` (empty) for a route that takes no API key."""

    @property
    def api_key_required(self) -> bool:
        return bool(self.scopes)


@dataclass(frozen=True)
class UsagePlan:
    """The throttle of one kind of principal. A usage plan limits each API key in it separately, and every
    principal has its own API Gateway API key (its throttle bucket, not its secret): each warehouse its own limit."""

    id: str
    """The principal kind: `operator`, `wms`, `finance`, `read` or `admin` (`ocp.domain.access.principal_kind`)."""
    rate_per_s: int
    burst: int


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


@dataclass(frozen=True)
class EventBus:
    """An EventBridge bus the functions publish domain events to (`Grant(id, "publish")`)."""

    id: str


@dataclass(frozen=True)
class Topic:
    """An SNS topic for notifications to people (`Grant(id, "publish")`)."""

    id: str
    display_name: str = ""


@dataclass(frozen=True)
class StateMachine:
    """A Standard Step Functions state machine whose definition is one JSONPath ASL file: CDK deploys it with
    `definition_substitutions`, the local runtime and the tests fill the same placeholders with local ARNs, so the
    definition executed in tests is the one deployed."""

    id: str
    definition: str
    """The ASL file, relative to the repository root."""
    tasks: dict[str, str]
    """ASL placeholder (`${Name}` in the file) → the id of the function whose ARN replaces it."""
    description: str


@dataclass(frozen=True)
class StreamTrigger:
    """A table's DynamoDB stream → `function`, in batches, with partial batch failures reported."""

    table: str
    function: str
    batch_size: int = 100
    max_batching_window_s: int = 1
    retry_attempts: int = 10


# ---- resources -------------------------------------------------------------------------------------

ORDERS = Table(
    id="orders",
    partition_key="order_id",
    indexes=(
        # Every index is reviewed in docs/CAPACITY.md (who queries it, what it reads, key cardinality, projection).
        # Look an order up by its channel's own id: `GET /orders?channel=&channel_order_id=`. Keys only: the key
        # never changes, so the index is written once per order; the reader gets the order by id.
        Index(name="by_channel_order", partition_key="channel_key", projection=()),
        # Held queue, stuck orders, reconciliation: every order with a status, oldest first, spread over
        # `<status>#<n>` buckets (a status alone is a handful of hot keys). Only what the summaries and the held
        # queue's filter read; the held queue gets its page's orders by id.
        Index(name="by_status_bucket", partition_key="status_bucket", sort_key="status_since",
              projection=("status", "channel", "warehouse", "writeback_pending_since", "hold_reasons")),
        # Unpaid pre-reservations by expiry (sparse, spread over buckets): the reservation sweeper's worklist.
        Index(name="by_reservation_expiry", partition_key="expiry_bucket", sort_key="reservation_expires_at",
              projection=()),
        # Fulfillment, sparse: orders with a shipment the channel has not acknowledged, per channel,
        # oldest first: the write-back retries and the stuck report's `channel_writeback` hop.
        Index(name="by_writeback_pending", partition_key="channel", sort_key="writeback_pending_since",
              projection=("status", "status_since", "warehouse")),
        # Rules, sparse: held orders with a timed hold (pre-sale until its ship date), spread over
        # buckets, earliest first: the presale release's worklist.
        Index(name="by_release_due", partition_key="release_bucket", sort_key="release_due_at", projection=()),
        # Merged parcels, sparse: orders waiting to leave with others of the same buyer and address, spread over
        # buckets by when their window ends (and formed groups not yet handed over): the merge run's worklist;
        # and the waiting ones by merge key, to find an order's mates.
        Index(name="by_merge_due", partition_key="merge_bucket", sort_key="merge_due_at", projection=()),
        Index(name="by_merge_key", partition_key="merge_key", sort_key="merge_wait_until", projection=()),
    ),
)
QUARANTINE = Table(id="quarantine", partition_key="quarantine_id")
RAW_ARCHIVE = Bucket(id="raw-deliveries")
CHANNEL_SECRETS = Secret(
    id="channel-secrets",
    holds="one entry per channel",
    not_rotated_because="Channel signing secrets are issued by each sales channel (Taobao, JD, Douyin, web store) "
                        "and rotated in the channel's console; Secrets Manager cannot rotate them by itself.",
)
# Visibility timeout 6× the processor timeout, as AWS advises for Lambda event sources.
ORDERS_INBOX = Queue(id="orders-inbox", visibility_timeout_s=360, max_receive_count=5)

# ---- inventory: stock shards, the stock ledger, config/counters, warehouses, events ----------
STOCK = Table(id="stock", partition_key="stock_id", stream=True)
"""One item per (warehouse, SKU, shard): on_hand, reserved, available, version. Its stream feeds stock_events."""
STOCK_LEDGER = Table(
    id="stock-ledger",
    partition_key="entry_id",
    indexes=(
        # Every movement of one stock shard, in time order: sums explain the board. Keyed by shard, so a hot
        # SKU's ledger spreads over as many index partitions as its stock does.
        Index(name="by_stock", partition_key="stock_id", sort_key="at_entry"),
    ),
)
INVENTORY = Table(id="inventory", partition_key="pk", sort_key="sk")
"""SKU registry (which warehouses, how many shards), the stock policy, per-buyer purchase counters, alert and
listing state."""
WAREHOUSES = Table(id="warehouses", partition_key="warehouse_id")
EVENTS_BUS = EventBus(id="ocp-events")
STOCK_ALERTS = Topic(id="stock-alerts", display_name="OCP stock alerts")
KNOWN_WAREHOUSES = "WH-GZ,WH-SH,WH-BJ"
"""Warehouses known before any is registered in the `warehouses` table (the rules issue adds PUT /warehouses)."""
_INVENTORY_ENV: dict[str, str | Ref] = {
    "STOCK_TABLE": Ref(STOCK.id),
    "STOCK_LEDGER_TABLE": Ref(STOCK_LEDGER.id),
    "INVENTORY_TABLE": Ref(INVENTORY.id),
}

# ---- channels: each channel poller's high-water mark ---------------------------------------------
CHANNEL_CURSORS = Table(id="channel-cursors", partition_key="channel")

# ---- rules and catalog: versioned rule documents, the product catalog ---------------------------
RULES = Table(id="rules", partition_key="kind", sort_key="version")
"""One item per accepted document: (kind, version zero-padded to 10 digits); a version is never overwritten."""
CATALOG = Table(id="catalog", partition_key="sku")
ORDER_FINGERPRINTS = Table(id="order-fingerprints", partition_key="fingerprint", ttl_attribute="expires_at")
"""The duplicate check's keys (buyer or phone + address + items → the order holding them), claimed in the order's
own transaction; they expire a day after their window."""
_RULES_READ_ENV: dict[str, str | Ref] = {
    "RULES_TABLE": Ref(RULES.id),
    "CATALOG_TABLE": Ref(CATALOG.id),
    "WAREHOUSES_TABLE": Ref(WAREHOUSES.id),
    "KNOWN_WAREHOUSES": KNOWN_WAREHOUSES,
    "FINGERPRINTS_TABLE": Ref(ORDER_FINGERPRINTS.id),
}
_RULES_READ_GRANTS: tuple[Grant, ...] = (
    Grant(RULES.id, "read"),
    Grant(CATALOG.id, "read"),
    Grant(WAREHOUSES.id, "read"),
    Grant(ORDER_FINGERPRINTS.id, "read_write"),
)
RULE_KINDS = ("routing", "anomaly", "gift", "return_policy", "sla")
"""`ocp.domain.decisions.rules.RuleKind`: one literal `/rules/<kind>:simulate` resource each (see ROUTES)."""

# ---- fulfillment: dispatch to warehouses, WMS/TMS callbacks, stuck orders ------------------------
WMS_WAREHOUSES: tuple[str, ...] = ("WH-GZ", "WH-SH", "WH-BJ")
"""Warehouses whose WMS consumes OCP's instructions from its own SQS queue `wms-<warehouse>`: one queue per
warehouse, so each WMS reads only its own orders under its own IAM grant, and a WMS that stops consuming fills
only its own queue and DLQ (alarmed). A WMS that takes pushes is configured in `WMS_HTTP_ENDPOINTS` instead (JSON
warehouse → URL; it wins over a queue for the same warehouse). Both are the fallback: a warehouse registered with
`PUT /warehouses/{id}` and a `wms` is dispatched there, with no deploy (see `REGISTERED_WMS_QUEUES`)."""


def wms_queue_id(warehouse: str) -> str:
    return f"wms-{warehouse.lower()}"


def wms_queue_env(warehouse: str) -> str:
    """Same rule as `ocp.settings.wms_queue_env`: `WH-GZ` → `WMS_QUEUE_URL_WH_GZ`."""
    return "WMS_QUEUE_URL_" + "".join(c if c.isalnum() else "_" for c in warehouse.upper())


# A WMS may take minutes to pick an instruction up and act on it before deleting it.
WMS_QUEUES: tuple[Queue, ...] = tuple(
    Queue(id=wms_queue_id(w), visibility_timeout_s=300, max_receive_count=5) for w in WMS_WAREHOUSES
)
WMS_QUEUE_PREFIX = "ocp-wms-"
"""Same as `ocp.domain.fulfillment.wms.WMS_QUEUE_PREFIX`: the warehouses API refuses a queue not named so."""
REGISTERED_WMS_QUEUES = QueuePrefix(id="registered-wms-queues", prefix=WMS_QUEUE_PREFIX)
"""The WMS queues registered at runtime (`PUT /warehouses/{id}` with `{"wms": {"type": "sqs", ...}}`): a WMS
owner creates `ocp-wms-<name>` (standard, SSE-SQS or unencrypted) in OCP's account and region, with its own DLQ."""
WMS_SECRETS = Secret(
    id="wms-secrets",
    holds='{"<warehouse>": "<signing secret>"} for each HTTP WMS',
    not_rotated_because="WMS signing secrets are shared with each warehouse's WMS, which must verify with the new "
                        "value from the moment it is set: a rotation is agreed with the warehouse, not scheduled.",
)
"""The HMAC secrets HTTP instructions are signed with (`X-OCP-Signature`); locally `OCP_WMS_SECRET_<WAREHOUSE>`."""
_WMS_SENDER_ENV: dict[str, str | Ref] = {
    "WMS_WAREHOUSES": ",".join(WMS_WAREHOUSES),
    "WMS_HTTP_ENDPOINTS": "{}",
    **{wms_queue_env(w): Ref(wms_queue_id(w), "url") for w in WMS_WAREHOUSES},
    # A warehouse's registered WMS, through the warehouses cache; the secrets HTTP instructions are signed with.
    "WAREHOUSES_TABLE": Ref(WAREHOUSES.id),
    "KNOWN_WAREHOUSES": KNOWN_WAREHOUSES,
    "WMS_SECRETS_ARN": Ref(WMS_SECRETS.id, "arn"),
}
_WMS_SENDER_GRANTS: tuple[Grant, ...] = (
    *(Grant(queue.id, "send") for queue in WMS_QUEUES),
    Grant(REGISTERED_WMS_QUEUES.id, "send"),
    Grant(WAREHOUSES.id, "read"),
    Grant(WMS_SECRETS.id, "read"),
)
# `dispatch`: one `DispatchRequest` per order to hand over (from the order processor once reserved, and from
# POST /orders:redispatch). Visibility 6× the dispatcher's timeout.
DISPATCH_QUEUE = Queue(id="dispatch", visibility_timeout_s=720, max_receive_count=5)
WATCHDOG_STATE = Table(id="watchdog-state", partition_key="check_id")
"""The watchdog's last stuck counts per hop, to see a backlog grow between runs; also where reconciliation keeps
its checkpoints (item `reconciliation`)."""
# `channel-writeback`: one `{"order_id"}` per order with a new shipment to confirm on its channel (from
# fulfillment_callback). Visibility 6× the channel_writeback timeout.
WRITEBACK_QUEUE = Queue(id="channel-writeback", visibility_timeout_s=720, max_receive_count=5)

# ---- returns: after-sales, their Step Functions workflow, the channels' after-sale pushes ----------------
RETURNS = Table(
    id="returns",
    partition_key="return_id",
    indexes=(
        # An order's after-sales (quantity checks, its timeline), and the listing's filters, newest first.
        Index(name="by_order", partition_key="order_id", sort_key="created_at"),
        Index(name="by_status", partition_key="status", sort_key="status_since"),
        Index(name="by_channel", partition_key="channel", sort_key="created_at"),
    ),
)
"""One item per after-sale (`ocp.domain.returns.model.AfterSale`); a channel's is `<channel>-as-<after-sale id>`."""
# `aftersales-inbox`: the marketplaces' after-sale pushes (signals: the record is re-read), split from the order
# pushes by the webhook. Visibility 6× aftersale_intake's timeout.
AFTERSALES_INBOX = Queue(id="aftersales-inbox", visibility_timeout_s=180, max_receive_count=5)
RETURNS_WORKFLOW = StateMachine(
    id="returns-workflow",
    definition="infra/statemachines/returns.asl.json",
    tasks={"ReturnsStepFunction": "returns_workflow"},
    description="One execution per after-sale: validate, decide, intercept or take back, refund, watch the refund",
)
FINANCE_ALERTS = Topic(id="finance-alerts", display_name="OCP refunds and after-sales")
"""Refunds overdue and after-sale workflows that failed: for finance and the after-sales team."""
_RETURNS_ENV: dict[str, str | Ref] = {
    "RETURNS_TABLE": Ref(RETURNS.id),
    "RETURNS_STATE_MACHINE_ARN": Ref(RETURNS_WORKFLOW.id, "arn"),
}

# ---- access: principals, their hashed keys, throttles per kind of principal ----------------------------------
PRINCIPALS = Table(id="principals", partition_key="pk")
"""Two items per principal, written and deleted together: `key#<sha256 of its API key>` (what the authorizer
reads) and `name#<name>` (keeps names unique, lists and revokes by name). The key itself is never stored."""
BOOTSTRAP_KEY = Secret(
    id="bootstrap-api-key",
    holds='{"api_key": "<the key>", "principal": "<its name>", "usage_key": "<its API Gateway API key value>"}',
    not_rotated_because="The bootstrap key is the administrators' way in to create the other principals; it is "
                        "rotated by putting a new value, announced to them, not on a schedule.",
)
"""The key with every scope (`admin operator finance read wms:*`): in AWS generated at deploy (principal `admin`),
locally `OCP_API_KEY` (principal `local`, no usage key)."""
USAGE_PLANS: tuple[UsagePlan, ...] = (
    UsagePlan(id="operator", rate_per_s=50, burst=100),
    UsagePlan(id="wms", rate_per_s=200, burst=400),
    UsagePlan(id="finance", rate_per_s=20, burst=40),
    UsagePlan(id="read", rate_per_s=100, burst=200),
    UsagePlan(id="admin", rate_per_s=10, burst=20),
)
BOOTSTRAP_USAGE_PLAN = "operator"
"""The plan the bootstrap principal's usage key (`usage_key` in its secret) belongs to."""
STAGE_THROTTLE = UsagePlan(id="stage", rate_per_s=5000, burst=5000)
"""The stage's default method throttle: the whole API's ceiling (docs/CAPACITY.md)."""
WEBHOOK_THROTTLE = UsagePlan(id="webhooks", rate_per_s=2000, burst=4000)
"""`POST /webhooks/{channel}`'s method throttle: the live-stream peak (docs/CAPACITY.md)."""
AUTHORIZER_CACHE_S = 60
"""API Gateway caches the authorizer's answer per key this long: a revoked key stops within it in AWS."""


def usage_plan_env(kind: str) -> str:
    """`operator` → `USAGE_PLAN_ID_OPERATOR`: where principals_api finds the plan a new principal's key joins."""
    return f"USAGE_PLAN_ID_{kind.upper()}"


TABLES: tuple[Table, ...] = (ORDERS, QUARANTINE, STOCK, STOCK_LEDGER, INVENTORY, WAREHOUSES, CHANNEL_CURSORS, RULES,
                             CATALOG, WATCHDOG_STATE, ORDER_FINGERPRINTS, RETURNS, PRINCIPALS)
EVENT_BUSES: tuple[EventBus, ...] = (EVENTS_BUS,)
TOPICS: tuple[Topic, ...] = (STOCK_ALERTS, FINANCE_ALERTS)
STATE_MACHINES: tuple[StateMachine, ...] = (RETURNS_WORKFLOW,)
BUCKETS: tuple[Bucket, ...] = (RAW_ARCHIVE,)
QUEUES: tuple[Queue, ...] = (ORDERS_INBOX, DISPATCH_QUEUE, *WMS_QUEUES, WRITEBACK_QUEUE, AFTERSALES_INBOX)
SECRETS: tuple[Secret, ...] = (CHANNEL_SECRETS, WMS_SECRETS, BOOTSTRAP_KEY)
QUEUE_PREFIXES: tuple[QueuePrefix, ...] = (REGISTERED_WMS_QUEUES,)

_COMMON_ENV: dict[str, str | Ref] = {
    "POWERTOOLS_METRICS_NAMESPACE": "OCP",
    "POWERTOOLS_LOG_LEVEL": "INFO",
}

# ---- replay and redrive: archived deliveries through intake again, quarantined messages, dead letters ----------


def queue_url_env(queue_id: str) -> str:
    """Same rule as `ocp.settings.queue_url_env`: `orders-inbox` → `QUEUE_URL_ORDERS_INBOX`."""
    return "QUEUE_URL_" + "".join(c if c.isalnum() else "_" for c in queue_id.upper())


def dlq_url_env(queue_id: str) -> str:
    """`orders-inbox` → `DLQ_URL_ORDERS_INBOX`: the URL of the queue's dead-letter queue."""
    return "DLQ_" + queue_url_env(queue_id)[len("QUEUE_"):]


FUNCTIONS: tuple[Function, ...] = (
    Function(
        id="channel_webhook",
        handler="functions.channel_webhook.handler.lambda_handler",
        description="Verifies a channel delivery, archives it raw, enqueues it",
        env={
            **_COMMON_ENV,
            "RAW_BUCKET": Ref(RAW_ARCHIVE.id),
            "INBOX_QUEUE_URL": Ref(ORDERS_INBOX.id, "url"),
            "AFTERSALES_QUEUE_URL": Ref(AFTERSALES_INBOX.id, "url"),
            "QUARANTINE_TABLE": Ref(QUARANTINE.id),
            "CHANNEL_SECRETS_ARN": Ref(CHANNEL_SECRETS.id, "arn"),
        },
        grants=(
            Grant(CHANNEL_SECRETS.id, "read"),
            Grant(RAW_ARCHIVE.id, "write"),
            Grant(ORDERS_INBOX.id, "send"),
            Grant(AFTERSALES_INBOX.id, "send"),
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
            # Channels: thin pushes are completed by pulling the order from the channel's API.
            "CHANNEL_SECRETS_ARN": Ref(CHANNEL_SECRETS.id, "arn"),
            **_INVENTORY_ENV,
            # Rules: rules, catalog and warehouses cached per process; duplicate keys in the order's
            # transaction. Fulfillment: a newly reserved order is handed to the dispatcher.
            **_RULES_READ_ENV,
            "DISPATCH_QUEUE_URL": Ref(DISPATCH_QUEUE.id, "url"),
        },
        grants=(
            Grant(ORDERS.id, "read_write"),
            Grant(QUARANTINE.id, "write"),
            Grant(RAW_ARCHIVE.id, "read"),
            Grant(ORDERS_INBOX.id, "consume"),
            Grant(CHANNEL_SECRETS.id, "read"),
            # One transaction per order: the order item, stock shards, ledger entries, purchase counters (read:
            # a failed condition returns the shard's values, and a short SKU's other shards are read once).
            Grant(STOCK.id, "read_write"),
            Grant(STOCK_LEDGER.id, "read_write"),  # reads: settling an interrupted chunked change
            Grant(INVENTORY.id, "read_write"),
            *_RULES_READ_GRANTS,
            Grant(DISPATCH_QUEUE.id, "send"),
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
            "RETURNS_TABLE": Ref(RETURNS.id),
        },
        # Returns: an order's after-sales on its timeline.
        grants=(Grant(ORDERS.id, "read"), Grant(RETURNS.id, "read")),
    ),
    # ---- inventory ----
    Function(
        id="inventory_api",
        handler="functions.inventory_api.handler.lambda_handler",
        description="Warehouse stock pushes, stock board per SKU, stock ledger and stock policy",
        env={
            **_COMMON_ENV,
            **_INVENTORY_ENV,
            "WAREHOUSES_TABLE": Ref(WAREHOUSES.id),
            "KNOWN_WAREHOUSES": KNOWN_WAREHOUSES,
        },
        grants=(
            Grant(STOCK.id, "read_write"),
            Grant(STOCK_LEDGER.id, "read_write"),
            Grant(INVENTORY.id, "read_write"),
            Grant(WAREHOUSES.id, "read"),
        ),
    ),
    Function(
        id="stock_events",
        handler="functions.stock_events.handler.lambda_handler",
        description="Stock changes → low-stock alerts, coupon suspend/resume, coalesced channel listing updates; "
                    "orders held for stock retried on restock",
        env={
            **_COMMON_ENV,
            **_INVENTORY_ENV,
            "EVENT_BUS_NAME": Ref(EVENTS_BUS.id),
            "ALERT_TOPIC_ARN": Ref(STOCK_ALERTS.id, "arn"),
            # Restock: held orders go through the release path (checks, routing, reservation, dispatch), as in
            # orders_ops.
            "ORDERS_TABLE": Ref(ORDERS.id),
            **_RULES_READ_ENV,
            "DISPATCH_QUEUE_URL": Ref(DISPATCH_QUEUE.id, "url"),
        },
        grants=(
            # Read for the signals; write for the reservations of the orders retried on restock (with their
            # ledger entries and purchase counters in the order's transaction).
            Grant(STOCK.id, "read_write"),
            Grant(STOCK_LEDGER.id, "read_write"),  # reads: settling an interrupted chunked change
            Grant(INVENTORY.id, "read_write"),
            Grant(EVENTS_BUS.id, "publish"),
            Grant(STOCK_ALERTS.id, "publish"),
            Grant(ORDERS.id, "read_write"),
            *_RULES_READ_GRANTS,
            Grant(DISPATCH_QUEUE.id, "send"),
        ),
        # A batch may retry up to 20 held orders per restocked SKU; the handler stops taking SKUs 15 s before.
        timeout_s=120,
    ),
    Function(
        id="reservation_sweeper",
        handler="functions.reservation_sweeper.handler.lambda_handler",
        description="Releases expired unpaid pre-reservations; rebalances sharded SKUs",
        env={
            **_COMMON_ENV,
            **_INVENTORY_ENV,
            "ORDERS_TABLE": Ref(ORDERS.id),
        },
        grants=(
            Grant(ORDERS.id, "read_write"),
            Grant(STOCK.id, "read_write"),
            Grant(STOCK_LEDGER.id, "read_write"),  # reads: settling an interrupted chunked change
            Grant(INVENTORY.id, "read_write"),
        ),
        timeout_s=300,
    ),
    # ---- channels ----
    Function(
        id="channel_poller",
        handler="functions.channel_poller.handler.lambda_handler",
        description="Polls each channel for orders modified since its high-water mark; enqueues them",
        env={
            **_COMMON_ENV,
            "CURSOR_TABLE": Ref(CHANNEL_CURSORS.id),
            "INBOX_QUEUE_URL": Ref(ORDERS_INBOX.id, "url"),
            "AFTERSALES_QUEUE_URL": Ref(AFTERSALES_INBOX.id, "url"),
            "RAW_BUCKET": Ref(RAW_ARCHIVE.id),
            "CHANNEL_SECRETS_ARN": Ref(CHANNEL_SECRETS.id, "arn"),
        },
        grants=(
            Grant(CHANNEL_CURSORS.id, "read_write"),
            Grant(RAW_ARCHIVE.id, "write"),
            Grant(ORDERS_INBOX.id, "send"),
            Grant(AFTERSALES_INBOX.id, "send"),
            Grant(CHANNEL_SECRETS.id, "read"),
        ),
        timeout_s=300,
    ),
    # ---- rules and catalog ----
    Function(
        id="rules_api",
        handler="functions.rules_api.handler.lambda_handler",
        description="Rule documents (versioned, validated, dry runs) and the product catalog",
        env={
            **_COMMON_ENV,
            "RULES_TABLE": Ref(RULES.id),
            "CATALOG_TABLE": Ref(CATALOG.id),
            # Warehouses and suppliers: PUT/GET /warehouses, and the dry run's warehouse facts.
            "WAREHOUSES_TABLE": Ref(WAREHOUSES.id),
            "KNOWN_WAREHOUSES": KNOWN_WAREHOUSES,
        },
        grants=(
            Grant(RULES.id, "read_write"),
            Grant(CATALOG.id, "read_write"),
            Grant(WAREHOUSES.id, "read_write"),
        ),
    ),
    # The held queue's actions: they reserve and release stock like the order processor does, so they
    # get its grants; operator_api keeps read-only access for lookups and the queue listing.
    Function(
        id="orders_ops",
        handler="functions.orders_ops.handler.lambda_handler",
        description="Operators on held orders: fix, release (checks and reservation again), cancel; one or bulk",
        env={**_COMMON_ENV, "ORDERS_TABLE": Ref(ORDERS.id), **_INVENTORY_ENV, **_RULES_READ_ENV,
             "DISPATCH_QUEUE_URL": Ref(DISPATCH_QUEUE.id, "url")},
        grants=(
            Grant(ORDERS.id, "read_write"),
            Grant(STOCK.id, "read_write"),
            Grant(STOCK_LEDGER.id, "read_write"),  # reads: settling an interrupted chunked change
            Grant(INVENTORY.id, "read_write"),
            *_RULES_READ_GRANTS,
            Grant(DISPATCH_QUEUE.id, "send"),
        ),
        timeout_s=60,
    ),
    Function(
        id="presale_release",
        handler="functions.presale_release.handler.lambda_handler",
        description="Releases held pre-sale orders whose ship date came: checks and reservation again",
        env={**_COMMON_ENV, "ORDERS_TABLE": Ref(ORDERS.id), **_INVENTORY_ENV, **_RULES_READ_ENV,
             "DISPATCH_QUEUE_URL": Ref(DISPATCH_QUEUE.id, "url")},
        grants=(
            Grant(ORDERS.id, "read_write"),
            Grant(STOCK.id, "read_write"),
            Grant(STOCK_LEDGER.id, "read_write"),  # reads: settling an interrupted chunked change
            Grant(INVENTORY.id, "read_write"),
            *_RULES_READ_GRANTS,
            Grant(DISPATCH_QUEUE.id, "send"),
        ),
        timeout_s=300,
    ),
    # ---- fulfillment ----
    Function(
        id="fulfillment_callback",
        handler="functions.fulfillment_callback.handler.lambda_handler",
        description="WMS/TMS callbacks: the order state machine and its timeline",
        env={**_COMMON_ENV, "ORDERS_TABLE": Ref(ORDERS.id), **_INVENTORY_ENV,
             "WRITEBACK_QUEUE_URL": Ref(WRITEBACK_QUEUE.id, "url")},
        grants=(
            Grant(ORDERS.id, "read_write"),
            # A callback that ships (or cancels) the order moves its stock in the same transaction: shard updates,
            # ledger entries, purchase counters given back on a cancellation.
            Grant(STOCK.id, "read_write"),
            Grant(STOCK_LEDGER.id, "read_write"),  # reads: settling an interrupted chunked change
            Grant(INVENTORY.id, "read_write"),
            Grant(WRITEBACK_QUEUE.id, "send"),
        ),
    ),
    Function(
        id="dispatcher",
        handler="functions.dispatcher.handler.lambda_handler",
        description="Hands reserved orders to their warehouse's WMS (SQS queue or HTTP push), then marks them",
        env={
            **_COMMON_ENV,
            "ORDERS_TABLE": Ref(ORDERS.id),
            **_WMS_SENDER_ENV,
        },
        grants=(
            Grant(ORDERS.id, "read_write"),
            Grant(DISPATCH_QUEUE.id, "consume"),
            *_WMS_SENDER_GRANTS,
        ),
        timeout_s=120,
    ),
    Function(
        id="parcel_merge",
        handler="functions.parcel_merge.handler.lambda_handler",
        description="Merged parcels: orders whose merge window ended leave with their mates as one dispatch request",
        env={**_COMMON_ENV, "ORDERS_TABLE": Ref(ORDERS.id), "DISPATCH_QUEUE_URL": Ref(DISPATCH_QUEUE.id, "url")},
        # Reads the merge indexes and writes a group's orders in one transaction; the dispatcher sends the parcel.
        grants=(Grant(ORDERS.id, "read_write"), Grant(DISPATCH_QUEUE.id, "send")),
        timeout_s=120,
    ),
    Function(
        id="fulfillment_ops",
        handler="functions.fulfillment_ops.handler.lambda_handler",
        description="Operators on fulfilment: stuck orders per hop, bulk re-dispatch",
        env={**_COMMON_ENV, "ORDERS_TABLE": Ref(ORDERS.id), "DISPATCH_QUEUE_URL": Ref(DISPATCH_QUEUE.id, "url"),
             "RULES_TABLE": Ref(RULES.id), "RETURNS_TABLE": Ref(RETURNS.id)},
        # Returns: the stuck report's after-sale hops.
        grants=(Grant(ORDERS.id, "read"), Grant(DISPATCH_QUEUE.id, "send"), Grant(RULES.id, "read"),
                Grant(RETURNS.id, "read")),
        timeout_s=30,
    ),
    Function(
        id="channel_writeback",
        handler="functions.channel_writeback.handler.lambda_handler",
        description="Writes shipments (tracking number, carrier) back to their channels until acknowledged",
        env={**_COMMON_ENV, "ORDERS_TABLE": Ref(ORDERS.id), "CHANNEL_SECRETS_ARN": Ref(CHANNEL_SECRETS.id, "arn")},
        # Recording the channel's answer never changes a status, so it never moves stock: no stock grants.
        grants=(
            Grant(ORDERS.id, "read_write"),
            Grant(WRITEBACK_QUEUE.id, "consume"),
            Grant(CHANNEL_SECRETS.id, "read"),
        ),
        # A parcel is up to three channel calls of at most 10 s each; the sweep stops 30 s before the end.
        timeout_s=120,
    ),
    Function(
        id="reconciliation",
        handler="functions.reconciliation.handler.lambda_handler",
        description="Orders with a warehouse against their channels: cancelled there → alert, stop the warehouse",
        env={
            **_COMMON_ENV,
            "ORDERS_TABLE": Ref(ORDERS.id),
            **_INVENTORY_ENV,
            "CHANNEL_SECRETS_ARN": Ref(CHANNEL_SECRETS.id, "arn"),
            "WATCHDOG_TABLE": Ref(WATCHDOG_STATE.id),
            "EVENT_BUS_NAME": Ref(EVENTS_BUS.id),
            **_WMS_SENDER_ENV,
        },
        grants=(
            Grant(ORDERS.id, "read_write"),
            Grant(CHANNEL_SECRETS.id, "read"),
            Grant(WATCHDOG_STATE.id, "read_write"),
            Grant(EVENTS_BUS.id, "publish"),
            *_WMS_SENDER_GRANTS,
            Grant(STOCK.id, "read_write"),
            Grant(STOCK_LEDGER.id, "read_write"),  # reads: settling an interrupted chunked change
            Grant(INVENTORY.id, "read_write"),
        ),
        timeout_s=300,
    ),
    Function(
        id="watchdog",
        handler="functions.watchdog.handler.lambda_handler",
        description="Stuck orders per hop as metrics; warns when a hop's backlog grows",
        env={**_COMMON_ENV, "ORDERS_TABLE": Ref(ORDERS.id), "WATCHDOG_TABLE": Ref(WATCHDOG_STATE.id),
             "RULES_TABLE": Ref(RULES.id), "RETURNS_TABLE": Ref(RETURNS.id)},
        grants=(Grant(ORDERS.id, "read"), Grant(WATCHDOG_STATE.id, "read_write"), Grant(RULES.id, "read"),
                Grant(RETURNS.id, "read")),
        timeout_s=60,
    ),
    # ---- returns ----
    Function(
        id="returns_api",
        handler="functions.returns_api.handler.lambda_handler",
        description="After-sales: requests, listing, approval, warehouse receipts, refund settlement",
        env={**_COMMON_ENV, **_RETURNS_ENV, "ORDERS_TABLE": Ref(ORDERS.id), **_INVENTORY_ENV, **_RULES_READ_ENV,
             "EVENT_BUS_NAME": Ref(EVENTS_BUS.id)},
        grants=(
            Grant(RETURNS.id, "read_write"),
            Grant(ORDERS.id, "read"),
            # A receipt puts the returned units back on the books (sellable, second grade or defective).
            Grant(STOCK.id, "read_write"),
            Grant(STOCK_LEDGER.id, "read_write"),
            Grant(INVENTORY.id, "read_write"),
            *_RULES_READ_GRANTS,
            Grant(RETURNS_WORKFLOW.id, "start"),
            Grant(RETURNS_WORKFLOW.id, "callback"),
            Grant(EVENTS_BUS.id, "publish"),
        ),
        timeout_s=30,
    ),
    Function(
        id="returns_workflow",
        handler="functions.returns_workflow.handler.lambda_handler",
        description="The returns state machine's steps: validate, decide, intercept, label, refund, replace, watch",
        env={
            **_COMMON_ENV,
            **_RETURNS_ENV,
            "ORDERS_TABLE": Ref(ORDERS.id),
            **_INVENTORY_ENV,
            **_RULES_READ_ENV,
            "CHANNEL_SECRETS_ARN": Ref(CHANNEL_SECRETS.id, "arn"),
            "DISPATCH_QUEUE_URL": Ref(DISPATCH_QUEUE.id, "url"),
            "EVENT_BUS_NAME": Ref(EVENTS_BUS.id),
            "FINANCE_TOPIC_ARN": Ref(FINANCE_ALERTS.id, "arn"),
        },
        grants=(
            Grant(RETURNS.id, "read_write"),
            # An intercept takes lines off the order (or cancels it) and releases their stock in the order's write;
            # an exchange places its replacement order like the order processor does.
            Grant(ORDERS.id, "read_write"),
            Grant(STOCK.id, "read_write"),
            Grant(STOCK_LEDGER.id, "read_write"),
            Grant(INVENTORY.id, "read_write"),
            *_RULES_READ_GRANTS,
            Grant(CHANNEL_SECRETS.id, "read"),
            Grant(DISPATCH_QUEUE.id, "send"),
            Grant(EVENTS_BUS.id, "publish"),
            Grant(FINANCE_ALERTS.id, "publish"),
        ),
        timeout_s=60,
    ),
    Function(
        id="aftersale_intake",
        handler="functions.aftersale_intake.handler.lambda_handler",
        description="Marketplace after-sale signals: re-read the record, upsert it by version, start or resume its "
                    "workflow",
        env={**_COMMON_ENV, **_RETURNS_ENV, "ORDERS_TABLE": Ref(ORDERS.id),
             "CHANNEL_SECRETS_ARN": Ref(CHANNEL_SECRETS.id, "arn")},
        grants=(
            Grant(RETURNS.id, "read_write"),
            Grant(ORDERS.id, "read"),
            Grant(AFTERSALES_INBOX.id, "consume"),
            Grant(CHANNEL_SECRETS.id, "read"),
            Grant(RETURNS_WORKFLOW.id, "start"),
            Grant(RETURNS_WORKFLOW.id, "callback"),
        ),
        timeout_s=30,
    ),
    # ---- replay and redrive
    Function(
        id="replay_ops",
        handler="functions.replay_ops.handler.lambda_handler",
        description="Operators: replay archived deliveries, redrive quarantined messages and dead-letter queues",
        env={
            **_COMMON_ENV,
            # A replay is a fresh webhook: verified with the channel's current secret, archived, enqueued.
            "RAW_BUCKET": Ref(RAW_ARCHIVE.id),
            "INBOX_QUEUE_URL": Ref(ORDERS_INBOX.id, "url"),
            "AFTERSALES_QUEUE_URL": Ref(AFTERSALES_INBOX.id, "url"),
            "QUARANTINE_TABLE": Ref(QUARANTINE.id),
            "CHANNEL_SECRETS_ARN": Ref(CHANNEL_SECRETS.id, "arn"),
            "REDRIVE_QUEUES": ",".join(q.id for q in QUEUES),
            **{queue_url_env(q.id): Ref(q.id, "url") for q in QUEUES},
            **{dlq_url_env(q.id): Ref(q.dlq_id, "url") for q in QUEUES},
        },
        grants=tuple(dict.fromkeys((
            Grant(CHANNEL_SECRETS.id, "read"),
            # Lists and reads archived deliveries; puts a replayed unverified/ one under raw/ (never deletes).
            Grant(RAW_ARCHIVE.id, "read_write"),
            Grant(ORDERS_INBOX.id, "send"),
            Grant(AFTERSALES_INBOX.id, "send"),
            Grant(QUARANTINE.id, "read_write"),
            *(g for q in QUEUES for g in (Grant(q.id, "send"), Grant(q.dlq_id, "redrive"))),
        ))),
        timeout_s=60,
    ),
)

# ---- access: who may call what. One map, read by the CDK stack, the authorizer (`ROUTE_SCOPES` below) and the local
# runtime. Lookups and reports are open to `read` and `operator`; order actions, rules, catalog, policy, warehouses,
# returns and redrives need `operator`; warehouse facts need a `wms:<W>` scope, bound to W in the handler. A stock
# push is also open to `operator` (a stock take corrected by hand); a fulfillment event is not: only the warehouse
# reports what happened to its parcels. A return's receipt is booked by the warehouse or by an operator.
LOOKUP: tuple[RouteScope, ...] = ("read", "operator")
OPERATOR: tuple[RouteScope, ...] = ("operator",)
WAREHOUSE: tuple[RouteScope, ...] = ("wms",)
STOCK_PUSH: tuple[RouteScope, ...] = ("wms", "operator")
RECEIPT: tuple[RouteScope, ...] = ("wms", "operator")
FINANCE: tuple[RouteScope, ...] = ("finance",)
ADMIN: tuple[RouteScope, ...] = ("admin",)

ROUTES: tuple[Route, ...] = (
    # Channels authenticate with their own signatures, not API keys.
    Route("POST", "/webhooks/{channel}", "channel_webhook", PUBLIC),
    Route("GET", "/orders", "operator_api", LOOKUP),
    Route("GET", "/orders/{order_id}", "operator_api", LOOKUP),
    Route("GET", "/openapi.json", "operator_api", PUBLIC),
    # ---- inventory. API Gateway allows one variable name per level, so `/inventory/{id}` is a SKU
    # for GET and a warehouse for PUT `/inventory/{id}/{sku}`; the handler names them properly.
    Route("PUT", "/inventory/{id}/{sku}", "inventory_api", STOCK_PUSH),
    Route("GET", "/inventory/{id}", "inventory_api", LOOKUP),
    Route("GET", "/inventory-ledger/{sku}", "inventory_api", LOOKUP),
    Route("GET", "/inventory-policy", "inventory_api", LOOKUP),
    Route("PUT", "/inventory-policy", "inventory_api", OPERATOR),
    # ---- rules and catalog. API Gateway path parts are literal or a whole `{variable}`, so the
    # public `/rules/{kind}:simulate` is one literal resource per kind (`routing:simulate`, …) beside
    # `/rules/{kind}`; `/catalog:bulk` is a literal resource beside `/catalog`.
    Route("GET", "/rules/{kind}", "rules_api", LOOKUP),
    Route("PUT", "/rules/{kind}", "rules_api", OPERATOR),
    Route("GET", "/rules/{kind}/schema", "rules_api", LOOKUP),
    *(Route("POST", f"/rules/{kind}:simulate", "rules_api", OPERATOR) for kind in RULE_KINDS),
    Route("GET", "/catalog/{sku}", "rules_api", LOOKUP),
    Route("PUT", "/catalog/{sku}", "rules_api", OPERATOR),
    Route("POST", "/catalog:bulk", "rules_api", OPERATOR),
    Route("PUT", "/warehouses/{warehouse}", "rules_api", OPERATOR),
    Route("GET", "/warehouses", "rules_api", LOOKUP),
    # The held queue: `GET /orders?status=held&reason=` is operator_api's; the actions are orders_ops'.
    # `/orders:bulk` is a literal resource at the root (like `/orders:redispatch`).
    Route("PATCH", "/orders/{order_id}", "orders_ops", OPERATOR),
    Route("POST", "/orders/{order_id}/release", "orders_ops", OPERATOR),
    Route("POST", "/orders/{order_id}/cancel", "orders_ops", OPERATOR),
    Route("POST", "/orders:bulk", "orders_ops", OPERATOR),
    # ---- fulfillment. `/orders/stuck` is a literal resource beside `/orders/{order_id}` (literal wins
    # in API Gateway and in infra/local/apigw.py); `/orders:redispatch` is a literal resource at the root.
    Route("POST", "/fulfillment/events", "fulfillment_callback", WAREHOUSE),
    Route("GET", "/orders/stuck", "fulfillment_ops", LOOKUP),
    Route("POST", "/orders:redispatch", "fulfillment_ops", OPERATOR),
    # ---- returns
    Route("POST", "/returns", "returns_api", OPERATOR),
    Route("GET", "/returns", "returns_api", LOOKUP),
    Route("GET", "/returns/{return_id}", "returns_api", LOOKUP),
    Route("POST", "/returns/{return_id}/approve", "returns_api", OPERATOR),
    Route("POST", "/returns/{return_id}/reject", "returns_api", OPERATOR),
    Route("POST", "/returns/{return_id}/receipt", "returns_api", RECEIPT),
    Route("POST", "/refunds/{refund_id}/settled", "returns_api", FINANCE),
    # ---- replay and redrive. `/deliveries:replay` and `/dlq:redrive` are literal resources at the root (like
    # `/orders:bulk`); a quarantine id (`<delivery id>#<message id>`) travels percent-encoded.
    Route("POST", "/deliveries:replay", "replay_ops", OPERATOR),
    Route("GET", "/quarantine", "replay_ops", LOOKUP),
    Route("POST", "/quarantine/{quarantine_id}/redrive", "replay_ops", OPERATOR),
    Route("POST", "/dlq:redrive", "replay_ops", OPERATOR),
    # ---- access: principals and their keys
    Route("POST", "/principals", "principals_api", ADMIN),
    Route("GET", "/principals", "principals_api", ADMIN),
    Route("DELETE", "/principals/{name}", "principals_api", ADMIN),
)


def route_scopes_env(routes: tuple[Route, ...]) -> str:
    """The route → scopes map as the authorizer reads it (`ocp.domain.access.RouteScopes.parse`):
    `GET /orders=read,operator;PUT /rules/{kind}=operator;…`, keyed routes only."""
    return ";".join(f"{r.method} {r.path}={','.join(r.scopes)}" for r in routes if r.scopes)


FUNCTIONS = (
    *FUNCTIONS,
    # ---- access (declared after ROUTES: the authorizer carries the route → scopes map)
    Function(
        id="authorizer",
        handler="functions.authorizer.handler.lambda_handler",
        description="API Gateway REQUEST authorizer: the x-api-key's principal and the routes its scopes reach",
        env={
            **_COMMON_ENV,
            "PRINCIPALS_TABLE": Ref(PRINCIPALS.id),
            "BOOTSTRAP_SECRET_ARN": Ref(BOOTSTRAP_KEY.id, "arn"),
            "ROUTE_SCOPES": route_scopes_env(ROUTES),
        },
        grants=(Grant(PRINCIPALS.id, "read"), Grant(BOOTSTRAP_KEY.id, "read")),
        timeout_s=5,
        memory_mb=256,
    ),
    Function(
        id="principals_api",
        handler="functions.principals_api.handler.lambda_handler",
        description="Administrators: create, list and revoke principals and their API keys",
        env={
            **_COMMON_ENV,
            "PRINCIPALS_TABLE": Ref(PRINCIPALS.id),
            **{usage_plan_env(plan.id): Ref(plan.id) for plan in USAGE_PLANS},
        },
        grants=(Grant(PRINCIPALS.id, "read_write"), *(Grant(plan.id, "manage_keys") for plan in USAGE_PLANS)),
    ),
)

QUEUE_TRIGGERS: tuple[QueueTrigger, ...] = (
    QueueTrigger(queue=ORDERS_INBOX.id, function="order_processor", batch_size=10),
    # Fulfillment: small batches, since an HTTP WMS may take seconds per order when it is slow.
    QueueTrigger(queue=DISPATCH_QUEUE.id, function="dispatcher", batch_size=5),
    # Each record is a few channel API calls; small batches keep one slow channel from holding many orders.
    QueueTrigger(queue=WRITEBACK_QUEUE.id, function="channel_writeback", batch_size=3),
    QueueTrigger(queue=AFTERSALES_INBOX.id, function="aftersale_intake", batch_size=5),
)

STREAM_TRIGGERS: tuple[StreamTrigger, ...] = (
    StreamTrigger(table=STOCK.id, function="stock_events", batch_size=100, max_batching_window_s=1),
)

SCHEDULES: tuple[Schedule, ...] = (
    Schedule(id="reservation-sweep", function="reservation_sweeper", rate_minutes=1),
    # Channels: every configured channel from its own high-water mark (JD's main path).
    Schedule(id="channel-poll", function="channel_poller", rate_minutes=2),
    # Fulfillment: stuck orders per hop; growth vs the previous run raises the monitoring alarm.
    Schedule(id="stuck-watchdog", function="watchdog", rate_minutes=5),
    # Rules: held pre-sale orders whose ship date came go through the checks and reservation again.
    Schedule(id="presale-release", function="presale_release", rate_minutes=5),
    # Merged parcels: orders whose merge window ended, grouped with their mates and handed to the dispatcher.
    Schedule(id="parcel-merge", function="parcel_merge", rate_minutes=1),
    # Write-backs not yet acknowledged, retried when their backoff (1, 2, 4 … 60 minutes) is due.
    Schedule(id="channel-writeback-retry", function="channel_writeback", rate_minutes=1),
    # Orders with a warehouse against their channels, a bounded slice per run.
    Schedule(id="reconciliation", function="reconciliation", rate_minutes=10),
)


def function(function_id: str) -> Function:
    for declared in FUNCTIONS:
        if declared.id == function_id:
            return declared
    raise KeyError(f"no function {function_id!r} in the wiring")
