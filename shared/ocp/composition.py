"""Builds the adapters each function needs, once per process; the only reader of settings.

Every function imports this module, so each builder imports its adapters, services and settings models itself: a
handler's cold start then loads only what that function uses, not every domain's adapters and settings.
"""

from __future__ import annotations

import logging
from functools import cache
from typing import TYPE_CHECKING, Any

import boto3

if TYPE_CHECKING:
    from collections.abc import Callable

    from ocp.adapters.aws.fulfillment import SqsDispatchQueue, SqsWritebackQueue
    from ocp.adapters.channels.apis import ConfiguredChannelApis
    from ocp.adapters.dynamodb.held_queue import DynamoHeldQueueQueries
    from ocp.adapters.dynamodb.order_queries import DynamoOrderQueries
    from ocp.adapters.dynamodb.orders import DynamoOrderStore
    from ocp.adapters.dynamodb.returns import DynamoReturnStore
    from ocp.adapters.dynamodb.rules import DynamoCatalogStore, DynamoRulesStore
    from ocp.adapters.dynamodb.stock import (
        DynamoStockStore,
        StockTables,
    )
    from ocp.adapters.dynamodb.warehouses import DynamoWarehouseStore
    from ocp.adapters.wms import WmsRouter
    from ocp.ports import WmsAdapter
    from ocp.services.access.principals import AccessDeps, BootstrapKey
    from ocp.services.decisions.order_path import RulesDeps
    from ocp.services.decisions.rules import RulesCache
    from ocp.services.fulfillment.callbacks import CallbackDeps
    from ocp.services.fulfillment.dispatch import DispatchDeps
    from ocp.services.fulfillment.merge import MergeRunDeps
    from ocp.services.fulfillment.reconciliation import ReconcileDeps
    from ocp.services.fulfillment.stuck import RedispatchDeps, StuckDeps
    from ocp.services.fulfillment.watchdog import WatchdogDeps
    from ocp.services.fulfillment.writeback import WritebackDeps, WritebackSweepDeps
    from ocp.services.inventory.signals import SignalDeps
    from ocp.services.inventory.stock import InventoryDeps
    from ocp.services.inventory.stock_catalog import StockCatalog
    from ocp.services.operations.catalog import CachedCatalog
    from ocp.services.operations.held_queue import HeldQueueDeps
    from ocp.services.operations.restock import RestockDeps
    from ocp.services.operations.warehouses import CachedWarehouses
    from ocp.services.order.intake import IntakeDeps
    from ocp.services.order.polling import PollingDeps
    from ocp.services.order.processing import ProcessingDeps
    from ocp.services.order.replay import ReplayDeps
    from ocp.services.returns.deps import ReturnsDeps
    from ocp.services.returns.polling import AfterSalePollDeps
    from ocp.settings.dispatch import DispatcherSettings
    from ocp.settings.returns import ReturnsSettings
    from ocp.settings.returns_books import ReturnsBooksSettings
from ocp.domain.clock import utc_now
from ocp.settings.base import channel_overrides, load, wms_secret_overrides


@cache
def _dynamodb() -> Any:
    return boto3.resource("dynamodb")


@cache
def _client(service: str) -> Any:
    return boto3.client(service)  # type: ignore[call-overload]


@cache
def intake_deps() -> IntakeDeps:
    from ocp.adapters.aws.intake import ChannelCredentialsSource, DynamoQuarantine, S3RawArchive, SqsInbox
    from ocp.services.order.intake import IntakeDeps
    from ocp.settings.intake import IntakeSettings
    settings = load(IntakeSettings)
    return IntakeDeps(
        credentials=ChannelCredentialsSource(settings.channel_secrets_arn, channel_overrides()),
        archive=S3RawArchive(_client("s3"), settings.raw_bucket),
        inbox=SqsInbox(_client("sqs"), settings.inbox_queue_url),
        quarantine=DynamoQuarantine(_dynamodb().Table(settings.quarantine_table)),
        aftersales=SqsInbox(_client("sqs"), settings.aftersales_queue_url) if settings.aftersales_queue_url else None,
    )


