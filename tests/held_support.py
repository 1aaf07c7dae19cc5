"""A whole order path over the in-memory twins: stock, rules, catalog, warehouses, the held queue and
the dispatch queue — what the unit tests of routing, the held queue and the presale release drive."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ocp.adapters.memory.fulfillment import MemoryDispatchQueue, MemoryFulfillmentOrders
from ocp.adapters.memory.held_queue import MemoryHeldQueue
from ocp.adapters.memory.intake import MemoryQuarantine, MemoryRawArchive
from ocp.adapters.memory.inventory import MemoryInventory
from ocp.adapters.memory.rules import MemoryCatalogStore, MemoryRulesStore
from ocp.adapters.memory.warehouses import MemoryWarehouses, MemoryWarehouseStore
from ocp.domain.inventory.pushes import StockPush
from ocp.domain.operations.catalog import CatalogItem
from ocp.domain.operations.warehouses import Warehouse
from ocp.domain.order.model import Order
from ocp.services.decisions.order_path import RulesDeps
from ocp.services.decisions.rules import RulesCache, put_rules
from ocp.services.inventory.reservation import StockDeps
from ocp.services.inventory.stock import InventoryDeps, push_stock
from ocp.services.inventory.stock_catalog import StockCatalog
from ocp.services.operations.catalog import CachedCatalog
from ocp.services.operations.held_queue import HeldQueueDeps
from ocp.services.operations.warehouses import CachedWarehouses
from ocp.services.order.processing import Processed, ProcessingDeps, store_order
from tests.rules_support import make_order

T0 = datetime(2026, 11, 11, 4, 5, 13, tzinfo=UTC)
SEED = ("WH-GZ", "WH-SH", "WH-BJ")


@dataclass
class RulesWorld:
    now: datetime = T0
    inventory: MemoryInventory = field(default_factory=MemoryInventory)
    rules_store: MemoryRulesStore = field(default_factory=MemoryRulesStore)
    catalog_store: MemoryCatalogStore = field(default_factory=MemoryCatalogStore)
    warehouse_store: MemoryWarehouseStore = field(default_factory=MemoryWarehouseStore)
    dispatch: MemoryDispatchQueue = field(default_factory=MemoryDispatchQueue)
    clock_s: float = 0.0
    """The caches' clock (seconds): move it past a TTL to see a change."""

    def __post_init__(self) -> None:
        self.orders = MemoryFulfillmentOrders(self.inventory)  # the order store that also answers OrderQueries
        self.stock_catalog = StockCatalog(self.inventory, clock=lambda: self.clock_s)
        self.stock = StockDeps(orders=self.orders, catalog=self.stock_catalog, now=lambda: self.now,
                               peek=self.inventory)
        self.rules_cache = RulesCache(self.rules_store, clock=lambda: self.clock_s)
        self.rules = RulesDeps(
            rules=self.rules_cache,
            catalog=CachedCatalog(self.catalog_store, clock=lambda: self.clock_s),
            warehouses=CachedWarehouses(self.warehouse_store, seed=SEED, clock=lambda: self.clock_s),
        )
        self.processing = ProcessingDeps(orders=self.orders, archive=MemoryRawArchive(),
                                         quarantine=MemoryQuarantine(), now=lambda: self.now, stock=self.stock,
                                         rules=self.rules, dispatch=self.dispatch)
        self.held = HeldQueueDeps(orders=self.orders, queries=MemoryHeldQueue(self.orders), stock=self.stock,
                                  rules=self.rules, now=lambda: self.now, dispatch=self.dispatch)
        self._inventory_deps = InventoryDeps(stock=self.inventory, warehouses=MemoryWarehouses(set(SEED) | {"BW-HZ"}),
                                             now=lambda: self.now)
        self._versions: Counter[tuple[str, str]] = Counter()

    # ---- setting the world up ------------------------------------------------------------------------------

    def push(self, sku: str, on_hand: int, warehouse: str = "WH-GZ") -> None:
        self._versions[(warehouse, sku)] += 1
        push_stock(warehouse, sku, StockPush(on_hand=on_hand, version=self._versions[(warehouse, sku)]),
                   self._inventory_deps)
        self.stock_catalog.forget()

    def put_rules(self, kind: str, document: dict[str, Any]) -> None:
        put_rules(self.rules_store, kind, document, self.now)
        self.rules_cache.invalidate()

    def warehouse(self, warehouse_id: str, **fields: Any) -> None:
        self.warehouse_store.put(Warehouse(warehouse_id=warehouse_id, **fields))
        self.clock_s += 60  # past the directory's TTL

    def catalog(self, *items: CatalogItem) -> None:
        self.catalog_store.put_many(items)

    # ---- driving it --------------------------------------------------------------------------------------

    def store(self, order: Order) -> Processed:
        return store_order(order, self.now, self.processing)

    def order(self, order_id: str = "taobao-1001") -> Order:
        found = self.orders.get(order_id)
        assert found is not None, order_id
        return found

    def available(self, sku: str, warehouse: str = "WH-GZ") -> int:
        return sum(level.available for level in self.inventory.levels(sku) if level.warehouse == warehouse)


