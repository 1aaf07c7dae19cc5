"""Write and read units per order, from DynamoDB's own consumed-capacity figures (`make bench`).

One order at a time goes the real way through the services the functions call, against AWS's DynamoDB Local:
the order processor's `store_order` (decide + reserve, one transaction), the dispatcher's `dispatch`, the
fulfillment callback's `record_callback` (shipped: the order and its stock in one transaction) and the channel
write-back's `write_back`. Every request asks for `ReturnConsumedCapacity=INDEXES`; the units are summed per
table and per index. The webhook (ingest) writes to S3 and SQS only: no DynamoDB units.

The same orders run twice in one process, on the indexes as declared and on the layout before it (the status
index keyed by status alone, every index projecting ALL attributes), so the two figures are comparable.

DynamoDB Local (the 2020 build) sizes items and index copies as DynamoDB does (1 write unit per KB, an index
written only when its keys or projected attributes change, 2 units for a delete + put when a key moves), and it
prices a transactional write at 2 units per KB per item, except a one-item transaction, which it prices at 4.
It never throttles, so these are units, not a proof of throughput. Local prices every item of a transaction at
twice DynamoDB's documented 2 units per KB (a 200-byte ledger entry shows 4), so the rows give both: the units as
Local reports them, and priced as DynamoDB documents (Local's transactional units halved), which the capacity model
(docs/CAPACITY.md) uses.
"""

from __future__ import annotations

import random
import threading
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from infra import wiring
from infra.local.dynamodb_local import DynamoDBLocal
from infra.local.provision import table_definition
from infra.local.stock_lab import StockLab
from ocp.adapters.memory.fulfillment import MemoryWms, ScriptedWriteback
from ocp.channels.registry import adapter_for
from ocp.domain.errors import UnmappableDocument
from ocp.domain.fulfillment.callbacks import FulfillmentEvent
from ocp.domain.fulfillment.dispatch import DispatchRequest
from ocp.domain.order.model import Order, OrderStatus
from ocp.services.fulfillment.callbacks import CallbackDeps, record_callback
from ocp.services.fulfillment.dispatch import DispatchDeps, dispatch
from ocp.services.fulfillment.writeback import WritebackDeps, write_back
from ocp.services.order.processing import store_order

_CAPACITY_OPERATIONS = frozenset({"PutItem", "UpdateItem", "DeleteItem", "GetItem", "Query", "Scan", "BatchGetItem",
                                  "BatchWriteItem", "TransactWriteItems", "TransactGetItems"})
_WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"})
STEPS = ("decide + reserve", "dispatch", "shipped", "write-back")