@cache
def replay_deps() -> ReplayDeps:
    """`replay_ops`: intake's ports (a replay is a fresh webhook), the archive listing, the quarantine's records and
    the dead-letter queues."""
    from ocp.adapters.aws.dead_letters import QueuePair, SqsCopyDeadLetters, SqsMoveTaskDeadLetters
    from ocp.adapters.aws.intake import ChannelCredentialsSource, DynamoQuarantine, S3RawArchive, SqsInbox
    from ocp.services.order.intake import IntakeDeps
    from ocp.services.order.replay import ReplayDeps
    from ocp.settings.intake import ReplaySettings
    settings = load(ReplaySettings)
    archive = S3RawArchive(_client("s3"), settings.raw_bucket)
    quarantine = DynamoQuarantine(_dynamodb().Table(settings.quarantine_table))
    intake = IntakeDeps(
        credentials=ChannelCredentialsSource(settings.channel_secrets_arn, channel_overrides()),
        archive=archive,
        inbox=SqsInbox(_client("sqs"), settings.inbox_queue_url),
        quarantine=quarantine,
        aftersales=SqsInbox(_client("sqs"), settings.aftersales_queue_url) if settings.aftersales_queue_url else None,
    )
    pairs = {q: QueuePair(queue_url=urls[0], dlq_url=urls[1]) for q, urls in settings.redrive_pairs().items()}
    dead_letters = (SqsCopyDeadLetters if settings.dlq_redrive == "copy" else SqsMoveTaskDeadLetters)(
        _client("sqs"), pairs)
    return ReplayDeps(intake=intake, listing=archive, quarantine=quarantine, now=utc_now, dead_letters=dead_letters)


@cache
def processing_deps() -> ProcessingDeps:
    from ocp.adapters.aws.intake import DynamoQuarantine, S3RawArchive
    from ocp.services.inventory.reservation import StockDeps
    from ocp.services.order.processing import ProcessingDeps
    from ocp.settings.order_path import ProcessorSettings
    settings = load(ProcessorSettings)
    orders = _deciding_orders(settings.orders_table)
    return ProcessingDeps(
        orders=orders,
        archive=S3RawArchive(_client("s3"), settings.raw_bucket),
        quarantine=DynamoQuarantine(_dynamodb().Table(settings.quarantine_table)),
        now=utc_now,
        channel_apis=_channel_apis(settings.channel_secrets_arn),
        stock=StockDeps(orders=orders, catalog=stock_catalog(), now=utc_now, peek=stock_store()),
        rules=rules_deps(),
        dispatch=dispatch_queue(),
    )


def _deciding_orders(orders_table: str) -> DynamoOrderStore:
    """The order store of the functions that place orders through the rules: stock tables and duplicate keys."""
    from ocp.adapters.dynamodb.orders import DynamoOrderStore
    from ocp.settings.order_path import DecisionSettings
    return DynamoOrderStore(_dynamodb().Table(orders_table), stock=_stock_tables(), client=_client("dynamodb"),
                            fingerprints=load(DecisionSettings).fingerprints_table)


def _channel_apis(secret_arn: str | None) -> ConfiguredChannelApis:
    from ocp.adapters.aws.intake import ChannelCredentialsSource
    from ocp.adapters.channels.apis import ConfiguredChannelApis
    from ocp.adapters.channels.http import UrllibTransport
    overrides = channel_overrides()
    return ConfiguredChannelApis(ChannelCredentialsSource(secret_arn, overrides), UrllibTransport(), utc_now, overrides)


@cache
def polling_deps() -> PollingDeps:
    from ocp.adapters.aws.intake import S3RawArchive, SqsInbox
    from ocp.adapters.dynamodb.cursors import DynamoCursorStore
    from ocp.services.order.polling import PollingDeps
    from ocp.settings.intake import PollerSettings
    settings = load(PollerSettings)
    return PollingDeps(
        apis=_channel_apis(settings.channel_secrets_arn),
        cursors=DynamoCursorStore(_dynamodb().Table(settings.cursor_table)),
        archive=S3RawArchive(_client("s3"), settings.raw_bucket),
        inbox=SqsInbox(_client("sqs"), settings.inbox_queue_url),
        now=utc_now,
    )


