"""Each function's configuration, validated from the environment on first use — never at import.

A module per capability, and one per table several capabilities read (orders, stock, warehouses, rules): creating a
model costs every cold start that imports it a fraction of a millisecond, so a function imports only the modules of
the models it loads. `composition` imports each model from its module in the builder that loads it; `from
ocp.settings import X` still works, and imports X's module on first use (PEP 562).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ocp.settings.access import AuthorizerSettings as AuthorizerSettings
    from ocp.settings.access import PrincipalsApiSettings as PrincipalsApiSettings
    from ocp.settings.api import ConsoleSettings as ConsoleSettings
    from ocp.settings.base import _Settings as _Settings
    from ocp.settings.base import channel_overrides as channel_overrides
    from ocp.settings.base import dlq_url_env as dlq_url_env
    from ocp.settings.base import load as load
    from ocp.settings.base import queue_url_env as queue_url_env
    from ocp.settings.base import wms_queue_env as wms_queue_env
    from ocp.settings.base import wms_secret_overrides as wms_secret_overrides
    from ocp.settings.callbacks import CallbackSettings as CallbackSettings
    from ocp.settings.callbacks import FulfillmentStoreSettings as FulfillmentStoreSettings
    from ocp.settings.callbacks import WritebackSettings as WritebackSettings
    from ocp.settings.dispatch import DispatcherSettings as DispatcherSettings
    from ocp.settings.dispatch import ReconciliationSettings as ReconciliationSettings
    from ocp.settings.intake import IntakeSettings as IntakeSettings
    from ocp.settings.intake import PollerSettings as PollerSettings
    from ocp.settings.intake import ReplaySettings as ReplaySettings
    from ocp.settings.inventory import InventoryApiSettings as InventoryApiSettings
    from ocp.settings.inventory import StockEventsSettings as StockEventsSettings
    from ocp.settings.inventory import SweeperSettings as SweeperSettings
    from ocp.settings.order_path import DecisionSettings as DecisionSettings
    from ocp.settings.order_path import DispatchSenderSettings as DispatchSenderSettings
    from ocp.settings.order_path import ProcessorSettings as ProcessorSettings
    from ocp.settings.orders import OperatorSettings as OperatorSettings
    from ocp.settings.returns import ReturnsSettings as ReturnsSettings
    from ocp.settings.returns_books import ReturnsBooksSettings as ReturnsBooksSettings
    from ocp.settings.returns_books import ReturnsWorkflowSettings as ReturnsWorkflowSettings
    from ocp.settings.rules import RulesApiSettings as RulesApiSettings
    from ocp.settings.rules import RulesTableSettings as RulesTableSettings
    from ocp.settings.stock import StockSettings as StockSettings
    from ocp.settings.stuck import FulfillmentOpsSettings as FulfillmentOpsSettings
    from ocp.settings.stuck import StuckSettings as StuckSettings
    from ocp.settings.stuck import WatchdogSettings as WatchdogSettings
    from ocp.settings.warehouses import WarehousesSettings as WarehousesSettings

_MODULES: dict[str, tuple[str, ...]] = {
    "access": ("AuthorizerSettings", "PrincipalsApiSettings"),
    "api": ("ConsoleSettings",),
    "base": ("_Settings", "channel_overrides", "dlq_url_env", "load", "queue_url_env", "wms_queue_env",
             "wms_secret_overrides"),
    "callbacks": ("CallbackSettings", "FulfillmentStoreSettings", "WritebackSettings"),
    "dispatch": ("DispatcherSettings", "ReconciliationSettings"),
    "intake": ("IntakeSettings", "PollerSettings", "ReplaySettings"),
    "inventory": ("InventoryApiSettings", "StockEventsSettings", "SweeperSettings"),
    "order_path": ("DecisionSettings", "DispatchSenderSettings", "ProcessorSettings"),
    "orders": ("OperatorSettings",),
    "returns": ("ReturnsSettings",),
    "returns_books": ("ReturnsBooksSettings", "ReturnsWorkflowSettings"),
    "rules": ("RulesApiSettings", "RulesTableSettings"),
    "stock": ("StockSettings",),
    "stuck": ("FulfillmentOpsSettings", "StuckSettings", "WatchdogSettings"),
    "warehouses": ("WarehousesSettings",),
}
"""Each module's names, as imported above for the type checker."""

_HOME = {name: module for module, names in _MODULES.items() for name in names}


if not TYPE_CHECKING:  # the type checker reads the imports above, and flags a name that is not one of them

    def __getattr__(name: str) -> Any:
        module = _HOME.get(name)
        if module is None:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        value = getattr(import_module(f"{__name__}.{module}"), name)
        globals()[name] = value  # the next lookup finds it without this function
        return value
