"""Every order finishes its life, through the local runtime over HTTP: a paid order held for its note keeps its
units and a Shopify edit moves them, an unpaid order's stock returns after its expiry, a channel cancel and an
address change after dispatch reach the WMS as the next instruction, suppliers registered at runtime receive their
instructions (on their queue, or signed over HTTP), and the district of a web-store address is read from its text."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
import requests

from infra import wiring
from infra.local import LocalPlatform
from ocp.domain.clock import iso
from tests.e2e.deliveries import deliver_shopify
from tests.e2e.wms import bodies, queue_messages, wms_messages
from tests.fakes.wms_http import FakeHttpWms
from tests.held_support import shopify_document

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def platform() -> Iterator[LocalPlatform]:
    with LocalPlatform(port=0, visibility_timeout_s=2) as running:
        yield running


def _api(platform: LocalPlatform, method: str, path: str, body: Any = None) -> requests.Response:
    return requests.request(method, f"{platform.base_url}{path}", json=body, timeout=30,
                            headers={"x-api-key": platform.api_key, "x-ocp-actor": "e2e@shop.cn"})


def _later(document: dict[str, Any], minutes: int, **changes: Any) -> dict[str, Any]:
    """The channel's next view of the order, modified `minutes` after the first."""
    updated = (datetime.fromisoformat(document["updated_at"]) + timedelta(minutes=minutes)).isoformat()
    return document | {"updated_at": updated} | changes


def _order(platform: LocalPlatform, order_id: str) -> dict[str, Any]:
    response = _api(platform, "GET", f"/orders/{order_id}")
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def _push(platform: LocalPlatform, sku: str, on_hand: int, warehouse: str = "WH-GZ") -> None:
    pushed = _api(platform, "PUT", f"/inventory/{warehouse}/{sku}", {"on_hand": on_hand, "version": 1})
    assert (pushed.status_code, pushed.json()["applied"]) == (200, True), pushed.text


def _board(platform: LocalPlatform, sku: str) -> tuple[int, int]:
    totals = _api(platform, "GET", f"/inventory/{sku}").json()["totals"]
    return totals["on_hand"], totals["reserved"]