@cache
def aftersale_poll_deps() -> AfterSalePollDeps | None:
    """The poller's after-sale pass; None where no after-sales inbox is configured."""
    from ocp.adapters.aws.intake import SqsInbox
    from ocp.adapters.dynamodb.cursors import DynamoCursorStore
    from ocp.services.returns.polling import AfterSalePollDeps
    from ocp.settings.intake import PollerSettings
    settings = load(PollerSettings)
    if not settings.aftersales_queue_url:
        return None
    return AfterSalePollDeps(apis=_channel_apis(settings.channel_secrets_arn),
                             cursors=DynamoCursorStore(_dynamodb().Table(settings.cursor_table)),
                             inbox=SqsInbox(_client("sqs"), settings.aftersales_queue_url), now=utc_now)


@cache
def order_store() -> DynamoOrderStore:
    from ocp.adapters.dynamodb.orders import DynamoOrderStore
    from ocp.settings.orders import OperatorSettings
    return DynamoOrderStore(_dynamodb().Table(load(OperatorSettings).orders_table))


# ---- inventory ----------------------------------------------------------------------------------


def _stock_tables() -> StockTables:
    from ocp.adapters.dynamodb.stock import StockTables
    from ocp.settings.stock import StockSettings
    settings = load(StockSettings)
    return StockTables(stock=settings.stock_table, ledger=settings.stock_ledger_table,
                       inventory=settings.inventory_table)


@cache
def stock_store() -> DynamoStockStore:
    from ocp.adapters.dynamodb.stock import DynamoStockStore
    return DynamoStockStore(_client("dynamodb"), _stock_tables())


@cache
def stock_catalog() -> StockCatalog:
    """Policy and SKU locations, cached for the life of the process (refreshed every 30 s)."""
    from ocp.services.inventory.stock_catalog import StockCatalog
    return StockCatalog(stock_store())


@cache
def inventory_deps() -> InventoryDeps:
    from ocp.adapters.dynamodb.warehouses import DynamoWarehouseStore
    from ocp.services.inventory.shards import InventoryDeps
    from ocp.settings.inventory import InventoryApiSettings
    settings = load(InventoryApiSettings)
    warehouses = DynamoWarehouseStore(_dynamodb().Table(settings.warehouses_table), settings.seed_warehouses)
    return InventoryDeps(stock=stock_store(), warehouses=warehouses, now=utc_now)


@cache
def signal_deps() -> SignalDeps:
    from ocp.adapters.aws.events import EventBridgePublisher, SnsNotifier
    from ocp.adapters.dynamodb.signals import DynamoSignalStore
    from ocp.services.inventory.signals import SignalDeps
    from ocp.settings.inventory import StockEventsSettings
    settings = load(StockEventsSettings)
    return SignalDeps(
        stock=stock_store(), signals=DynamoSignalStore(_client("dynamodb"), settings.inventory_table),
        events=EventBridgePublisher(_client("events"), settings.event_bus_name),
        notifier=SnsNotifier(_client("sns"), settings.alert_topic_arn),
    )


@cache
def sweeper_orders() -> DynamoOrderStore:
    from ocp.adapters.dynamodb.orders import DynamoOrderStore
    from ocp.settings.inventory import SweeperSettings
    return DynamoOrderStore(_dynamodb().Table(load(SweeperSettings).orders_table), stock=_stock_tables(),
                            client=_client("dynamodb"))


@cache
def sweeper_inventory() -> InventoryDeps:
    # The sweeper rebalances shards it already knows; it never registers warehouses.
    from ocp.services.inventory.shards import InventoryDeps
    return InventoryDeps(stock=stock_store(), warehouses=_NoNewWarehouses(), now=utc_now)


class _NoNewWarehouses:
    def known(self, warehouse: str) -> bool:
        return False


# ---- rules and catalog --------------------------------------------------------------------------


@cache
def rules_store() -> DynamoRulesStore:
    from ocp.adapters.dynamodb.rules import DynamoRulesStore
    from ocp.settings.rules import RulesApiSettings
    return DynamoRulesStore(_dynamodb().Table(load(RulesApiSettings).rules_table))


@cache
def catalog_store() -> DynamoCatalogStore:
    from ocp.adapters.dynamodb.rules import DynamoCatalogStore
    from ocp.settings.rules import RulesApiSettings
    return DynamoCatalogStore(_dynamodb().Table(load(RulesApiSettings).catalog_table))