def paid_order(order_id: str = "taobao-1001", *, province: str = "广东省", city: str = "广州市",
               district: str = "天河区", lines: list[dict[str, Any]] | None = None, **changes: Any) -> Order:
    """A paid Taobao order that passes every built-in check (a real address, a valid mobile, no note); orders with
    different ids have different buyers' phones (the same phone and items would be a duplicate suspect)."""
    number = order_id.rsplit("-", 1)[-1]
    phone = f"138{int(number) % 10**8:08d}" if number.isdigit() else "13800138000"
    address = {"province": province, "city": city, "district": district, "phone": phone,
               **changes.pop("address", {})}
    return make_order(lines, order_id=order_id, channel_order_id=number, address=address, **changes)


def shopify_document(n: int, sku: str, *, price: str = "99.00", quantity: int = 1, province: str = "广东省",
                     city: str = "广州市", address1: str = "天河区天河路385号", customer: int | None = None,
                     note: str | None = None) -> dict[str, Any]:
    """Buyer n's one-line paid Shopify order (no discount, free shipping), as the webhook delivers it."""
    import copy

    from tests.support import fixture_json

    doc = copy.deepcopy(fixture_json("channels/shopify/orders_create.cn_discounted.json"))
    order_id, customer_id = 6_200_000_000_000_000_000 + n, customer or 8_200_000_000_000_000_000 + n
    total = f"{float(price) * quantity:.2f}"
    money = {"shop_money": {"amount": total, "currency_code": "CNY"},
             "presentment_money": {"amount": total, "currency_code": "CNY"}}
    zero = {"shop_money": {"amount": "0.00", "currency_code": "CNY"},
            "presentment_money": {"amount": "0.00", "currency_code": "CNY"}}
    doc.update(id=order_id, admin_graphql_api_id=f"gid://shopify/Order/{order_id}", name=f"#H{n}", note=note,
               total_line_items_price=total, total_discounts="0.00", subtotal_price=total, total_price=total,
               total_price_set=money, total_shipping_price_set=zero, discount_codes=[], discount_applications=[],
               shipping_lines=[],
               customer={"id": customer_id, "admin_graphql_api_id": f"gid://shopify/Customer/{customer_id}"})
    doc["shipping_address"] = doc["shipping_address"] | {"province": province, "city": city, "address1": address1}
    doc["line_items"] = [doc["line_items"][0] | {
        "id": 13_390_000 + n, "admin_graphql_api_id": f"gid://shopify/LineItem/{n}", "sku": sku, "title": sku,
        "quantity": quantity, "price": price, "discount_allocations": []}]
    return doc
