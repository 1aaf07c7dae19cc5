"""One behavioural suite for the RulesStore and CatalogStore ports: the in-memory twins and DynamoDB (moto)."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
from moto import mock_aws

from infra import wiring
from infra.local.provision import local_name, table_definition
from ocp.adapters.dynamodb.rules import DynamoCatalogStore, DynamoRulesStore
from ocp.adapters.memory.rules import MemoryCatalogStore, MemoryRulesStore
from ocp.domain.decisions.rules import RulesVersionConflict
from ocp.domain.decisions.stored_rules import StoredRules
from ocp.ports import CatalogStore, RulesStore
from tests.rules_support import catalog_item


@pytest.fixture(params=["memory", "dynamodb"])
def stores(request: pytest.FixtureRequest) -> Iterator[tuple[RulesStore, CatalogStore]]:
    if request.param == "memory":
        yield MemoryRulesStore(), MemoryCatalogStore()
        return
    with mock_aws():
        # Only the two tables, exactly as wiring declares them (provisioning everything takes a second)
        for table in (wiring.RULES, wiring.CATALOG):
            boto3.client("dynamodb").create_table(**table_definition(table))
        dynamodb = boto3.resource("dynamodb")
        yield (DynamoRulesStore(dynamodb.Table(local_name(wiring.RULES.id))),
               DynamoCatalogStore(dynamodb.Table(local_name(wiring.CATALOG.id))))


def _rules(version: int, kind: str = "routing", **document: Any) -> StoredRules:
    return StoredRules(kind=kind, version=version, document={"rules": [], **document}, created_at=f"t{version}")


def test_versions_read_back_exactly_and_the_latest_is_the_highest(stores: tuple[RulesStore, CatalogStore]) -> None:
    # Given nothing stored, then versions 1..11 of routing and 1 of gift (11 sorts after 9 only if padded)
    rules, _ = stores
    assert (rules.latest_version("routing"), rules.latest("routing"), rules.get("routing", 1)) == (0, None, None)
    for version in range(1, 12):
        rules.put(_rules(version, description=f"v{version} 广东", price=1.5))
    rules.put(_rules(1, kind="gift"))

    # Then each reads back as written, and the latest is 11
    assert rules.latest_version("routing") == 11
    assert rules.latest("routing") == _rules(11, description="v11 广东", price=1.5)
    assert rules.get("routing", 9) == _rules(9, description="v9 广东", price=1.5)
    assert rules.latest_version("gift") == 1
    assert rules.latest_version("anomaly") == 0


def test_a_version_is_never_overwritten(stores: tuple[RulesStore, CatalogStore]) -> None:
    rules, _ = stores
    rules.put(_rules(1, description="first"))
    with pytest.raises(RulesVersionConflict):
        rules.put(_rules(1, description="second"))
    assert rules.get("routing", 1) == _rules(1, description="first")


def test_two_concurrent_writers_of_the_same_version_cannot_both_win(stores: tuple[RulesStore, CatalogStore]) -> None:
    # Given eight writers that all read version 0 and write version 1 at once
    rules, _ = stores

    def write(n: int) -> str:
        try:
            rules.put(_rules(1, description=f"writer {n}"))
            return "stored"
        except RulesVersionConflict:
            return "conflict"

    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(write, range(8)))

    # Then exactly one stored version 1
    assert outcomes.count("stored") == 1
    assert outcomes.count("conflict") == 7


def test_catalog_items_read_back_one_by_one_and_in_batches(stores: tuple[RulesStore, CatalogStore]) -> None:
    # Given 130 items (more than one DynamoDB batch read) and one replaced
    _, catalog = stores
    items = [catalog_item(f"SKU-{i:03d}", category="tea", list_price=1000 + i, min_price=500) for i in range(130)]
    catalog.put_many(items)
    replaced = catalog_item("SKU-000", name="绿茶", category="green-tea", list_price=990, return_window_days=15)
    catalog.put(replaced)

    # Then single and batch reads return exactly the stored items; unknown SKUs are left out
    assert catalog.get("SKU-000") == replaced
    assert catalog.get("NOPE") is None
    found = catalog.get_many([f"SKU-{i:03d}" for i in range(130)] + ["NOPE", "SKU-001"])
    assert len(found) == 130
    assert found["SKU-129"] == items[129]
    assert found["SKU-000"] == replaced
    assert catalog.get_many([]) == {}