# ---- fulfillment --------------------------------------------------------------------------------


@cache
def order_queries() -> DynamoOrderQueries:
    from ocp.adapters.dynamodb.order_queries import DynamoOrderQueries
    from ocp.settings.orders import OperatorSettings
    return DynamoOrderQueries(_dynamodb().Table(load(OperatorSettings).orders_table))


def _fulfillment_orders(orders_table: str) -> DynamoOrderStore:
    """Stock-aware: a status change that ships or cancels an order moves its stock in the same transaction."""
    from ocp.adapters.dynamodb.orders import DynamoOrderStore
    return DynamoOrderStore(_dynamodb().Table(orders_table), stock=_stock_tables(), client=_client("dynamodb"))


@cache
def callback_deps() -> CallbackDeps:
    from ocp.services.fulfillment.callbacks import CallbackDeps
    from ocp.settings.callbacks import FulfillmentStoreSettings
    return CallbackDeps(orders=_fulfillment_orders(load(FulfillmentStoreSettings).orders_table), now=utc_now,
                        counts=stock_store())


@cache
def writeback_queue() -> SqsWritebackQueue:
    from ocp.adapters.aws.fulfillment import SqsWritebackQueue
    from ocp.settings.callbacks import CallbackSettings
    return SqsWritebackQueue(_client("sqs"), load(CallbackSettings).writeback_queue_url)


def _wms(settings: DispatcherSettings) -> WmsRouter:
    """A warehouse's WMS registered with PUT /warehouses (through the warehouses cache), else the deployed one."""
    from ocp.adapters.wms import HttpWms, SqsWms, WmsRouter, WmsSigningSecrets, connector
    secrets = WmsSigningSecrets(settings.wms_secrets_arn, wms_secret_overrides())
    static: dict[str, WmsAdapter] = {w: SqsWms(_client("sqs"), url) for w, url in settings.wms_queue_urls().items()}
    static |= {w: HttpWms(url, secrets=secrets) for w, url in settings.http_endpoints().items()}
    return WmsRouter(static, directory=cached_warehouses(), connect=connector(_client("sqs"), secrets))


@cache
def dispatch_deps() -> DispatchDeps:
    from ocp.services.fulfillment.dispatch import DispatchDeps
    from ocp.settings.dispatch import DispatcherSettings
    return DispatchDeps(orders=order_store(), wms=_wms(load(DispatcherSettings)), now=utc_now)


@cache
def merge_run_deps() -> MergeRunDeps:
    """The merge run: the merge indexes, a group's orders written at once, and the dispatch queue."""
    from ocp.adapters.aws.fulfillment import SqsDispatchQueue
    from ocp.adapters.dynamodb.merge import DynamoMergeGroups
    from ocp.services.fulfillment.merge import MergeRunDeps
    from ocp.settings.stuck import FulfillmentOpsSettings
    settings = load(FulfillmentOpsSettings)
    table = _dynamodb().Table(settings.orders_table)
    return MergeRunDeps(orders=order_store(), groups=DynamoMergeGroups(table, _client("dynamodb")),
                        queue=SqsDispatchQueue(_client("sqs"), settings.dispatch_queue_url), now=utc_now)


@cache
def writeback_deps() -> WritebackDeps:
    from ocp.adapters.channels.writeback import ChannelApiWriteback
    from ocp.adapters.dynamodb.orders import DynamoOrderStore
    from ocp.services.fulfillment.writeback import WritebackDeps
    from ocp.settings.callbacks import WritebackSettings
    settings = load(WritebackSettings)
    channel = ChannelApiWriteback(_channel_apis(settings.channel_secrets_arn))
    # Recording the channel's answer never changes a status, so this store needs no stock tables.
    orders = DynamoOrderStore(_dynamodb().Table(settings.orders_table), client=_client("dynamodb"))
    return WritebackDeps(orders=orders, channel=channel, now=utc_now)


@cache
def writeback_sweep_deps() -> WritebackSweepDeps:
    from ocp.services.fulfillment.writeback import WritebackSweepDeps
    return WritebackSweepDeps(writeback=writeback_deps(), queries=order_queries())