@dataclass
class CapacityMeter:
    """Sums `ConsumedCapacity` per (order, step, read/write, table or `table/index`) on the clients it watches."""

    order: str = ""
    step: str = ""
    units: defaultdict[tuple[str, str, str, str], float] = field(default_factory=lambda: defaultdict(float))
    transactional: defaultdict[tuple[str, str, str, str], float] = field(default_factory=lambda: defaultdict(float))
    """The part of `units` written in transactions."""
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def watch(self, client: Any) -> Any:
        # First: the resource API copies the parameters in a handler of its own, after which a change is lost.
        client.meta.events.register_first("provide-client-params.dynamodb", self._ask)
        client.meta.events.register("after-call.dynamodb", self._add)
        return client

    def watch_resource(self, resource: Any) -> Any:
        self.watch(resource.meta.client)
        return resource

    def _ask(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        if model.name in _CAPACITY_OPERATIONS:
            params.setdefault("ReturnConsumedCapacity", "INDEXES")

    def _add(self, parsed: dict[str, Any], model: Any, **_: Any) -> None:
        consumed = parsed.get("ConsumedCapacity")
        kind = "write" if model.name in _WRITES else "read"
        sums = [self.units, self.transactional] if model.name.startswith("Transact") else [self.units]
        for entry in consumed if isinstance(consumed, list) else [consumed] if consumed else []:
            table = _logical(entry["TableName"])
            with self._lock:
                key = (self.order, self.step, kind)
                for sum_ in sums:
                    sum_[(*key, table)] += float(entry.get("Table", {}).get("CapacityUnits", 0))
                    for index, used in entry.get("GlobalSecondaryIndexes", {}).items():
                        sum_[(*key, f"{table}/{index}")] += float(used.get("CapacityUnits", 0))

    def per_order(self, orders: set[str], kind: str, by: Callable[[str, str], str],
                  priced: bool = False) -> dict[str, float]:
        """Mean units of `kind` over `orders`, grouped by `by(step, target)`; `priced`: transactional units
        halved, to DynamoDB's documented price."""
        found: defaultdict[str, float] = defaultdict(float)
        for key, units in self.units.items():
            order, step, k, target = key
            if k == kind and order in orders:
                found[by(step, target)] += (units - self.transactional[key] / 2 if priced else units) / len(orders)
        return dict(found)


def _logical(table_name: str) -> str:
    """`lab1a2b3c4d-orders` → `orders`."""
    return table_name.split("-", 1)[1] if table_name.startswith("lab") else table_name


def legacy_orders_definition(definition: dict[str, Any]) -> dict[str, Any]:
    """The `orders` table as it was before the index review: status index on `status`, every index ALL."""
    indexes = []
    for index in definition["GlobalSecondaryIndexes"]:
        if index["IndexName"] == "by_status_bucket":
            index = {"IndexName": "by_status", "KeySchema": [{"AttributeName": "status", "KeyType": "HASH"},
                                                              {"AttributeName": "status_since", "KeyType": "RANGE"}]}
        indexes.append(index | {"Projection": {"ProjectionType": "ALL"}})
    names = {a["AttributeName"] for a in definition["AttributeDefinitions"]} - {"status_bucket"} | {"status"}
    return definition | {"GlobalSecondaryIndexes": indexes,
                         "AttributeDefinitions": [{"AttributeName": n, "AttributeType": "S"} for n in sorted(names)]}


def _create_tables(lab: StockLab, legacy: bool) -> None:
    for table in lab.tables_used:
        definition = table_definition(table)
        if legacy and table.id == wiring.ORDERS.id:
            definition = legacy_orders_definition(definition)
        if legacy:  # before the review every index projected ALL
            for index in definition.get("GlobalSecondaryIndexes", []):
                index["Projection"] = {"ProjectionType": "ALL"}
        definition["TableName"] = lab.names[table.id]
        definition.pop("StreamSpecification", None)
        lab.client.create_table(**definition)


def realistic_orders(count: int, seed: int = 11) -> list[Order]:
    """Orders mapped from the channels' documents (the decision benchmark's mix): their items have the size of
    real ones (addresses, several lines, notes, the channel's ids), which is what write units depend on."""
    from benchmarks.bench_decisions import order_documents

    orders: list[Order] = []
    for channel, document in order_documents(count * 3, random.Random(seed)):
        try:
            order = adapter_for(channel).to_order(document)
        except UnmappableDocument:  # a refused document is not an order; the mix has a few
            continue
        if order.status == OrderStatus.received and not order.presale and order.cross_border is None:
            orders.append(order)
        if len(orders) == count:
            break
    return orders


@dataclass(frozen=True)
class PathUnits:
    """Mean units per order over the orders that shipped (the others were held by the checks: not this path)."""

    orders: int
    shipped: int
    writes: dict[str, float]
    """As DynamoDB Local reports them, per table or `table/index`."""
    priced: dict[str, float]
    """The same at DynamoDB's documented transactional price."""
    reads: dict[str, float]
    writes_per_step: dict[str, float]
    priced_per_step: dict[str, float]


def order_path_units(ddb: DynamoDBLocal, orders: list[Order], *, legacy: bool = False) -> PathUnits:
    """Units per order through decide + reserve, dispatch, shipped and write-back."""
    meter = CapacityMeter()
    lab = StockLab(lambda: meter.watch(ddb.client()), lambda: meter.watch_resource(ddb.resource()), with_rules=True)
    _create_tables(lab, legacy)
    try:
        for sku in {line.sku for order in orders for line in order.lines if line.sku}:
            lab.push("WH-GZ", sku, on_hand=10_000)
        store = lab.orders_store()
        deps = lab.processing(store)
        lab.catalog.policy()  # a warm processor: stock configuration and rules cached before the first order
        meter.units.clear()
        meter.transactional.clear()
        now = datetime.now(UTC)
        dispatching = DispatchDeps(orders=store, wms=MemoryWms(), now=lambda: now)
        shipping = CallbackDeps(orders=store, now=lambda: now)
        writing_back = WritebackDeps(orders=store, channel=ScriptedWriteback(), now=lambda: now)
        steps: list[tuple[str, Callable[[Order], Any]]] = [
            ("decide + reserve", lambda o: store_order(o, now, deps)),
            ("dispatch", lambda o: dispatch(DispatchRequest(order_id=o.order_id), dispatching)),
            ("shipped", lambda o: record_callback(_shipped(o, now), shipping)),
            ("write-back", lambda o: write_back(o.order_id, writing_back)),
        ]
        for order in orders:
            meter.order = order.order_id
            for step, run in steps:
                meter.step = step
                run(order)
        meter.order = ""
        shipped = {o.order_id for o in orders
                   if (stored := store.get(o.order_id)) and stored.status == OrderStatus.shipped}
        return PathUnits(len(orders), len(shipped), meter.per_order(shipped, "write", _target),
                         meter.per_order(shipped, "write", _target, priced=True),
                         meter.per_order(shipped, "read", _target), meter.per_order(shipped, "write", _step),
                         meter.per_order(shipped, "write", _step, priced=True))
    finally:
        lab.drop_tables()


def _target(_: str, target: str) -> str:
    return target


def _step(step: str, _: str) -> str:
    return step


def _shipped(order: Order, now: datetime) -> FulfillmentEvent:
    return FulfillmentEvent(order_id=order.order_id, event="shipped", at=now + timedelta(minutes=1),
                            event_id=f"ship-{order.order_id}", tracking_no=f"SF{order.order_id[-12:]}",
                            carrier="SF")


def _units(found: dict[str, float], prefix: str) -> str:
    return ", ".join(f"{name.removeprefix(prefix) or 'item'} {units:.1f}"
                     for name, units in sorted(found.items()) if name.startswith(prefix) and units)


def unit_rows(units: PathUnits, legacy: PathUnits) -> list[tuple[str, str, str, str]]:
    """Rows for `make bench`: per shipped order, after the index review beside the layout before it; each as
    DynamoDB Local reports it and at DynamoDB's price."""
    path = f"{units.shipped} of {units.orders} channel orders shipped, the rest held by the checks"

    def listed(found: PathUnits, pick: Callable[[PathUnits], dict[str, float]], prefix: str = "") -> str:
        return _units(pick(found), prefix).replace("/", "") or "0"

    rows = [(f"write units per shipped order — decide+reserve → dispatch → shipped → write-back ({path})",
             f"**{sum(units.priced.values()):.1f} WCU** at DynamoDB's price ({sum(units.writes.values()):.1f} as "
             "DynamoDB Local reports them)",
             f"indexes before the review: {sum(legacy.priced.values()):.1f} WCU ({sum(legacy.writes.values()):.1f})",
             "")]
    for table in sorted({name.split("/")[0] for name in units.writes}):
        def of(found: dict[str, float], table: str = table) -> dict[str, float]:
            return {k: v for k, v in found.items() if k.split("/")[0] == table}

        rows.append((f"write units per shipped order at DynamoDB's price — `{table}` (item, then each index)",
                     listed(units, lambda u: of(u.priced), table), listed(legacy, lambda u: of(u.priced), table), ""))
    rows.append(("write units per shipped order at DynamoDB's price, by step", ", ".join(
        f"{step} {units.priced_per_step.get(step, 0):.1f}" for step in STEPS), ", ".join(
        f"{step} {legacy.priced_per_step.get(step, 0):.1f}" for step in STEPS), ""))
    rows.append(("read units per shipped order", f"{sum(units.reads.values()):.1f} RCU ({_units(units.reads, '')})",
                 f"{sum(legacy.reads.values()):.1f} RCU", ""))
    return rows