def test_suppliers_registered_at_runtime_receive_their_instructions_on_a_queue_and_signed_over_http(
    platform: LocalPlatform, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given two suppliers registered while the platform runs: one with its own queue, one with an HTTP WMS that
    # verifies OCP's signature (its secret configured for OCP); and rules drop-shipping through each
    # (first in this module: the processors cache the warehouse directory for 30 s, so a supplier registered after
    # they read it is routed to within 30 s — here, before any order warmed the cache)
    monkeypatch.setenv("OCP_WMS_SECRET_SUP_CUP", "cup-secret")
    queue_url = platform.client("sqs").create_queue(QueueName="ocp-wms-sup-tea")["QueueUrl"]
    with FakeHttpWms.serve(secret="cup-secret") as http_wms:
        for supplier, wms in (("SUP-TEA", {"type": "sqs", "queue_url": queue_url}),
                              ("SUP-CUP", {"type": "http", "url": http_wms.url})):
            registered = _api(platform, "PUT", f"/warehouses/{supplier}", {"kind": "supplier", "wms": wms})
            assert registered.status_code == 200, registered.text
        rules = {"rules": [
            {"id": "teaware", "priority": 1, "when": {"field": "lines.sku", "eq": "SET-SUP"},
             "then": {"supplier": "SUP-TEA"}},
            {"id": "cups", "priority": 2, "when": {"field": "lines.sku", "eq": "CUP-SUP"},
             "then": {"supplier": "SUP-CUP"}},
            {"id": "default", "priority": 100, "when": {"always": True}, "then": {"warehouses": ["*"]}}]}
        assert _api(platform, "PUT", "/rules/routing", rules).status_code == 200
        time.sleep(5.5)  # the processors' rules cache checks for a new version every 5 s
        # When an order for each arrives
        by_queue = deliver_shopify(platform, shopify_document(5, "SET-SUP"))
        over_http = deliver_shopify(platform, shopify_document(6, "CUP-SUP"))
        # Then the queue holds the first supplier's instruction, and the HTTP WMS got the second's, signed
        [instruction] = bodies(queue_messages(platform, queue_url, expected=1))
        assert (instruction["order_id"], instruction["warehouse"]) == (by_queue, "SUP-TEA")
        [received] = http_wms.received
        assert received.verified and received.idempotency_key == f"{over_http}:1"
        assert received.body["warehouse"] == "SUP-CUP"
    assert {_order(platform, o)["status"] for o in (by_queue, over_http)} == {"dispatched"}


def test_a_paid_order_held_for_a_note_keeps_its_units_and_a_shopify_edit_moves_them(platform: LocalPlatform) -> None:
    # Given 5 units, and a paid web-store order of 1 whose buyer wrote a note (its district only in the street)
    _push(platform, "TEA-NOTE", 5)
    document = shopify_document(1, "TEA-NOTE", note="请开发票", address1="天河区天河路385号")
    order_id = deliver_shopify(platform, document)
    # Then it is held for the note with its unit reserved, and its district was read from the street
    held = _order(platform, order_id)
    assert (held["status"], [h["reason"] for h in held["holds"]]) == ("held", ["buyer_note"])
    assert held["reservation"]["state"] == "active" and _board(platform, "TEA-NOTE") == (5, 1)
    assert held["address"]["district"] == "天河区"
    # When the merchant edits the quantity to 3 on Shopify (orders/updated)
    edited = shopify_document(1, "TEA-NOTE", note="请开发票", quantity=3)
    deliver_shopify(platform, _later(edited, 5), topic="orders/updated")
    # Then the reservation moved to 3 units in the same write; the order is still held for the note
    after = _order(platform, order_id)
    assert (after["status"], sum(a["quantity"] for a in after["reservation"]["allocations"])) == ("held", 3)
    assert _board(platform, "TEA-NOTE") == (5, 3)


def test_an_unpaid_orders_stock_returns_after_the_unpaid_expiry(platform: LocalPlatform) -> None:
    # Given 4 units and an unpaid order of 2 (reserved on order, expiring after the policy's 60 minutes)
    _push(platform, "TEA-UNPAID", 4)
    unpaid_document = shopify_document(2, "TEA-UNPAID", quantity=2) | {"financial_status": "pending"}
    order_id = deliver_shopify(platform, unpaid_document)
    unpaid = _order(platform, order_id)
    assert unpaid["status"] == "pending_payment" and _board(platform, "TEA-UNPAID") == (4, 2)
    # When its expiry has passed (moved into the past) and the sweeper's schedule ticks
    orders = boto3.resource("dynamodb").Table(platform.resources.by_id[wiring.ORDERS.id].name)
    past = iso(datetime.now(UTC) - timedelta(minutes=1))
    orders.update_item(Key={"order_id": order_id},
                       UpdateExpression="SET reservation.expires_at = :t, reservation_expires_at = :t",
                       ExpressionAttributeValues={":t": past})
    platform.run_schedule("reservation-sweep")
    # Then the units are back on sale and the order still waits for payment
    assert _board(platform, "TEA-UNPAID") == (4, 0)
    assert _order(platform, order_id)["status"] == "pending_payment"


def test_a_channel_cancel_after_dispatch_stops_the_warehouse_and_the_stock_returns_on_its_word(
    platform: LocalPlatform,
) -> None:
    # Given a paid order dispatched to WH-GZ
    _push(platform, "TEA-CXL", 5)
    document = shopify_document(3, "TEA-CXL")
    order_id = deliver_shopify(platform, document)
    assert _order(platform, order_id)["status"] == "dispatched"
    [first] = bodies(wms_messages(platform, "WH-GZ", expected=1))
    assert (first["order_id"], first["version"], first["kind"]) == (order_id, 1, "fulfil")
    # When the buyer cancels on Shopify (orders/cancelled)
    cancelled_at = (datetime.fromisoformat(document["updated_at"]) + timedelta(minutes=3)).isoformat()
    deliver_shopify(platform, _later(document, 3, cancelled_at=cancelled_at, cancel_reason="customer"),
             topic="orders/cancelled")
    # Then the warehouse gets the cancel instruction at once; the order waits for its word
    [stop] = bodies(wms_messages(platform, "WH-GZ", expected=1))
    assert (stop["order_id"], stop["version"], stop["kind"]) == (order_id, 2, "cancel")
    assert _board(platform, "TEA-CXL") == (5, 1)
    # When the warehouse confirms / Then the order is cancelled and its unit is back on sale
    confirmed = _api(platform, "POST", "/fulfillment/events", {
        "order_id": order_id, "event": "cancelled", "event_id": "wms-stop-3", "at": iso(datetime.now(UTC))})
    assert confirmed.json()["status"] == "cancelled" and _board(platform, "TEA-CXL") == (5, 0)


def test_an_address_change_after_dispatch_reaches_the_warehouse_as_the_next_instruction(
    platform: LocalPlatform,
) -> None:
    # Given a paid order dispatched to WH-GZ with instruction v1
    _push(platform, "TEA-ADDR", 5)
    document = shopify_document(4, "TEA-ADDR", address1="天河区天河路385号")
    order_id = deliver_shopify(platform, document)
    [first] = bodies(wms_messages(platform, "WH-GZ", expected=1))
    assert first["version"] == 1
    # When the buyer changes the street on Shopify
    moved = shopify_document(4, "TEA-ADDR", address1="天河区体育西路191号")
    deliver_shopify(platform, _later(moved, 2), topic="orders/updated")
    # Then the warehouse receives instruction v2 with the new address
    [update] = bodies(wms_messages(platform, "WH-GZ", expected=1))
    assert (update["order_id"], update["version"], update["kind"]) == (order_id, 2, "fulfil")
    assert update["address"]["detail"].startswith("天河区体育西路191号")