@cache
def reconcile_deps() -> ReconcileDeps:
    from ocp.adapters.aws.events import EventBridgePublisher
    from ocp.adapters.aws.fulfillment import DynamoCheckpoints
    from ocp.adapters.channels.writeback import ChannelApiOrders
    from ocp.services.fulfillment.reconciliation import ReconcileDeps
    from ocp.settings.dispatch import ReconciliationSettings
    settings = load(ReconciliationSettings)
    return ReconcileDeps(
        orders=_fulfillment_orders(settings.orders_table),
        queries=order_queries(),
        channels=ChannelApiOrders(_channel_apis(settings.channel_secrets_arn)),
        wms=_wms(settings),
        events=EventBridgePublisher(_client("events"), settings.event_bus_name),
        checkpoints=DynamoCheckpoints(_dynamodb().Table(settings.watchdog_table)),
        now=utc_now,
    )


@cache
def stuck_deps() -> StuckDeps:
    # The `sla` document in force, from the rules cache (the built-in default until one is stored).
    from ocp.services.decisions.rules import RulesSlaSource
    from ocp.services.fulfillment.stuck import StuckDeps
    return StuckDeps(queries=order_queries(), sla=RulesSlaSource(rules_cache()), now=utc_now,
                     returns=returns_reader())


@cache
def returns_reader() -> DynamoReturnStore | None:
    """The after-sales, for the functions that only show them (an order's timeline, the stuck report)."""
    from ocp.adapters.dynamodb.returns import DynamoReturnStore
    from ocp.settings.stuck import StuckSettings
    table = load(StuckSettings).returns_table
    return DynamoReturnStore(_dynamodb().Table(table)) if table else None


@cache
def redispatch_deps() -> RedispatchDeps:
    from ocp.adapters.aws.fulfillment import SqsDispatchQueue
    from ocp.services.fulfillment.stuck import RedispatchDeps
    from ocp.settings.stuck import FulfillmentOpsSettings
    queue = SqsDispatchQueue(_client("sqs"), load(FulfillmentOpsSettings).dispatch_queue_url)
    return RedispatchDeps(orders=order_store(), stuck=stuck_deps(), queue=queue)


@cache
def watchdog_deps() -> WatchdogDeps:
    from ocp.adapters.aws.fulfillment import DynamoWatchdogState
    from ocp.services.fulfillment.watchdog import WatchdogDeps
    from ocp.settings.stuck import WatchdogSettings
    state = DynamoWatchdogState(_dynamodb().Table(load(WatchdogSettings).watchdog_table))
    return WatchdogDeps(stuck=stuck_deps(), state=state)


# ---- rules in the order path, warehouses, the held queue -----------------------------------------

_log = logging.getLogger("ocp.composition")


def _stale(what: str, exc: Exception) -> None:
    _log.warning("serving the cached %s: refresh failed: %s", what, exc)


@cache
def rules_cache() -> RulesCache:
    """Compiled rules per kind for the life of the process; a new version is seen within 5 s."""
    from ocp.adapters.dynamodb.rules import DynamoRulesStore
    from ocp.services.decisions.rules import RulesCache
    from ocp.settings.rules import RulesTableSettings
    table = _dynamodb().Table(load(RulesTableSettings).rules_table)
    return RulesCache(DynamoRulesStore(table), ttl_s=5.0, on_error=lambda kind, exc: _stale(f"{kind} rules", exc))


@cache
def cached_catalog() -> CachedCatalog:
    from ocp.adapters.dynamodb.rules import DynamoCatalogStore
    from ocp.services.operations.catalog import CachedCatalog
    from ocp.settings.order_path import DecisionSettings
    return CachedCatalog(DynamoCatalogStore(_dynamodb().Table(load(DecisionSettings).catalog_table)))


@cache
def warehouse_store() -> DynamoWarehouseStore:
    from ocp.adapters.dynamodb.warehouses import DynamoWarehouseStore
    from ocp.settings.warehouses import WarehousesSettings
    return DynamoWarehouseStore(_dynamodb().Table(load(WarehousesSettings).warehouses_table))


def known_warehouses() -> frozenset[str]:
    from ocp.settings.warehouses import WarehousesSettings
    return load(WarehousesSettings).seed_warehouses


