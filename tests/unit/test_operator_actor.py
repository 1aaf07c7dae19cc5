"""Who an operator action is attributed to: the `x-ocp-actor` header, else the API key's id — never the key."""

from __future__ import annotations

import pytest
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent

from ocp.api.operators import actor_of, revision_of
from ocp.domain.errors import InvalidQuery
from tests.support import api_event


def _event(headers: dict[str, str], key_id: str | None = None) -> APIGatewayProxyEvent:
    raw = api_event("POST", "/orders/{order_id}/release", "/orders/x/release", headers=headers)
    raw["requestContext"]["identity"] |= {"apiKey": "secret-key-value", "apiKeyId": key_id}
    return APIGatewayProxyEvent(raw)


def test_the_header_names_the_operator_else_the_key_id_and_never_the_key() -> None:
    # Given / When / Then
    assert actor_of(_event({"X-OCP-Actor": " li.na@shop.cn "}, key_id="k1a2")) == "li.na@shop.cn"
    assert actor_of(_event({}, key_id="k1a2")) == "api-key:k1a2"
    assert actor_of(_event({})) == "api-key"
    with pytest.raises(InvalidQuery):
        actor_of(_event({"x-ocp-actor": "x" * 129}))


def test_if_match_takes_a_revision_number() -> None:
    # Given / When / Then
    assert (revision_of(_event({"If-Match": '"3"'})), revision_of(_event({}))) == (3, None)
    with pytest.raises(InvalidQuery):
        revision_of(_event({"If-Match": "W/abc"}))
