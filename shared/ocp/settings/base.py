"""What every settings model shares: the base, `load`, and the environment variables' naming rules."""

import os
from collections.abc import Mapping
from typing import TypeVar

from pydantic import ConfigDict

from ocp.base_model import OcpModel


class _Settings(OcpModel):
    # Each function loads one of these models: the validators are built on that first `load`, not for every model
    # at import (which cost every cold start a few milliseconds per model).
    model_config = ConfigDict(frozen=True, extra="ignore", defer_build=True)


S = TypeVar("S", bound=_Settings)


def load(model: type[S]) -> S:
    """Read the model's fields from upper-case env vars; a missing one fails loudly, naming the variable."""
    return model.model_validate({name: os.environ[name.upper()] for name in model.model_fields
                                 if name.upper() in os.environ})


def queue_url_env(queue_id: str) -> str:
    """`orders-inbox` → `QUEUE_URL_ORDERS_INBOX` (and `dlq_url_env`: `DLQ_URL_ORDERS_INBOX`), as wiring names them."""
    return "QUEUE_URL_" + "".join(c if c.isalnum() else "_" for c in queue_id.upper())


def dlq_url_env(queue_id: str) -> str:
    return "DLQ_" + queue_url_env(queue_id)[len("QUEUE_"):]


def wms_queue_env(warehouse: str) -> str:
    """`WH-GZ` → `WMS_QUEUE_URL_WH_GZ`: the variable holding that warehouse's WMS queue (the same rule as wiring)."""
    return "WMS_QUEUE_URL_" + "".join(c if c.isalnum() else "_" for c in warehouse.upper())


def channel_overrides() -> Mapping[str, str]:
    """Per-channel settings read on every use, so a changed value applies without a restart: the local runtime's
    `OCP_CHANNEL_SECRET_<CH>` / `_APP_KEY_` / `_ACCESS_TOKEN_` and `OCP_CHANNEL_API_URL_<CH>`."""
    return os.environ


def wms_secret_overrides() -> Mapping[str, str]:
    """Per-warehouse WMS signing secrets read on every use: the local runtime's `OCP_WMS_SECRET_<WAREHOUSE>` (the id
    upper-cased, any character but a letter or digit as `_`: `WH-GZ` → `OCP_WMS_SECRET_WH_GZ`), before the secret."""
    return os.environ
