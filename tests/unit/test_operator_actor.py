"""Who an action is attributed to: the authenticated principal, with the person `x-ocp-actor` names beside it."""

from __future__ import annotations

import pytest
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent

from ocp.api.operators import caller_of
from ocp.api.preconditions import revision_of
from ocp.domain.access.scopes import Forbidden
from ocp.domain.errors import InvalidQuery
from tests.support import api_event


def _event(headers: dict[str, str], authorizer: dict[str, str] | None = None) -> APIGatewayProxyEvent:
    raw = api_event("POST", "/orders/{order_id}/release", "/orders/x/release", headers=headers)
    raw["requestContext"]["identity"] |= {"apiKey": "secret-key-value"}
    if authorizer is not None:
        raw["requestContext"]["authorizer"] = authorizer
    return APIGatewayProxyEvent(raw)


def test_the_principal_acts_and_the_header_names_the_person_beside_it_never_the_key() -> None:
    # Given
    console = {"principal": "ops-console", "scopes": "operator read"}
    # When
    named = caller_of(_event({"X-OCP-Actor": " li.na@shop.cn "}, console))
    unnamed = caller_of(_event({}, console))
    # Then
    assert (named.principal, named.person, named.actor, named.scopes) == (
        "ops-console", "li.na@shop.cn", "li.na@shop.cn", ("operator", "read"))
    assert (unnamed.principal, unnamed.person, unnamed.actor) == ("ops-console", None, "ops-console")
    assert "secret-key-value" not in repr(named)
    with pytest.raises(InvalidQuery):
        caller_of(_event({"x-ocp-actor": "x" * 129}, console))


def test_a_warehouse_principal_is_bound_to_its_warehouse_and_an_operator_is_not() -> None:
    # Given
    wms = caller_of(_event({}, {"principal": "wms-gz", "scopes": "wms:WH-GZ"}))
    operator = caller_of(_event({}, {"principal": "ops", "scopes": "operator"}))
    # When / Then
    wms.require_warehouse("WH-GZ", "stock push")
    operator.require_warehouse("WH-SH", "stock push")
    with pytest.raises(Forbidden) as refused:
        wms.require_warehouse("WH-SH", "it may not push WH-SH's stock", sku="SKU-1")
    assert refused.value.details == {"warehouse": "WH-SH", "principal": "wms-gz", "may_act_for": ["WH-GZ"],
                                     "sku": "SKU-1"}


def test_if_match_takes_a_revision_number() -> None:
    # Given / When / Then
    assert (revision_of(_event({"If-Match": '"3"'})), revision_of(_event({}))) == (3, None)
    with pytest.raises(InvalidQuery):
        revision_of(_event({"If-Match": "W/abc"}))
