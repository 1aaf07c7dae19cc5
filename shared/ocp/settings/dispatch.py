"""Senders of warehouse instructions: the dispatcher and the reconciliation."""

import json
import os

from ocp.settings.base import wms_queue_env
from ocp.settings.warehouses import WarehousesSettings


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


class ReconciliationSettings(DispatcherSettings):
    stock_table: str
    stock_ledger_table: str
    inventory_table: str
    watchdog_table: str
    """Where the run's checkpoints are kept (the watchdog's state table)."""
    event_bus_name: str
    channel_secrets_arn: str | None = None
