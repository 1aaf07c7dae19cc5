"""Provisioning from the wiring, without servers: table definitions and the shared environment."""

from __future__ import annotations

import pytest

from infra import wiring
from infra.local import config
from infra.local.provision import EnvConflict, LocalResource, Resources, function_env, table_definition


def test_a_table_is_on_demand_with_string_keys_and_indexes_projecting_what_they_declare() -> None:
    # Given the orders table / When
    definition = table_definition(wiring.ORDERS)
    # Then
    assert definition["BillingMode"] == "PAY_PER_REQUEST"
    assert definition["KeySchema"] == [{"AttributeName": "order_id", "KeyType": "HASH"}]
    assert definition["AttributeDefinitions"] == [
        {"AttributeName": name, "AttributeType": "S"}
        for name in ("order_id", "channel_key", "status_bucket", "status_since", "expiry_bucket",
                     "reservation_expires_at", "channel", "writeback_pending_since", "release_bucket",
                     "release_due_at", "merge_bucket", "merge_due_at", "merge_key", "merge_wait_until")
    ]
    indexes = {i["IndexName"]: i for i in definition["GlobalSecondaryIndexes"]}
    assert set(indexes) == {"by_channel_order", "by_status_bucket", "by_reservation_expiry", "by_writeback_pending",
                            "by_release_due", "by_merge_due", "by_merge_key"}
    assert indexes["by_channel_order"]["Projection"] == {"ProjectionType": "KEYS_ONLY"}
    assert indexes["by_status_bucket"]["Projection"] == {
        "ProjectionType": "INCLUDE",
        "NonKeyAttributes": ["status", "channel", "warehouse", "writeback_pending_since", "hold_reasons"]}
    assert indexes["by_status_bucket"]["KeySchema"][1] == {"AttributeName": "status_since", "KeyType": "RANGE"}


def _resources() -> Resources:
    resources = Resources()
    resources.add("q", LocalResource(name="ocp-local-q", arn="arn:q", url="http://q"))
    resources.add("t", LocalResource(name="ocp-local-t", arn="arn:t"))
    return resources


def test_refs_resolve_to_local_names_urls_and_arns() -> None:
    # Given two functions sharing a variable with the same value
    functions = [
        wiring.Function(id="a", handler="h", description="", env={"Q": wiring.Ref("q", "url"), "T": wiring.Ref("t")}),
        wiring.Function(id="b", handler="h", description="", env={"T": wiring.Ref("t"), "A": wiring.Ref("t", "arn")}),
    ]
    # When / Then
    assert function_env(functions, _resources()) == {"Q": "http://q", "T": "ocp-local-t", "A": "arn:t"}


def test_two_functions_disagreeing_on_a_variable_is_refused() -> None:
    # Given one variable naming two different resources
    functions = [
        wiring.Function(id="a", handler="h", description="", env={"X": wiring.Ref("q")}),
        wiring.Function(id="b", handler="h", description="", env={"X": wiring.Ref("t")}),
    ]
    # When / Then
    with pytest.raises(EnvConflict, match="X"):
        function_env(functions, _resources())


def test_the_real_wiring_has_no_conflicting_variables() -> None:
    # Given every declared resource, resolved to something
    resources = Resources()
    ids = [t.id for t in wiring.TABLES] + [b.id for b in wiring.BUCKETS] + [s.id for s in wiring.SECRETS]
    ids += [q.id for q in wiring.QUEUES] + [q.dlq_id for q in wiring.QUEUES]
    ids += [b.id for b in wiring.EVENT_BUSES] + [t.id for t in wiring.TOPICS]
    ids += [m.id for m in wiring.STATE_MACHINES] + [p.id for p in wiring.USAGE_PLANS]
    for resource_id in ids:
        resources.add(resource_id, LocalResource(name=resource_id, arn=f"arn:{resource_id}", url=f"http://{resource_id}"))
    # When / Then
    assert function_env(wiring.FUNCTIONS, resources)


def test_credentials_default_to_the_documented_demo_values() -> None:
    # Given an empty environment / When
    credentials = config.credentials_env({})
    # Then
    assert credentials["OCP_API_KEY"] == "local-dev-key"
    assert credentials["OCP_CHANNEL_SECRET_SHOPIFY"] == "local-shopify-secret"
    assert credentials["OCP_CHANNEL_APP_KEY_DOUYIN"] == "local-douyin-app-key"
    assert config.channel_secret_document(credentials)["jd"] == {
        "secret": "local-jd-secret", "app_key": "local-jd-app-key"
    }
    assert config.credentials_env({"OCP_CHANNEL_SECRET_SHOPIFY": "mine"})["OCP_CHANNEL_SECRET_SHOPIFY"] == "mine"
