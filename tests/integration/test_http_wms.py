"""An HTTP instruction pushed over a real socket to a fake WMS on 127.0.0.1: signed over the exact bytes it sends,
with its idempotency key, and a WMS holding another secret refuses it (no retry). Moved from the unit tests, which
run with sockets off."""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta

import pytest

from ocp.adapters.wms import HttpWms
from ocp.domain.fulfillment.dispatch import WarehouseInstruction, WmsRejected, instruction_for
from ocp.domain.order.model import OrderStatus
from tests.fakes.wms_http import FakeHttpWms
from tests.fulfillment_support import ORDER_ID, T0, order_at

NOW = T0 + timedelta(minutes=1)
SECRET = "wms-secret-for-WH-NEW"


def _instruction(warehouse: str = "WH-NEW") -> WarehouseInstruction:
    return instruction_for(order_at(OrderStatus.reserved, warehouse=warehouse), version=1, now=NOW)


def test_an_http_instruction_carries_the_signature_of_its_body_and_its_idempotency_key() -> None:
    # Given a WMS that verifies signatures with the warehouse's secret
    with FakeHttpWms.serve(secret=SECRET) as wms:
        # When the instruction is pushed with that secret
        receipt = HttpWms(wms.url, secrets={"WH-NEW": SECRET}).send(_instruction())
    # Then it was accepted, and the header is the HMAC of the bytes received, computed here independently
    [received] = wms.received
    expected = "sha256=" + hmac.new(SECRET.encode(), received.raw, hashlib.sha256).hexdigest()
    assert (received.signature, received.verified, receipt) == (expected, True, "http 200 ref WMS-1")
    assert received.idempotency_key == f"{ORDER_ID}:1" == received.body["idempotency_key"]
    assert received.body["warehouse"] == "WH-NEW"


def test_an_http_wms_signed_with_another_secret_refuses_and_ocp_does_not_retry() -> None:
    # Given a WMS that holds another secret / When pushed / Then its 401 is a refusal, after one attempt
    with FakeHttpWms.serve(secret="the-wms-has-rotated") as wms, pytest.raises(WmsRejected) as refused:
        HttpWms(wms.url, secrets={"WH-NEW": SECRET}, sleep=lambda _: None).send(_instruction())
    assert len(wms.received) == 1 and "HTTP 401" in refused.value.message
