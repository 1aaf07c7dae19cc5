"""The write-units benchmark's meter and its before-the-review table layout (no DynamoDB needed)."""

from __future__ import annotations

from types import SimpleNamespace

from benchmarks.capacity import CapacityMeter, legacy_orders_definition
from infra import wiring
from infra.local.provision import table_definition


def _call(meter: CapacityMeter, operation: str, consumed: object) -> None:
    meter._add(parsed={"ConsumedCapacity": consumed}, model=SimpleNamespace(name=operation))


def test_units_add_up_per_table_and_index_and_transactions_are_halved_to_dynamodbs_price() -> None:
    # Given one order's transaction (as DynamoDB Local reports it) and a plain put, then another order's put
    meter = CapacityMeter(order="o-1", step="reserve")
    _call(meter, "TransactWriteItems", [
        {"TableName": "lab1234abcd-orders", "Table": {"CapacityUnits": 12.0},
         "GlobalSecondaryIndexes": {"by_status_bucket": {"CapacityUnits": 4.0}}},
        {"TableName": "lab1234abcd-stock", "Table": {"CapacityUnits": 4.0}},
    ])
    meter.step = "dispatch"
    _call(meter, "PutItem", {"TableName": "lab1234abcd-orders", "Table": {"CapacityUnits": 3.0},
                             "GlobalSecondaryIndexes": {"by_status_bucket": {"CapacityUnits": 2.0}}})
    meter.order = "o-2"
    _call(meter, "PutItem", {"TableName": "lab1234abcd-orders", "Table": {"CapacityUnits": 100.0}})
    _call(meter, "GetItem", {"TableName": "lab1234abcd-orders", "Table": {"CapacityUnits": 1.0}})

    # When read per order for o-1 only, by table, as reported and priced
    def target(_: str, t: str) -> str:
        return t

    reported = meter.per_order({"o-1"}, "write", target)
    priced = meter.per_order({"o-1"}, "write", target, priced=True)
    by_step = meter.per_order({"o-1"}, "write", lambda step, _: step, priced=True)

    # Then the table prefix is gone, indexes are separate, reads and other orders are not counted
    assert reported == {"orders": 15.0, "orders/by_status_bucket": 6.0, "stock": 4.0}
    assert priced == {"orders": 9.0, "orders/by_status_bucket": 4.0, "stock": 2.0}
    assert by_step == {"reserve": 10.0, "dispatch": 5.0}
    assert meter.per_order({"o-1", "o-2"}, "read", target) == {"orders": 0.5}


def test_the_layout_before_the_review_keys_the_status_index_by_status_and_projects_everything() -> None:
    # Given the orders table as declared / When turned into the layout before the review
    before = legacy_orders_definition(table_definition(wiring.ORDERS))
    indexes = {i["IndexName"]: i for i in before["GlobalSecondaryIndexes"]}
    names = {a["AttributeName"] for a in before["AttributeDefinitions"]}
    # Then the status index is on `status` alone, everything is ALL, and no bucket attribute is declared
    assert indexes["by_status"]["KeySchema"][0] == {"AttributeName": "status", "KeyType": "HASH"}
    assert "by_status_bucket" not in indexes
    assert all(i["Projection"] == {"ProjectionType": "ALL"} for i in indexes.values())
    assert "status" in names and "status_bucket" not in names
