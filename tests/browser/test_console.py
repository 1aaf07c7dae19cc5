"""The operator console in a real headless Chromium against `ocp local`: sign in with the local key, fix and
release a held order, bulk-release two, read the inventory board, approve a return, see a rule document's errors,
and take a screenshot of each screen."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import Browser, Page, expect

from infra import wiring
from infra.local import LocalPlatform
from ocp.domain.clock import iso
from tests.e2e.deliveries import deliver_shopify
from tests.held_support import shopify_document

pytestmark = pytest.mark.browser
expect.set_options(timeout=15_000)  # two shared cores: a screen may take seconds while the workers run

UNRESOLVED_STREET = "天河路385号太古汇"  # names no district of 广州市: held `address_unresolved`


# ---- the platform over HTTP ------------------------------------------------------------------------------------


def _api(platform: LocalPlatform, method: str, path: str, body: Any = None) -> requests.Response:
    return requests.request(method, f"{platform.base_url}{path}", json=body, timeout=30,
                            headers={"x-api-key": platform.api_key})


def _ok(response: requests.Response) -> Any:
    assert response.status_code < 300, response.text
    return response.json()


def _push(platform: LocalPlatform, sku: str, on_hand: int, version: int = 1) -> None:
    _ok(_api(platform, "PUT", f"/inventory/WH-GZ/{sku}", {"on_hand": on_hand, "version": version,
                                                         "safety_stock": 5}))


def _held_order(platform: LocalPlatform, n: int, sku: str) -> str:
    order_id = deliver_shopify(platform, shopify_document(n, sku, address1=UNRESOLVED_STREET))
    assert _ok(_api(platform, "GET", f"/orders/{order_id}"))["status"] == "held"
    return order_id


def _until(check: Callable[[], Any], timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while not (found := check()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.3)
    return found


def _held_ids(platform: LocalPlatform) -> set[str]:
    return {o["order_id"] for o in _ok(_api(platform, "GET", "/orders?status=held&limit=200"))["orders"]}


# ---- the browser ---------------------------------------------------------------------------------------------


SCRIPT_ERRORS: list[str] = []


@pytest.fixture(scope="module")
def page(platform: LocalPlatform, browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    opened.set_default_timeout(15_000)
    opened.on("pageerror", lambda error: SCRIPT_ERRORS.append(str(error)))
    yield opened
    context.close()


@pytest.fixture(autouse=True)
def _no_script_errors() -> Iterator[None]:
    """Whatever a screen shows, its scripts never threw (an uncaught error is a blank or stale screen)."""
    SCRIPT_ERRORS.clear()
    yield
    assert SCRIPT_ERRORS == []


def _open(page: Page, platform: LocalPlatform, screen: str) -> None:
    page.goto(f"{platform.base_url}/console/#/{screen}")


def _shot(page: Page, screenshots: Path, name: str) -> None:
    page.wait_for_load_state("networkidle")
    page.screenshot(path=screenshots / f"{name}.png", full_page=True)


def test_signing_in_with_the_local_key_opens_the_held_queue(
    platform: LocalPlatform, page: Page, screenshots: Path,
) -> None:
    page.goto(f"{platform.base_url}/console/")
    page.get_by_label("API key").fill("not-a-key")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#flash")).to_contain_text("invalid")  # the API's own message, not a blank page
    _shot(page, screenshots, "sign-in")
    page.get_by_label("API key").fill(platform.api_key)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Held queue")).to_be_visible()
    assert page.evaluate("sessionStorage.getItem('ocp.apiKey')") == platform.api_key
    assert page.evaluate("localStorage.length") == 0


def test_a_held_order_gets_its_address_fixed_and_is_released(
    platform: LocalPlatform, page: Page, screenshots: Path,
) -> None:
    # Given a paid web-store order held because its street names no district
    _push(platform, "TEA-CONSOLE", 20)
    order_id = _held_order(platform, 701, "TEA-CONSOLE")
    # When the operator finds it in the queue (filtered by its reason), fixes the district and releases it
    _open(page, platform, "held")
    page.get_by_label("Reason").select_option("address_unresolved")
    page.locator("tr", has_text=order_id).click()
    detail = page.locator(f".detail [data-order-id='{order_id}']")
    expect(detail.get_by_text("address_unresolved")).to_be_visible()
    _shot(page, screenshots, "held-queue")
    detail.get_by_label("District").fill("天河区")
    detail.get_by_role("button", name="Save address").click()
    expect(page.locator("#flash")).to_contain_text(f"Saved address of {order_id}")
    page.locator(f".detail [data-order-id='{order_id}']").get_by_role("button", name="Release", exact=True).click()
    expect(page.locator("#flash")).to_contain_text(f"{order_id}: released")
    # Then, through the API, it left the queue, and its timeline names who did it
    assert order_id not in _held_ids(platform)
    order = _ok(_api(platform, "GET", f"/orders/{order_id}"))
    assert order["address"]["district"] == "天河区" and order["status"] != "held"
    operator = [e for e in order["timeline"] if e["hop"] == "operator"]
    assert [e["event"] for e in operator] == ["edited", "released"]
    # signed in with the local key: its principal `local` (no person named, so the actor is the principal too)
    assert [(e["principal"], e["actor"]) for e in operator] == [("local", "local")] * 2


def test_two_held_orders_are_released_in_bulk(platform: LocalPlatform, page: Page) -> None:
    # Given two held orders whose district an operator already checked by phone (they go as they are)
    first, second = (_held_order(platform, n, "TEA-CONSOLE") for n in (702, 703))
    # When both are selected (one by click, one by the keyboard) and released in bulk
    _open(page, platform, "held")
    page.get_by_label("Reason").select_option("address_unresolved")
    page.get_by_label(f"select {first}").check()
    page.locator("tr", has_text=second).click()
    page.keyboard.press("x")
    page.get_by_role("button", name="Release selected (2)").click()
    expect(page.locator("#flash")).to_contain_text("Bulk release")
    # Then neither is held any more (the address hold a person cleared is not raised again)
    assert not {first, second} & _until(lambda: _held_ids(platform) or {"-"})
    for order_id in (first, second):
        assert _ok(_api(platform, "GET", f"/orders/{order_id}"))["status"] != "held"


def test_the_inventory_board_shows_what_the_api_says(platform: LocalPlatform, page: Page, screenshots: Path) -> None:
    # Given a SKU with units on hand, some reserved by an order, and another that runs low
    _push(platform, "CUP-BOARD", 12)
    deliver_shopify(platform, shopify_document(704, "CUP-BOARD", quantity=3))
    # When the board is opened for it
    _open(page, platform, "inventory/CUP-BOARD")
    board = _ok(_api(platform, "GET", "/inventory/CUP-BOARD"))
    row = page.locator("table.board tr[data-warehouse='WH-GZ']")
    expect(row).to_be_visible()
    # Then each number is the API's
    [level] = board["warehouses"]
    for name in ("on_hand", "reserved", "available", "safety_stock"):
        expect(row.locator(f"td[data-field='{name}']")).to_have_text(str(level[name]))
        expect(page.locator(f"tr[data-warehouse='total'] td[data-field='{name}']")).to_have_text(
            str(board["totals"][name]))
    for channel, view in board["channels"].items():
        expect(page.locator(f"tr[data-channel='{channel}'] td[data-field='listed']")).to_have_text(str(view["listed"]))
    assert level["reserved"] == 3
    expect(page.locator("svg.chart path.on-hand")).to_have_count(1)
    expect(page.get_by_role("cell", name="shopify-6200000000000000704")).to_be_visible()  # the ledger's order
    _shot(page, screenshots, "inventory")
    # A SKU at or under its safety stock is highlighted
    _push(platform, "CUP-LOW", 4)
    _open(page, platform, "inventory/CUP-LOW")
    expect(page.locator("table.board tr[data-warehouse='WH-GZ']")).to_have_class("low")


def test_a_return_waiting_for_a_person_is_approved(platform: LocalPlatform, page: Page, screenshots: Path) -> None:
    # Given a delivered order and a return of it that the policy leaves to a person
    policy = {"rules": [{"id": "person", "priority": 1, "when": {"always": True},
                         "then": {"auto_approve": False, "max_auto_amount": 0, "window_days": 30}}]}
    _ok(_api(platform, "PUT", "/rules/return_policy", policy))
    _push(platform, "SET-RETURN", 5)
    order_id = deliver_shopify(platform, shopify_document(705, "SET-RETURN"))
    for event in ("shipped", "delivered"):
        _ok(_api(platform, "POST", "/fulfillment/events", {
            "order_id": order_id, "event": event, "event_id": f"{order_id}-{event}", "at": iso(datetime.now(UTC)),
            "carrier": "SF", "tracking_no": "SF705"}))
    platform.wait_idle(timeout=30)
    return_id = _ok(_api(platform, "POST", "/returns", {
        "order_id": order_id, "lines": [{"sku": "SET-RETURN", "quantity": 1}], "reason": "wrong size"}))["return_id"]
    _until(lambda: _ok(_api(platform, "GET", f"/returns/{return_id}"))["status"] == "awaiting_approval", 40)
    # When the operator approves it on the Returns screen with a reason
    _open(page, platform, "returns")
    row = page.locator(f"tr[data-return-id='{return_id}']")
    expect(row).to_contain_text("99.00 CNY")  # what the returned unit paid (its line's apportioned `paid`)
    row.get_by_label("Reason").fill("checked the photos")
    _shot(page, screenshots, "returns")
    row.get_by_role("button", name="Approve").click()
    expect(page.locator("#flash")).to_contain_text(f"{return_id}: approved")
    # Then the API has it approved by a person
    def decided() -> dict[str, Any] | None:
        found: dict[str, Any] = _ok(_api(platform, "GET", f"/returns/{return_id}"))
        return found if found["status"] != "awaiting_approval" else None

    approved = _until(decided)
    assert approved["decision"]["auto"] is False


def test_an_invalid_rule_document_shows_its_errors_and_keeps_the_version(
    platform: LocalPlatform, page: Page, screenshots: Path,
) -> None:
    before = _ok(_api(platform, "GET", "/rules/routing"))["version"]
    _open(page, platform, "rules/routing")
    page.get_by_label("Document (JSON)").fill(json.dumps({"rules": [{"id": "no-when", "priority": 1}]}))
    page.get_by_role("button", name="Save").click()
    errors = page.locator("ul.errors")
    expect(errors).to_contain_text("rules[0].when")
    expect(page.locator("#flash")).to_contain_text("not valid")
    _shot(page, screenshots, "rules")
    assert _ok(_api(platform, "GET", "/rules/routing"))["version"] == before
    # A dry run of the stored rules against a looked-up order names the rule that fired and its trace
    page.get_by_label("Order id to look up").fill("shopify-6200000000000000701")
    page.get_by_role("button", name="Look up").click()
    expect(page.get_by_label("Order (JSON)")).to_have_value(re.compile("TEA-CONSOLE"))
    page.get_by_role("button", name="Simulate").click()
    expect(page.locator(".simulation")).to_contain_text("Rule fired: default")
    expect(page.locator(".simulation table tbody tr").first).to_be_visible()


def test_an_order_is_found_by_its_channel_id_and_shows_its_timeline(
    platform: LocalPlatform, page: Page, screenshots: Path,
) -> None:
    order_id = "shopify-6200000000000000701"  # released above
    _open(page, platform, "order")
    page.get_by_label("Channel", exact=True).select_option("shopify")
    page.get_by_label("Channel order id").fill("6200000000000000701")
    page.get_by_role("button", name="Find").click()
    expect(page).to_have_url(re.compile(f"#/order/{order_id}$"))
    timeline = page.locator("ol.timeline")
    expect(timeline.locator("li", has_text="released")).to_contain_text("source operator")
    expect(page.locator("h2 .id")).to_have_text(order_id)
    _shot(page, screenshots, "order")


def test_a_stuck_order_is_shown_at_its_hop_and_re_dispatched(
    platform: LocalPlatform, page: Page, screenshots: Path,
) -> None:
    # Given an order the warehouse has not accepted for an hour (its time in `dispatched` dated back)
    order_id = "shopify-6200000000000000701"
    assert _ok(_api(platform, "GET", f"/orders/{order_id}"))["status"] == "dispatched"
    platform.client("dynamodb").update_item(
        TableName=platform.resources.resolve(wiring.Ref(wiring.ORDERS.id)), Key={"order_id": {"S": order_id}},
        UpdateExpression="SET status_since = :at",
        ExpressionAttributeValues={":at": {"S": iso(datetime.now(UTC) - timedelta(hours=1))}})
    # When the stuck screen is opened, it is at the WMS acceptance hop; re-dispatching the hop sends it again
    _open(page, platform, "stuck")
    hop = page.locator("tr[data-hop='wms_acceptance']")
    expect(hop).to_contain_text(order_id)
    _shot(page, screenshots, "stuck")
    hop.get_by_role("button", name="Re-dispatch").click()
    expect(page.locator("#flash")).to_contain_text("Re-dispatch wms_acceptance: 1 queued")

