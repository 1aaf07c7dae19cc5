"""A stock laboratory on any DynamoDB endpoint (DynamoDB Local, moto's server): the inventory tables under a
unique prefix, the real adapters and services over them, synthetic orders, and a request counter.

The concurrency tests and `make bench` drive the real reservation code through it.
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from infra import wiring
from infra.local.provision import table_definition
from ocp.adapters.dynamodb.orders import DynamoOrderStore
from ocp.adapters.dynamodb.rules import DynamoCatalogStore, DynamoRulesStore
from ocp.adapters.dynamodb.stock import DynamoStockStore, StockTables
from ocp.adapters.dynamodb.transactions import RetryPolicy, TransactStats
from ocp.adapters.dynamodb.warehouses import DynamoWarehouseStore
from ocp.adapters.memory.intake import MemoryQuarantine, MemoryRawArchive
from ocp.adapters.memory.warehouses import MemoryWarehouses
from ocp.domain.clock import utc_now
from ocp.domain.inventory.pushes import StockPush
from ocp.domain.inventory.stock import MAX_TRANSACTION_ITEMS
from ocp.domain.order.model import Order
from ocp.services.decisions.order_path import RulesDeps
from ocp.services.decisions.rules import RulesCache
from ocp.services.inventory.reservation import StockDeps
from ocp.services.inventory.stock import InventoryDeps, push_stock
from ocp.services.inventory.stock_catalog import StockCatalog
from ocp.services.operations.catalog import CachedCatalog
from ocp.services.operations.warehouses import CachedWarehouses
from ocp.services.order.processing import ProcessingDeps

LAB_TABLES = (wiring.ORDERS, wiring.STOCK, wiring.STOCK_LEDGER, wiring.INVENTORY)
RULE_TABLES = (wiring.RULES, wiring.CATALOG, wiring.WAREHOUSES, wiring.ORDER_FINGERPRINTS)
"""With `with_rules`: what the rules in the order path read, and the duplicate keys its transaction writes."""
READS = frozenset({"GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems"})
WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"})


class RequestCounter:
    """Counts DynamoDB HTTP requests per operation (every attempt, retries included) on the clients it watches."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def watch(self, client: Any) -> Any:
        client.meta.events.register("before-send.dynamodb", self._count)
        return client

    def _count(self, request: Any = None, event_name: str = "", **_: Any) -> None:
        operation = event_name.rsplit(".", 1)[-1]
        with self._lock:
            self.counts[operation] += 1

    def reset(self) -> None:
        with self._lock:
            self.counts.clear()

    @property
    def reads(self) -> int:
        return sum(n for op, n in self.counts.items() if op in READS)

    @property
    def writes(self) -> int:
        return sum(n for op, n in self.counts.items() if op in WRITES)


