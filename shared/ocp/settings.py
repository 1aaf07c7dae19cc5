"""Each function's configuration, validated from the environment on first use — never at import."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import TypeVar

from pydantic import ConfigDict

from ocp.base_model import OcpModel


class _Settings(OcpModel):
    # Each function loads one of these models: the validators are built on that first `load`, not for every model
    # at import (which cost every cold start a few milliseconds per model).
    model_config = ConfigDict(frozen=True, extra="ignore", defer_build=True)


class IntakeSettings(_Settings):
    raw_bucket: str
    inbox_queue_url: str
    quarantine_table: str
    channel_secrets_arn: str | None = None
    aftersales_queue_url: str | None = None
    """The channels' after-sale pushes; unset: they go to the orders inbox like any message."""


def queue_url_env(queue_id: str) -> str:
    """`orders-inbox` → `QUEUE_URL_ORDERS_INBOX` (and `dlq_url_env`: `DLQ_URL_ORDERS_INBOX`), as wiring names them."""
    return "QUEUE_URL_" + "".join(c if c.isalnum() else "_" for c in queue_id.upper())


def dlq_url_env(queue_id: str) -> str:
    return "DLQ_" + queue_url_env(queue_id)[len("QUEUE_"):]


class ReplaySettings(IntakeSettings):
    """`replay_ops`: intake's resources, and the queues whose dead letters may be redriven."""

    redrive_queues: str = ""
    """Comma-separated queue ids; each queue's URL in `queue_url_env(id)`, its DLQ's in `dlq_url_env(id)`."""
    dlq_redrive: str = "move_task"
    """`move_task`: SQS `StartMessageMoveTask`; `copy`: receive, send, delete (the local runtime's SQS has no move
    tasks)."""

    def redrive_pairs(self) -> dict[str, tuple[str, str]]:
        """Queue id → (queue URL, DLQ URL)."""
        ids = [q.strip() for q in self.redrive_queues.split(",") if q.strip()]
        missing = [v for q in ids for v in (queue_url_env(q), dlq_url_env(q)) if v not in os.environ]
        if missing:
            raise KeyError(f"queue URL not set: {', '.join(missing)}")
        return {q: (os.environ[queue_url_env(q)], os.environ[dlq_url_env(q)]) for q in ids}


class ProcessorSettings(_Settings):
    orders_table: str
    quarantine_table: str
    raw_bucket: str
    channel_secrets_arn: str | None = None
    """Credentials for pulling thin messages' full orders."""


class OperatorSettings(_Settings):
    orders_table: str


class PollerSettings(_Settings):
    """The channel poller: cursors, where polled documents go, and the channels' credentials."""

    cursor_table: str
    inbox_queue_url: str
    raw_bucket: str
    channel_secrets_arn: str | None = None
    aftersales_queue_url: str | None = None
    """Where polled after-sales go; unset: after-sales are not polled."""


class RulesApiSettings(_Settings):
    """The rules and catalog API."""

    rules_table: str
    catalog_table: str


class RulesTableSettings(_Settings):
    """Readers of the rules cache only (the stuck report's `sla` document)."""

    rules_table: str


def _id_set(text: str) -> frozenset[str]:
    return frozenset(part.strip() for part in text.split(",") if part.strip())


class WarehousesSettings(_Settings):
    """The warehouses registry: the table, and the warehouses known from configuration."""

    warehouses_table: str
    known_warehouses: str = ""
    """Comma-separated warehouse ids known before any is registered in the warehouses table."""

    @property
    def seed_warehouses(self) -> frozenset[str]:
        return _id_set(self.known_warehouses)


class DecisionSettings(RulesTableSettings, WarehousesSettings):
    """What the rules in the order path read: rules, catalog, warehouses, and the duplicate keys."""

    catalog_table: str
    fingerprints_table: str


class DispatchSenderSettings(_Settings):
    """Functions that hand newly reserved orders to the dispatcher."""

    dispatch_queue_url: str


S = TypeVar("S", bound=_Settings)


def load(model: type[S]) -> S:
    """Read the model's fields from upper-case env vars; a missing one fails loudly, naming the variable."""
    return model.model_validate({name: os.environ[name.upper()] for name in model.model_fields
                                 if name.upper() in os.environ})


# ---- inventory ----------------------------------------------------------------------------------


class StockSettings(_Settings):
    stock_table: str
    stock_ledger_table: str
    inventory_table: str


class InventoryApiSettings(StockSettings, WarehousesSettings):
    pass


class StockEventsSettings(StockSettings):
    event_bus_name: str
    alert_topic_arn: str


class SweeperSettings(StockSettings):
    orders_table: str


# ---- fulfillment --------------------------------------------------------------------------------


def wms_queue_env(warehouse: str) -> str:
    """`WH-GZ` → `WMS_QUEUE_URL_WH_GZ`: the variable holding that warehouse's WMS queue (the same rule as wiring)."""
    return "WMS_QUEUE_URL_" + "".join(c if c.isalnum() else "_" for c in warehouse.upper())


