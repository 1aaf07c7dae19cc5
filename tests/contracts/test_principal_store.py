"""One behavioural suite for the PrincipalStore port (in-memory twin and DynamoDB under moto), and the API
Gateway usage keys adapter against moto."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
from moto import mock_aws

from infra import wiring
from infra.local.provision import local_name, table_definition
from ocp.adapters.aws.usage_keys import ApiGatewayUsageKeys
from ocp.adapters.dynamodb.principals import DynamoPrincipalStore
from ocp.adapters.memory.principals import MemoryPrincipalStore
from ocp.domain.access.keys import hash_api_key
from ocp.domain.access.principals import Principal, PrincipalExists
from ocp.ports import PrincipalStore


@pytest.fixture(params=["memory", "dynamodb"])
def store(request: pytest.FixtureRequest) -> Iterator[PrincipalStore]:
    if request.param == "memory":
        yield MemoryPrincipalStore()
        return
    with mock_aws():
        boto3.client("dynamodb").create_table(**table_definition(wiring.PRINCIPALS))
        yield DynamoPrincipalStore(boto3.resource("dynamodb").Table(local_name(wiring.PRINCIPALS.id)))


def _principal(name: str, *scopes: str) -> Principal:
    return Principal(name=name, scopes=scopes or ("read",), created_at="2026-12-04T08:00:00Z",
                     usage_key="bucket-" + name, usage_key_id="id-" + name)


def test_a_principal_is_found_by_name_and_by_its_key_hash_only(store: PrincipalStore) -> None:
    # Given
    store.create(_principal("wms-gz", "wms:WH-GZ"), hash_api_key("key-1"))
    # When / Then
    assert store.get("wms-gz") == store.by_key_hash(hash_api_key("key-1")) == _principal("wms-gz", "wms:WH-GZ")
    assert store.by_key_hash(hash_api_key("key-2")) is None and store.by_key_hash("key-1") is None
    assert store.get("nobody") is None


def test_a_name_is_taken_once_even_when_two_create_it_at_the_same_time(store: PrincipalStore) -> None:
    # Given two creates of one name with different keys, at once
    def create(key: str) -> bool:
        try:
            store.create(_principal("ops"), hash_api_key(key))
            return True
        except PrincipalExists:
            return False

    with ThreadPoolExecutor(2) as pool:
        outcomes = list(pool.map(create, ["a", "b"]))
    # Then exactly one won, and only its key opens
    assert sorted(outcomes) == [False, True]
    winner = "a" if outcomes[0] else "b"
    loser = "b" if winner == "a" else "a"
    assert store.by_key_hash(hash_api_key(winner)) is not None and store.by_key_hash(hash_api_key(loser)) is None


def test_revoking_removes_both_ways_in_and_lists_by_name(store: PrincipalStore) -> None:
    # Given
    for n, name in enumerate(("zeta", "alpha", "mid")):
        store.create(_principal(name), hash_api_key(f"k{n}"))
    # When
    removed = store.delete("alpha")
    # Then
    assert removed == _principal("alpha")
    assert store.get("alpha") is None and store.by_key_hash(hash_api_key("k1")) is None
    assert [p.name for p in store.list()] == ["mid", "zeta"]
    assert store.delete("alpha") is None
    # and the name is free again, with a new key
    store.create(_principal("alpha"), hash_api_key("k9"))
    assert store.by_key_hash(hash_api_key("k9")) == _principal("alpha")


@mock_aws
def test_usage_keys_join_the_plan_of_their_kind_and_go_away_on_delete() -> None:
    # Given the five usage plans
    client = boto3.client("apigateway", region_name="us-east-1")
    plans = {p.id: client.create_usage_plan(name=p.id)["id"] for p in wiring.USAGE_PLANS}
    keys = ApiGatewayUsageKeys(client, plans)
    # When a wms principal gets its key
    key = keys.create("wms-gz", "wms")
    # Then it is an enabled key in the wms plan only, and its value is what the authorizer will name
    assert [k["id"] for k in client.get_usage_plan_keys(usagePlanId=plans["wms"])["items"]] == [key.id]
    assert client.get_usage_plan_keys(usagePlanId=plans["operator"])["items"] == []
    stored = client.get_api_key(apiKey=key.id, includeValue=True)
    assert stored["value"] == key.value and stored["enabled"] is True and len(key.value) >= 20
    # When it is deleted (twice: idempotent) / Then it is gone
    keys.delete(key.id)
    keys.delete(key.id)
    assert client.get_api_keys()["items"] == []


@mock_aws
def test_usage_keys_find_a_plan_by_the_name_the_stack_passes() -> None:
    # Given plans named as the stack names them (their ids cannot be in a function's environment)
    client = boto3.client("apigateway", region_name="us-east-1")
    ids = {p.id: client.create_usage_plan(name=f"Ocp-prod-{p.id}")["id"] for p in wiring.USAGE_PLANS}
    keys = ApiGatewayUsageKeys(client, {p.id: f"Ocp-prod-{p.id}" for p in wiring.USAGE_PLANS})
    # When a wms principal gets its key / Then it joins the plan of that name
    key = keys.create("wms-gz", "wms")
    assert [k["id"] for k in client.get_usage_plan_keys(usagePlanId=ids["wms"])["items"]] == [key.id]


class _RacingTable:
    """The principals table with another admin's revoke and re-create landing right after the first read."""

    def __init__(self, table: Any, rival: DynamoPrincipalStore) -> None:
        self._table, self._rival, self._raced = table, rival, False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._table, name)

    def get_item(self, **kwargs: Any) -> Any:
        found = self._table.get_item(**kwargs)
        if not self._raced:
            self._raced = True
            self._rival.delete("ops")
            self._rival.create(_principal("ops"), hash_api_key("new-key"))
        return found


def test_a_revoke_racing_a_re_create_leaves_the_new_key_listed_and_revokable() -> None:
    with mock_aws():
        boto3.client("dynamodb").create_table(**table_definition(wiring.PRINCIPALS))
        table = boto3.resource("dynamodb").Table(local_name(wiring.PRINCIPALS.id))
        rival = DynamoPrincipalStore(table)
        rival.create(_principal("ops"), hash_api_key("old-key"))
        # When a revoke reads the old key, then another admin revokes and re-creates the name before it writes
        revoked = DynamoPrincipalStore(_RacingTable(table, rival)).delete("ops")
        # Then the revoke found nothing to do; the new principal keeps its name record and its key, both ways in
        assert revoked is None
        assert rival.get("ops") == rival.by_key_hash(hash_api_key("new-key")) == _principal("ops")
        assert rival.by_key_hash(hash_api_key("old-key")) is None
        assert rival.delete("ops") == _principal("ops") and rival.by_key_hash(hash_api_key("new-key")) is None
