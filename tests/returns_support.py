"""After-sales over the in-memory twins: the order path of `RulesWorld` plus the returns store, a workflow recorder
and the local carrier. Tests call the returns services and single workflow steps; the state machine itself runs on
moto in the integration and e2e tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ocp.adapters.memory.carriers import LocalCarriers
from ocp.adapters.memory.returns import MemoryReturnStore
from ocp.adapters.memory.workflows import MemoryWorkflows
from ocp.domain.order.model import Order, OrderStatus
from ocp.domain.returns.model import AfterSale
from ocp.services.inventory.stock import InventoryDeps
from ocp.services.returns.deps import ReturnsDeps
from ocp.services.returns.workflow import run_step
from tests.held_support import RulesWorld, paid_order
from tests.rules_support import line


@dataclass
class ReturnsWorld(RulesWorld):
    returns: MemoryReturnStore = field(default_factory=MemoryReturnStore)
    workflows: MemoryWorkflows = field(default_factory=MemoryWorkflows)
    carriers: LocalCarriers = field(default_factory=LocalCarriers)

    def __post_init__(self) -> None:
        super().__post_init__()
        self.deps = ReturnsDeps(
            returns=self.returns, orders=self.orders, workflows=self.workflows, now=lambda: self.now,
            policies=self.rules_cache, catalog=self.catalog_store, stock=self.stock,
            inventory=InventoryDeps(stock=self.inventory, warehouses=self._inventory_deps.warehouses,
                                    now=lambda: self.now),
            rules=self.rules, dispatch=self.dispatch, carriers=self.carriers, warehouses=self.warehouse_store)

    def reserved(self, lines: list[dict[str, Any]], order_id: str = "taobao-1001") -> Order:
        """A paid order through the real order path, reserved at WH-GZ (stock pushed first)."""
        for item in lines:
            self.push(item["sku"], 10)
        self.store(paid_order(order_id, lines=lines))
        order = self.order(order_id)
        assert order.status == OrderStatus.reserved, order.holds
        return order

    def delivered(self, lines: list[dict[str, Any]], order_id: str = "taobao-1001") -> Order:
        """A reserved order moved on to delivered (its shipment's stock movements are not what these tests see)."""
        order = self.reserved(lines, order_id)
        done = order.model_copy(update={"status": OrderStatus.delivered, "status_since": self.now})
        self.orders.put_unchecked(done)
        return done

    def step(self, step: str, return_id: str, **payload: Any) -> dict[str, Any]:
        return run_step({"step": step, "return_id": return_id, **payload}, self.deps)

    def after_sale(self, return_id: str) -> AfterSale:
        found = self.returns.get(return_id)
        assert found is not None, return_id
        return found

    def on_hand(self, sku: str, warehouse: str = "WH-GZ") -> int:
        return sum(level.on_hand for level in self.inventory.levels(sku) if level.warehouse == warehouse)


__all__ = ["ReturnsWorld", "line"]
