"""What the returns services talk through, and the workflow's timing."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:  # fields' types only: e.g. the order path loads where an after-sale places or changes an order
    from ocp.channels.aftersales.base import AfterSaleApi
    from ocp.domain.decisions.rules.engine import RuleSet
    from ocp.domain.operations.catalog import CatalogItem
    from ocp.domain.operations.warehouses import Warehouse
    from ocp.ports import (
        Carriers,
        DispatchQueue,
        EventPublisher,
        Notifier,
        ReturnStore,
        TransactionalOrderStore,
        Workflows,
    )
    from ocp.services.decisions.order_path import RulesDeps
    from ocp.services.inventory.reservation import StockDeps
    from ocp.services.inventory.shards import InventoryDeps


class RuleKinds(Protocol):
    def get(self, kind: str) -> RuleSet[Any]: ...


class CatalogReader(Protocol):
    def get_many(self, skus: Iterable[str]) -> dict[str, CatalogItem]: ...


class AfterSaleApis(Protocol):
    def aftersale_api(self, channel: str) -> AfterSaleApi:
        """`ChannelNotConfigured` when the channel has no API configured."""


class WarehouseLookup(Protocol):
    def get(self, warehouse_id: str) -> Warehouse | None: ...


@dataclass(frozen=True)
class Timing:
    """How long the workflow waits, in seconds. `seconds_per_minute` scales the policy's minutes (60 in AWS; tests
    and `ocp local` run a minute in a fraction of a second)."""

    decision_timeout_s: int = 24 * 3600
    poll_s: int = 60
    seconds_per_minute: float = 60.0
    deadline_margin_s: int = 3600
    """Escalate a pending decision this long before the channel's own deadline."""
    intercept_timeout_s: int = 24 * 3600
    """A warehouse that has not answered a stop by then is taken to have shipped (the after-sale becomes a return)."""

    def minutes(self, minutes: int) -> int:
        return max(1, math.ceil(minutes * self.seconds_per_minute))

    def decision_timeout(self, now: datetime, deadline: datetime | None) -> int:
        if deadline is None:
            return self.decision_timeout_s
        before_deadline = int((deadline - now).total_seconds()) - self.deadline_margin_s
        return max(1, min(self.decision_timeout_s, before_deadline))

    def execution_input(self, return_id: str, now: datetime, deadline: datetime | None) -> Mapping[str, Any]:
        return {"return_id": return_id, "timing": {"decision_timeout_s": self.decision_timeout(now, deadline),
                                                   "poll_s": max(1, self.poll_s)}}


@dataclass(frozen=True)
class ReturnsDeps:
    returns: ReturnStore
    orders: TransactionalOrderStore
    workflows: Workflows
    now: Callable[[], datetime]
    policies: RuleKinds | None = None
    """The return_policy rules (validate, decide, `POST /returns`)."""
    catalog: CatalogReader | None = None
    timing: Timing = Timing()
    stock: StockDeps | None = None
    """Intercepts release the stock of the lines that leave the order; replacements reserve theirs."""
    inventory: InventoryDeps | None = None
    """Receipts put returned units on the books."""
    rules: RulesDeps | None = None
    dispatch: DispatchQueue | None = None
    channels: AfterSaleApis | None = None
    carriers: Carriers | None = None
    warehouses: WarehouseLookup | None = None
    events: EventPublisher | None = None
    alerts: Notifier | None = None

    def policy_inputs(self) -> tuple[RuleKinds, CatalogReader]:
        if self.policies is None or self.catalog is None:
            raise RuntimeError("return policies need the rules and the catalog (composition)")
        return self.policies, self.catalog