@cache
def cached_warehouses() -> CachedWarehouses:
    from ocp.services.operations.warehouses import CachedWarehouses
    return CachedWarehouses(warehouse_store(), seed=sorted(known_warehouses()),
                            on_error=lambda exc: _stale("warehouses", exc))


@cache
def rules_deps() -> RulesDeps:
    from ocp.services.decisions.order_path import RulesDeps
    return RulesDeps(rules=rules_cache(), catalog=cached_catalog(), warehouses=cached_warehouses())


@cache
def dispatch_queue() -> SqsDispatchQueue:
    from ocp.adapters.aws.fulfillment import SqsDispatchQueue
    from ocp.settings.order_path import DispatchSenderSettings
    return SqsDispatchQueue(_client("sqs"), load(DispatchSenderSettings).dispatch_queue_url)


@cache
def held_queue_queries() -> DynamoHeldQueueQueries:
    from ocp.adapters.dynamodb.held_queue import DynamoHeldQueueQueries
    from ocp.settings.orders import OperatorSettings
    return DynamoHeldQueueQueries(_dynamodb().Table(load(OperatorSettings).orders_table))


@cache
def held_queue_deps() -> HeldQueueDeps:
    from ocp.services.inventory.reservation import StockDeps
    from ocp.services.operations.held_queue import HeldQueueDeps
    from ocp.settings.orders import OperatorSettings
    orders = _deciding_orders(load(OperatorSettings).orders_table)
    return HeldQueueDeps(
        orders=orders, queries=held_queue_queries(),
        stock=StockDeps(orders=orders, catalog=stock_catalog(), now=utc_now, peek=stock_store()),
        rules=rules_deps(), now=utc_now, dispatch=dispatch_queue(),
    )


@cache
def restock_deps() -> RestockDeps:
    """`stock_events` retrying orders held for stock: the held queue's actions, and the stock levels."""
    from ocp.services.operations.restock import RestockDeps
    return RestockDeps(held=held_queue_deps(), stock=stock_store())


# ---- returns ----------------------------------------------------------------------------------------------


def _returns_parts(settings: ReturnsSettings) -> dict[str, Any]:
    from ocp.adapters.aws.workflows import StepFunctionsWorkflows
    from ocp.adapters.dynamodb.returns import DynamoReturnStore
    from ocp.services.returns.deps import Timing
    return {
        "returns": DynamoReturnStore(_dynamodb().Table(settings.returns_table)),
        "workflows": StepFunctionsWorkflows(_client("stepfunctions"), settings.returns_state_machine_arn),
        "timing": Timing(decision_timeout_s=settings.returns_decision_timeout_s, poll_s=settings.returns_poll_s,
                         seconds_per_minute=settings.returns_seconds_per_minute),
        "now": utc_now,
    }


def _returns_books(settings: ReturnsBooksSettings) -> dict[str, Any]:
    from ocp.services.inventory.reservation import StockDeps
    orders = _deciding_orders(settings.orders_table)
    return {
        **_returns_parts(settings), "orders": orders, "policies": rules_cache(), "catalog": cached_catalog(),
        "stock": StockDeps(orders=orders, catalog=stock_catalog(), now=utc_now, peek=stock_store()),
        "inventory": inventory_deps(), "rules": rules_deps(), "warehouses": warehouse_store(),
    }


@cache
def returns_api_deps() -> ReturnsDeps:
    """`returns_api`: requests, decisions, receipts (the stock books), settlements."""
    from ocp.services.returns.deps import ReturnsDeps
    from ocp.settings.returns_books import ReturnsBooksSettings
    return ReturnsDeps(**_returns_books(load(ReturnsBooksSettings)))


@cache
def returns_workflow_deps() -> ReturnsDeps:
    """The state machine's steps: everything an after-sale may touch, and the channels' after-sale APIs."""
    from ocp.adapters.aws.events import EventBridgePublisher, SnsNotifier
    from ocp.adapters.memory.carriers import LocalCarriers
    from ocp.services.returns.deps import ReturnsDeps
    from ocp.settings.returns_books import ReturnsWorkflowSettings
    settings = load(ReturnsWorkflowSettings)
    carriers = LocalCarriers() if settings.returns_carrier == "local" else None
    return ReturnsDeps(**_returns_books(settings), dispatch=dispatch_queue(),
                       channels=_channel_apis(settings.channel_secrets_arn), carriers=carriers,
                       events=EventBridgePublisher(_client("events"), settings.event_bus_name),
                       alerts=SnsNotifier(_client("sns"), settings.finance_topic_arn))