@dataclass
class StockLab:
    make_client: Callable[[], Any]
    make_resource: Callable[[], Any]
    prefix: str = field(default_factory=lambda: f"lab{uuid.uuid4().hex[:8]}-")
    counter: RequestCounter = field(default_factory=RequestCounter)
    stats: TransactStats = field(default_factory=TransactStats)
    warehouses: tuple[str, ...] = ("WH-GZ", "WH-SH", "WH-BJ")
    wrap_client: Callable[[Any], Any] = field(default=lambda client: client)
    """Wraps the transaction client of each order store (tests inject conflicts and throttling here)."""
    retry: Callable[[], RetryPolicy] = field(default=RetryPolicy)
    with_rules: bool = False
    """Orders go through the rules as in the order processor: rules, catalog and warehouses from
    per-worker caches over their tables, duplicate keys in the order's transaction."""
    transaction_items: int = MAX_TRANSACTION_ITEMS
    """The endpoint's transaction limit for the order stores (DynamoDB Local's is 10): larger changes are chunked."""

    def __post_init__(self) -> None:
        self.tables_used = LAB_TABLES + (RULE_TABLES if self.with_rules else ())
        self.names = {table.id: f"{self.prefix}{table.id}" for table in self.tables_used}
        self.tables = StockTables(stock=self.names["stock"], ledger=self.names["stock-ledger"],
                                  inventory=self.names["inventory"])
        self.client = self.counter.watch(self.make_client())
        self.stock = DynamoStockStore(self.client, self.tables)
        self.catalog = StockCatalog(self.stock)
        self.inventory = InventoryDeps(stock=self.stock, warehouses=MemoryWarehouses(set(self.warehouses)),
                                       now=utc_now)

    def create_tables(self) -> StockLab:
        for table in self.tables_used:
            definition = table_definition(table)
            definition["TableName"] = self.names[table.id]
            definition.pop("StreamSpecification", None)
            self.client.create_table(**definition)
        return self

    def drop_tables(self) -> None:
        for name in self.names.values():
            self.client.delete_table(TableName=name)

    def orders_store(self) -> DynamoOrderStore:
        """An order store with its own clients (one per worker thread, as one per Lambda container)."""
        resource = self.make_resource()
        self.counter.watch(resource.meta.client)
        client = self.wrap_client(self.counter.watch(self.make_client()))
        return DynamoOrderStore(resource.Table(self.names["orders"]), stock=self.tables, client=client,
                                retry=self.retry(), stats=self.stats, fingerprints=self.names.get("order-fingerprints"),
                                transaction_items=self.transaction_items)

    def rules_deps(self) -> RulesDeps:
        """A worker's rule caches (one per Lambda container), reading the lab's tables through counted clients."""
        resource = self.make_resource()
        self.counter.watch(resource.meta.client)
        return RulesDeps(
            rules=RulesCache(DynamoRulesStore(resource.Table(self.names["rules"]))),
            catalog=CachedCatalog(DynamoCatalogStore(resource.Table(self.names["catalog"]))),
            warehouses=CachedWarehouses(DynamoWarehouseStore(resource.Table(self.names["warehouses"])),
                                        seed=self.warehouses),
        )

    def processing(self, orders: DynamoOrderStore | None = None) -> ProcessingDeps:
        orders = orders or self.orders_store()
        return ProcessingDeps(orders=orders, archive=MemoryRawArchive(), quarantine=MemoryQuarantine(), now=utc_now,
                              stock=StockDeps(orders=orders, catalog=self.catalog, now=utc_now, peek=self.stock),
                              rules=self.rules_deps() if self.with_rules else None)

    def push(self, warehouse: str, sku: str, on_hand: int, version: int = 1, safety_stock: int | None = None) -> None:
        result = push_stock(warehouse, sku, StockPush(on_hand=on_hand, version=version, safety_stock=safety_stock),
                            self.inventory)
        if not result.applied:
            raise RuntimeError(result.message)

    def scan(self, table_id: str) -> list[dict[str, Any]]:
        from ocp.adapters.dynamodb.items import from_item

        items, kwargs = [], {"TableName": self.names[table_id], "ConsistentRead": True}
        while True:
            response = self.client.scan(**kwargs)
            items += [from_item(item) for item in response.get("Items", [])]
            if "LastEvaluatedKey" not in response:
                return items
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]


def synthetic_order(number: int, sku: str, quantity: int = 1, *, buyer_id: str | None = None,
                    status: str = "received", channel: str = "shopify", unit_price: int = 1990,
                    lines: list[tuple[str, int]] | None = None) -> Order:
    """A valid, paid (by default) unified order for load and race tests."""
    at = datetime(2026, 11, 11, 12, 0, tzinfo=UTC)
    pairs = lines or [(sku, quantity)]
    order_lines: list[dict[str, Any]] = [
        {"line_id": f"{number}-{i}", "sku": line_sku, "quantity": line_quantity, "unit_price": unit_price,
         "paid": unit_price * line_quantity}
        for i, (line_sku, line_quantity) in enumerate(pairs)
    ]
    total = unit_price * sum(line_quantity for _, line_quantity in pairs)
    return Order.model_validate({
        "order_id": f"{channel}-{number}", "channel": channel, "channel_order_id": str(number),
        "status": status, "status_since": at, "created_at": at,
        "paid_at": at if status == "received" else None, "channel_updated_at": at, "currency": "CNY",
        "amounts": {"items": total, "discount": 0, "shipping": 0, "paid": total},
        "address": {"country": "CN", "province": "广东省", "city": "广州市"},
        "buyer_id": buyer_id, "lines": order_lines,
    })


def checked_order(number: int, sku: str, **changes: Any) -> Order:
    """A synthetic paid order that passes every built-in check: buyer n, a real district, buyer n's
    mobile. `address` changes merge into the address; other changes replace fields."""
    order = synthetic_order(number, sku)
    address = order.address.model_copy(update={"district": "天河区", "detail": "天河路385号",
                                               "phone": f"139{number % 10**8:08d}", **changes.pop("address", {})})
    return order.model_copy(update={"buyer_id": f"buyer-{number}", "address": address, **changes})
