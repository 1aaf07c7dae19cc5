"""Principals and scopes: names, scopes and kinds, key hashing, the authorizer's policy for every route, the
warehouse binding, and the principals service over its in-memory twins."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import (
    APIGatewayAuthorizerRequestEvent,
)

from functions.authorizer import handler as authorizer
from infra import wiring
from infra.constructs import access as aws_bootstrap
from infra.local import config as local_config
from ocp.adapters.memory.principals import MemoryPrincipalStore, MemoryUsageKeys
from ocp.domain.access.binding import bound_warehouses, dispatched_to
from ocp.domain.access.keys import generate_api_key, hash_api_key
from ocp.domain.access.principals import (
    BOOTSTRAP_SCOPES,
    InvalidPrincipal,
    Principal,
    PrincipalExists,
    PrincipalNotFound,
    kind_of,
    meets,
    validate_name,
    validate_scopes,
)
from ocp.domain.access.routes import iam_matches, parse_route_scopes, policy_allows
from ocp.services.access.principals import (
    AccessDeps,
    BootstrapKey,
    authenticate,
    create_principal,
    list_principals,
    revoke_principal,
)
from tests.rules_support import make_order

ARN = "arn:aws:execute-api:eu-west-1:111122223333:a1b2c3/prod"


@pytest.fixture(autouse=True)
def _route_scopes(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("ROUTE_SCOPES", wiring.route_scopes_env(wiring.ROUTES))
    monkeypatch.setenv("PRINCIPALS_TABLE", "unused")
    authorizer._route_rules.cache_clear()
    yield
    authorizer._route_rules.cache_clear()


# ---- names, scopes, kinds, keys ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["ops", "wms-wh-gz", "a1", "x" * 63])
def test_good_names_pass(name: str) -> None:
    assert validate_name(name) == name


@pytest.mark.parametrize("name", ["a", "-ops", "Ops", "ops_1", "x" * 64, "ops console", "运营"])
def test_bad_names_are_a_400(name: str) -> None:
    with pytest.raises(InvalidPrincipal):
        validate_name(name)


def test_scopes_are_deduplicated_and_only_the_bootstrap_key_acts_for_every_warehouse() -> None:
    assert validate_scopes(["wms:WH-GZ", "read", "wms:WH-GZ"]) == ("wms:WH-GZ", "read")
    for bad in (["wms:*"], ["root"], [], ["wms:"], ["wms:WH GZ"]):
        with pytest.raises(InvalidPrincipal):
            validate_scopes(bad)


@pytest.mark.parametrize(("scopes", "kind"), [
    (("read",), "read"), (("wms:WH-GZ", "read"), "wms"), (("admin",), "admin"), (("admin", "operator"), "operator"),
    (("finance", "read"), "finance"),
])
def test_a_principals_kind_is_its_busiest_scope(scopes: tuple[str, ...], kind: str) -> None:
    assert kind_of(scopes) == kind
    assert kind in {plan.id for plan in wiring.USAGE_PLANS}


def test_keys_are_random_and_only_their_hash_is_kept() -> None:
    first, second = generate_api_key(), generate_api_key()
    assert first != second and first.startswith("ocp_") and len(first) > 40
    assert re.fullmatch(r"[0-9a-f]{64}", hash_api_key(first)) and hash_api_key(first) == hash_api_key(first)
    assert hash_api_key(first) != hash_api_key(second) and first not in hash_api_key(first)


# ---- the authorizer's policy: exactly the routes the scopes reach --------------------------------------------------

def _request(method: str = "GET", resource: str = "/orders", key: str = "k") -> APIGatewayAuthorizerRequestEvent:
    return APIGatewayAuthorizerRequestEvent({
        "type": "REQUEST", "methodArn": f"{ARN}/{method}{resource}", "resource": resource, "path": resource,
        "httpMethod": method, "headers": {"x-api-key": key}, "requestContext": {}})


def _concrete(route: wiring.Route) -> str:
    """A request path on the route: each variable filled in."""
    return f"{ARN}/{route.method}" + re.sub(r"\{[^}]+\}", "v-1", route.path)


@pytest.mark.parametrize("scopes", [("read",), ("operator",), ("finance",), ("admin",), ("wms:WH-GZ",),
                                    ("read", "finance"), BOOTSTRAP_SCOPES])
def test_the_policy_allows_exactly_the_declared_routes_the_scopes_reach(scopes: tuple[str, ...]) -> None:
    # Given a principal with these scopes
    principal = Principal(name="p1", scopes=scopes, created_at="2026-12-04T08:00:00Z", usage_key="bucket-1")
    # When the authorizer answers for it
    answer = authorizer.policy_for(_request(), principal)
    # Then every keyed route is allowed iff the wiring says its scopes reach it (no wildcard reaches further)
    statements = answer["policyDocument"]["Statement"]
    keyed = [r for r in wiring.ROUTES if r.scopes]
    assert {f"{r.method} {r.path}" for r in keyed if policy_allows(statements, _concrete(r))} == {
        f"{r.method} {r.path}" for r in keyed if meets(scopes, r.scopes)}
    assert answer["context"] == {"principal": "p1", "scopes": " ".join(scopes), "error_code": "forbidden"}
    assert answer["usageIdentifierKey"] == "bucket-1" and answer["principalId"] == "p1"


def test_an_unknown_key_is_denied_everything_with_its_code() -> None:
    answer = authorizer.policy_for(_request(), None)
    assert not any(policy_allows(answer["policyDocument"]["Statement"], _concrete(r)) for r in wiring.ROUTES)
    assert answer["context"]["error_code"] == "invalid_api_key" and "usageIdentifierKey" not in answer


def test_every_keyed_route_has_scopes_and_the_public_ones_are_only_webhooks_and_the_document() -> None:
    assert {f"{r.method} {r.path}" for r in wiring.ROUTES if not r.scopes} == {
        "POST /webhooks/{channel}", "GET /openapi.json"}
    parsed = parse_route_scopes(wiring.route_scopes_env(wiring.ROUTES))
    assert [(r.method, r.resource, r.scopes) for r in parsed] == [
        (r.method, r.path, r.scopes) for r in wiring.ROUTES if r.scopes]
    # Lambda's environment holds 4 KB in all: the map leaves room for the rest
    assert len(wiring.route_scopes_env(wiring.ROUTES)) < 2500


def test_iam_wildcards_match_like_api_gateway() -> None:
    assert iam_matches("a/*/receipt", "a/r-1/receipt") and iam_matches("a/?", "a/b")
    assert not iam_matches("a/*/receipt", "a/r-1/approve") and not iam_matches("a/orders", "a/orders:bulk")
    assert policy_allows([{"Effect": "Allow", "Resource": ["*"]}, {"Effect": "Deny", "Resource": ["x"]}], "y")
    assert not policy_allows([{"Effect": "Allow", "Resource": ["*"]}, {"Effect": "Deny", "Resource": ["x"]}], "x")


# ---- the warehouse binding ---------------------------------------------------------------------------------------

def test_only_warehouse_principals_are_bound() -> None:
    assert bound_warehouses(["wms:WH-GZ", "read"]) == frozenset({"WH-GZ"})
    assert bound_warehouses(["wms:WH-GZ", "operator"]) is None
    assert bound_warehouses(BOOTSTRAP_SCOPES) is None and bound_warehouses(["finance"]) is None


def test_a_callback_speaks_for_the_orders_warehouse_or_its_named_parcel() -> None:
    order = make_order(warehouse="WH-GZ")
    assert (dispatched_to(order), dispatched_to(order, "WH-SH")) == ("WH-GZ", "WH-GZ")
    split = order.model_copy(update={"fulfillment": order.fulfillment.model_copy(update={"parcels": (
        _parcel("WH-GZ"), _parcel("WH-SH"))})})
    assert (dispatched_to(split, "WH-SH"), dispatched_to(split, "WH-BJ"), dispatched_to(split)) == (
        "WH-SH", None, None)


def _parcel(warehouse: str) -> Any:
    from ocp.domain.fulfillment.state import Parcel

    return Parcel(warehouse=warehouse, lines=(), status_since="2026-12-04T08:00:00Z")


# ---- the service ------------------------------------------------------------------------------------------------

def _deps(usage: MemoryUsageKeys | None = None) -> AccessDeps:
    return AccessDeps(principals=MemoryPrincipalStore(), usage_keys=usage,
                      bootstrap=lambda: BootstrapKey(api_key="local-dev-key", principal="local"))


def test_the_bootstrap_key_has_every_scope_and_a_created_key_opens_its_principal_until_revoked() -> None:
    # Given
    usage = MemoryUsageKeys()
    deps = _deps(usage)
    # When
    created = create_principal(deps, "wms-gz", ["wms:WH-GZ"])
    # Then
    bootstrap = authenticate(deps, "local-dev-key")
    assert bootstrap is not None and (bootstrap.name, bootstrap.scopes) == ("local", BOOTSTRAP_SCOPES)
    assert authenticate(deps, created.api_key) == created.principal
    assert [kind for kind, _ in usage.keys.values()] == ["wms"]
    assert created.principal.usage_key == next(iter(usage.keys.values()))[1].value
    assert [p.name for p in list_principals(deps)] == ["wms-gz"]
    # When revoked / Then the key opens nothing and its throttle key is gone
    revoke_principal(deps, "wms-gz")
    assert authenticate(deps, created.api_key) is None and usage.keys == {}
    with pytest.raises(PrincipalNotFound):
        revoke_principal(deps, "wms-gz")


def test_a_taken_name_is_a_409_leaving_no_throttle_key_behind() -> None:
    usage = MemoryUsageKeys()
    deps = _deps(usage)
    create_principal(deps, "ops", ["operator"])
    with pytest.raises(PrincipalExists):
        create_principal(deps, "ops", ["read"])
    assert len(usage.keys) == 1


def test_the_bootstrap_keys_names_are_a_400_even_where_the_bootstrap_secret_is_not_read() -> None:
    # Given the principals function as deployed: it never reads the bootstrap secret
    usage = MemoryUsageKeys()
    deps = AccessDeps(principals=MemoryPrincipalStore(), usage_keys=usage, bootstrap=lambda: None)
    # When an admin creates a principal named as the bootstrap key's, in AWS or locally / Then 400, nothing made
    for name in (aws_bootstrap.BOOTSTRAP_PRINCIPAL, local_config.BOOTSTRAP_PRINCIPAL):
        with pytest.raises(InvalidPrincipal) as refused:
            create_principal(deps, name, ["read"])
        assert (refused.value.code, refused.value.details) == (
            "invalid_principal", {"field": "name", "value": name, "reserved": ["admin", "local"]})
    assert list_principals(deps) == [] and usage.keys == {}


# ---- attribution: the principal on what an API call adds -------------------------------------------------------

def test_only_entries_added_inside_an_api_call_carry_its_principal() -> None:
    from datetime import UTC, datetime

    from ocp.domain.order.model import TimelineEntry
    from ocp.services.access.attribution import acting_as, stamp_order

    before = make_order(warehouse="WH-GZ")
    entry = TimelineEntry(at=datetime(2026, 12, 4, tzinfo=UTC), hop="operator", event="released", source="operator",
                          actor="li.na@shop.cn")
    after = before.model_copy(update={"timeline": (*before.timeline, entry)})
    assert stamp_order(before, after) == after  # outside any API call: nothing stamped
    with acting_as("ops-console"):
        stamped = stamp_order(before, after)
    assert [e.principal for e in stamped.timeline] == [*(e.principal for e in before.timeline), "ops-console"]
    assert stamped.timeline[-1].actor == "li.na@shop.cn"  # the person stays beside the principal


# ---- the authorizer as deployed: its settings, its store and the bootstrap secret (moto) --------------------------

def test_the_authorizer_handler_finds_the_bootstrap_key_and_a_stored_principal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import json

    import boto3
    from moto import mock_aws

    from infra.local.provision import local_name, table_definition
    from ocp import composition
    from ocp.adapters.dynamodb.principals import DynamoPrincipalStore
    from tests.support import FakeContext

    with mock_aws():
        # Given the principals table with one principal, and the bootstrap secret
        boto3.client("dynamodb").create_table(**table_definition(wiring.PRINCIPALS))
        table = boto3.resource("dynamodb").Table(local_name(wiring.PRINCIPALS.id))
        gz = Principal(name="wms-gz", scopes=("wms:WH-GZ",), created_at="2026-12-04T08:00:00Z", usage_key="bucket-gz")
        DynamoPrincipalStore(table).create(gz, hash_api_key("gz-key"))
        arn = boto3.client("secretsmanager").create_secret(
            Name="bootstrap", SecretString=json.dumps({"api_key": "boot-key", "principal": "admin"}))["ARN"]
        monkeypatch.setenv("PRINCIPALS_TABLE", table.name)
        monkeypatch.setenv("BOOTSTRAP_SECRET_ARN", arn)
        composition.reset()
        try:
            # When each key asks
            answers = {key: authorizer.lambda_handler(_request("PUT", "/rules/routing", key).raw_event,
                                                      FakeContext())
                       for key in ("boot-key", "gz-key", "other")}
        finally:
            composition.reset()
    # Then
    assert answers["boot-key"]["context"]["principal"] == "admin"
    assert answers["gz-key"]["context"] == {"principal": "wms-gz", "scopes": "wms:WH-GZ", "error_code": "forbidden"}
    assert answers["gz-key"]["usageIdentifierKey"] == "bucket-gz"
    assert answers["other"]["context"]["error_code"] == "invalid_api_key"