class DispatcherSettings(WarehousesSettings):
    """Senders of warehouse instructions: a warehouse's WMS registered in the warehouses table wins over these."""

    orders_table: str
    wms_warehouses: str = ""
    """Comma-separated warehouses whose WMS consumes an SQS queue; each queue's URL in `wms_queue_env(w)`."""
    wms_http_endpoints: str = "{}"
    """JSON `{"<warehouse>": "https://..."}` for WMSs that take pushes (wins over a queue for the same warehouse)."""
    wms_secrets_arn: str | None = None
    """The JSON secret `{"<warehouse>": "<secret>"}` HTTP instructions are signed with (`wms_secret_overrides`)."""

    def wms_queue_urls(self) -> dict[str, str]:
        warehouses = [w.strip() for w in self.wms_warehouses.split(",") if w.strip()]
        missing = [wms_queue_env(w) for w in warehouses if wms_queue_env(w) not in os.environ]
        if missing:
            raise KeyError(f"WMS queue URL not set: {', '.join(missing)}")
        return {w: os.environ[wms_queue_env(w)] for w in warehouses}

    def http_endpoints(self) -> dict[str, str]:
        parsed = json.loads(self.wms_http_endpoints or "{}")
        if not isinstance(parsed, dict) or not all(isinstance(v, str) for v in parsed.values()):
            raise ValueError("WMS_HTTP_ENDPOINTS must be a JSON object of warehouse → URL")
        return parsed


class FulfillmentOpsSettings(_Settings):
    orders_table: str
    dispatch_queue_url: str


class WatchdogSettings(_Settings):
    orders_table: str
    watchdog_table: str


class StuckSettings(_Settings):
    returns_table: str | None = None
    """After-sales for the report's after-sale hops; unset: the report shows orders only."""


class FulfillmentStoreSettings(StockSettings):
    """Functions that change orders' statuses: the orders table and the stock tables their commits move."""

    orders_table: str


class CallbackSettings(FulfillmentStoreSettings):
    writeback_queue_url: str


class WritebackSettings(_Settings):
    orders_table: str
    channel_secrets_arn: str | None = None


class ReconciliationSettings(DispatcherSettings):
    stock_table: str
    stock_ledger_table: str
    inventory_table: str
    watchdog_table: str
    """Where the run's checkpoints are kept (the watchdog's state table)."""
    event_bus_name: str
    channel_secrets_arn: str | None = None


def channel_overrides() -> Mapping[str, str]:
    """Per-channel settings read on every use, so a changed value applies without a restart: the local runtime's
    `OCP_CHANNEL_SECRET_<CH>` / `_APP_KEY_` / `_ACCESS_TOKEN_` and `OCP_CHANNEL_API_URL_<CH>`."""
    return os.environ


def wms_secret_overrides() -> Mapping[str, str]:
    """Per-warehouse WMS signing secrets read on every use: the local runtime's `OCP_WMS_SECRET_<WAREHOUSE>` (the id
    upper-cased, any character but a letter or digit as `_`: `WH-GZ` → `OCP_WMS_SECRET_WH_GZ`), before the secret."""
    return os.environ


class ReturnsSettings(_Settings):
    """After-sales: their table and workflow, and how long the workflow waits (seconds; `ocp local` and the tests
    shorten them, `returns_seconds_per_minute` scales the return policy's minutes)."""

    returns_table: str
    returns_state_machine_arn: str
    orders_table: str
    channel_secrets_arn: str | None = None
    returns_decision_timeout_s: int = 24 * 3600
    returns_poll_s: int = 60
    returns_seconds_per_minute: float = 60.0
    returns_carrier: str | None = None
    """`local`: web-store return pickups are booked with the local carrier; unset: none is booked (the buyer
    sends the goods back to the warehouse's return address)."""


class ReturnsBooksSettings(ReturnsSettings, StockSettings, DecisionSettings):
    """The returns API and workflow: they also change orders and the stock books."""


class ReturnsWorkflowSettings(ReturnsBooksSettings, DispatchSenderSettings):
    event_bus_name: str
    finance_topic_arn: str


# ---- the operator console -----------------------------------------------------------------------


class ConsoleSettings(_Settings):
    """Where the operator console is served from, for the API functions' CORS headers."""

    console_origin: str | None = None
    """`https://<the console's CloudFront domain>`; unset (locally the console shares the API's origin): no
    cross-origin caller is answered with CORS headers."""


# ---- access -------------------------------------------------------------------------------------------------


class AuthorizerSettings(_Settings):
    principals_table: str
    bootstrap_secret_arn: str | None = None
    """`{"api_key", "principal", "usage_key"}`: the key with every scope (locally `OCP_API_KEY`, principal `local`)."""
    route_scopes: str
    """The route → scopes map (`infra.wiring.route_scopes_env`)."""


class PrincipalsApiSettings(_Settings):
    principals_table: str
    bootstrap_secret_arn: str | None = None

    def usage_plan_ids(self) -> dict[str, str]:
        """Principal kind → usage plan id, from `USAGE_PLAN_ID_<KIND>` (`infra.wiring.usage_plan_env`); empty
        where no plan is wired, and then principals get no throttle key."""
        prefix = "USAGE_PLAN_ID_"
        return {name[len(prefix):].lower(): value for name, value in os.environ.items()
                if name.startswith(prefix) and value}