@cache
def aftersale_intake_deps() -> ReturnsDeps:
    """`aftersale_intake`: re-read the channel's record, upsert it, start or resume its workflow."""
    from ocp.adapters.dynamodb.orders import DynamoOrderStore
    from ocp.services.returns.deps import ReturnsDeps
    from ocp.settings.returns import ReturnsSettings
    settings = load(ReturnsSettings)
    return ReturnsDeps(**_returns_parts(settings), orders=DynamoOrderStore(_dynamodb().Table(settings.orders_table)),
                       channels=_channel_apis(settings.channel_secrets_arn))


# ---- access ----------------------------------------------------------------------------------------------------


def _bootstrap_key(secret_arn: str | None) -> Callable[[], BootstrapKey | None]:
    """The bootstrap key from its secret, re-read every 5 minutes (powertools' cache) so a rotation takes."""
    from aws_lambda_powertools.utilities.parameters import SecretsProvider

    from ocp.services.access.principals import BootstrapKey

    # A provider on this module's client (reset with the environment), not powertools' process-wide default, whose
    # client keeps the endpoint of whoever read a secret first in the process.
    provider = SecretsProvider(boto3_client=_client("secretsmanager")) if secret_arn else None

    def read() -> BootstrapKey | None:
        if provider is None or not secret_arn:
            return None
        value = provider.get(secret_arn, max_age=300, transform="json")
        if not isinstance(value, dict) or not value.get("api_key"):
            return None
        return BootstrapKey(api_key=str(value["api_key"]), principal=str(value.get("principal") or "admin"),
                            usage_key=value.get("usage_key") or None)
    return read


@cache
def authorizer_deps() -> AccessDeps:
    from ocp.adapters.dynamodb.principals import DynamoPrincipalStore
    from ocp.services.access.principals import AccessDeps
    from ocp.settings.access import AuthorizerSettings
    settings = load(AuthorizerSettings)
    return AccessDeps(principals=DynamoPrincipalStore(_dynamodb().Table(settings.principals_table)),
                      bootstrap=_bootstrap_key(settings.bootstrap_secret_arn))


@cache
def principals_deps() -> AccessDeps:
    from ocp.adapters.aws.usage_keys import ApiGatewayUsageKeys
    from ocp.adapters.dynamodb.principals import DynamoPrincipalStore
    from ocp.services.access.principals import AccessDeps
    from ocp.settings.access import PrincipalsApiSettings
    settings = load(PrincipalsApiSettings)
    plans = settings.usage_plan_ids()
    return AccessDeps(principals=DynamoPrincipalStore(_dynamodb().Table(settings.principals_table)),
                      bootstrap=_bootstrap_key(settings.bootstrap_secret_arn),
                      usage_keys=ApiGatewayUsageKeys(_client("apigateway"), plans) if plans else None)


def reset() -> None:
    """Forget every cached client and adapter (tests switch environments between cases)."""
    for cached in (_dynamodb, _client, intake_deps, replay_deps, processing_deps, order_store, polling_deps,
                   stock_store, stock_catalog, inventory_deps, signal_deps, sweeper_orders, sweeper_inventory,
                   rules_store, catalog_store,
                   order_queries, callback_deps, dispatch_deps, merge_run_deps, stuck_deps, redispatch_deps,
                   watchdog_deps,
                   writeback_queue, writeback_deps, writeback_sweep_deps, reconcile_deps,
                   rules_cache, cached_catalog, warehouse_store, cached_warehouses, rules_deps, dispatch_queue,
                   held_queue_queries, held_queue_deps, restock_deps, returns_reader, returns_api_deps,
                   returns_workflow_deps, aftersale_intake_deps, aftersale_poll_deps, authorizer_deps,
                   principals_deps):
        cached.cache_clear()
