"""Returns and after-sales through the local runtime over HTTP, the returns state machine running on the embedded
Step Functions with the real handlers: a Douyin refund before shipment stops the order and releases its stock, a
Taobao return is agreed with the return address and received in two graded receipts, a web-store return is picked
up, received, refunded on Shopify and restocked, partial returns add up, big returns wait for a person, bad requests
are refused with reasons, an unsettled refund turns overdue, and an exchange dispatches its replacement. The channel
APIs are the fakes of tests/fakes (on 127.0.0.1, checking every signature)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from infra import wiring
from infra.local import LocalPlatform, config
from infra.local.demo import demo_orders, format_returns, run_demo, run_returns, shopify_headers
from ocp.channels.base import ChannelCredentials
from ocp.domain.clock import iso
from tests.channel_support import douyin_headers, douyin_push, jd_order_info, shop_order, spi_query, taobao_trade
from tests.e2e.wms import bodies, queue_messages
from tests.fakes.channel_apis import FakeChannelApis
from tests.held_support import shopify_document
from tests.support import fixture_bytes, fixture_json

pytestmark = pytest.mark.e2e

DOUYIN_ORDER = "6920000000123456789"
TAOBAO_ORDER = "4105328891234567890"
POLICY = {"rules": [
    {"id": "auto", "priority": 1, "when": {"always": True},
     "then": {"auto_approve": True, "max_auto_amount": 100_000, "window_days": 7, "minor_wear_deduction_percent": 10,
              "refund_overdue_after_minutes": 60}},
]}
RETURN_ADDRESS = {"name": "OCP 广州退货组", "phone": "020-12345678", "province": "广东省", "city": "广州市",
                  "district": "白云区", "detail": "太和镇仓储路8号 退货区",
                  "channel_address_ids": {"douyin": "520001", "taobao": "9100001"}}


SHOPIFY_TOKEN = "shpat_local_returns"


def _credentials() -> dict[str, ChannelCredentials]:
    env = config.credentials_env()
    return {ch: ChannelCredentials(secret=env[config.secret_var(ch)], app_key=env[config.app_key_var(ch)],
                                   access_token=SHOPIFY_TOKEN if ch == "shopify" else None)
            for ch in config.CHANNELS}


@pytest.fixture(scope="module")
def fake() -> Iterator[tuple[FakeChannelApis, str]]:
    app = FakeChannelApis(credentials=_credentials())
    with app.serve() as root:
        yield app, root


@pytest.fixture(scope="module")
def platform(fake: tuple[FakeChannelApis, str]) -> Iterator[LocalPlatform]:
    _, root = fake
    urls = {"douyin": f"{root}/douyin", "taobao": f"{root}/taobao/router/rest", "jd": f"{root}/jd/routerjson",
            "shopify": f"{root}/shopify"}
    with pytest.MonkeyPatch.context() as env:
        for channel, url in urls.items():
            env.setenv(f"OCP_CHANNEL_API_URL_{channel.upper()}", url)
        # A policy minute lasts 50 ms here, and an intercept is checked every second.
        env.setenv("RETURNS_SECONDS_PER_MINUTE", "0.05")
        env.setenv("RETURNS_POLL_S", "1")
        env.setenv("OCP_CHANNEL_ACCESS_TOKEN_SHOPIFY", SHOPIFY_TOKEN)
        with LocalPlatform(port=0, visibility_timeout_s=2) as running:
            assert _api(running, "PUT", "/rules/return_policy", POLICY).status_code == 200
            registered = _api(running, "PUT", "/warehouses/WH-GZ", {"kind": "own", "return_address": RETURN_ADDRESS})
            assert registered.status_code == 200, registered.text
            yield running


@pytest.fixture
def channels(fake: tuple[FakeChannelApis, str]) -> FakeChannelApis:
    return fake[0]


# ---- talking to the platform ---------------------------------------------------------------------------------


def _api(platform: LocalPlatform, method: str, path: str, body: Any = None) -> requests.Response:
    return requests.request(method, f"{platform.base_url}{path}", json=body, timeout=30,
                            headers={"x-api-key": platform.api_key, "x-ocp-actor": "cs@shop.cn"})


def _push(platform: LocalPlatform, sku: str, on_hand: int, version: int = 1) -> None:
    pushed = _api(platform, "PUT", f"/inventory/WH-GZ/{sku}", {"on_hand": on_hand, "version": version})
    assert pushed.status_code == 200 and pushed.json()["applied"], pushed.text


def _board(platform: LocalPlatform, sku: str) -> tuple[int, int]:
    response = _api(platform, "GET", f"/inventory/{sku}")
    if response.status_code == 404:
        return 0, 0
    totals = response.json()["totals"]
    return totals["on_hand"], totals["reserved"]


def _order(platform: LocalPlatform, order_id: str) -> dict[str, Any]:
    response = _api(platform, "GET", f"/orders/{order_id}")
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def _return(platform: LocalPlatform, return_id: str) -> dict[str, Any]:
    response = _api(platform, "GET", f"/returns/{return_id}")
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def _until(platform: LocalPlatform, return_id: str, done: Callable[[dict[str, Any]], bool],
           timeout: float = 40) -> dict[str, Any]:
    """The after-sale once `done` holds (its workflow runs on its own threads)."""
    deadline = time.monotonic() + timeout
    while True:
        response = _api(platform, "GET", f"/returns/{return_id}")
        if response.status_code == 200 and done(response.json()):
            found: dict[str, Any] = response.json()
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"after-sale {return_id} not there in {timeout} s: {response.text}")
        time.sleep(0.3)


def _status(*statuses: str) -> Callable[[dict[str, Any]], bool]:
    return lambda after_sale: after_sale["status"] in statuses


def _callback(platform: LocalPlatform, order_id: str, event: str, at: datetime | None = None,
              **extra: Any) -> dict[str, Any]:
    body = {"order_id": order_id, "event": event, "event_id": f"{order_id}-{event}-{time.monotonic_ns()}",
            "at": iso(at or datetime.now(UTC)), **extra}
    response = _api(platform, "POST", "/fulfillment/events", body)
    assert response.status_code == 200, response.text
    platform.wait_idle(timeout=30)
    answer: dict[str, Any] = response.json()
    return answer


def _delivered(platform: LocalPlatform, order_id: str, days_ago: int = 0) -> None:
    """Shipped and delivered now (after the stock pushes, so its units leave on_hand); `days_ago`: then the stored
    order is dated back, as if delivered that long ago (a status never moves back through the API)."""
    _callback(platform, order_id, "shipped", carrier="SF", tracking_no=f"SF{order_id[-8:]}")
    assert _callback(platform, order_id, "delivered")["status"] == "delivered"
    if days_ago:
        table = platform.client("dynamodb")
        table.update_item(TableName=platform.resources.resolve(wiring.Ref(wiring.ORDERS.id)),
                          Key={"order_id": {"S": order_id}}, UpdateExpression="SET status_since = :at",
                          ExpressionAttributeValues={":at": {"S": iso(datetime.now(UTC) - timedelta(days=days_ago))}})


def _shopify_order(platform: LocalPlatform, channels: FakeChannelApis, n: int, sku: str, quantity: int = 1,
                   price: str = "99.00") -> str:
    document = shopify_document(n, sku, quantity=quantity, price=price)
    channels.put_order("shopify", document)
    _shopify_webhook(platform, "orders/create", document)
    return f"shopify-{document['id']}"


# ---- Douyin: refund before shipment ----------------------------------------------------------------------------


def test_a_douyin_refund_before_shipment_stops_the_order_releases_its_stock_and_is_agreed_in_fen(
    platform: LocalPlatform, channels: FakeChannelApis,
) -> None:
    # Given a Douyin order with its warehouse (dispatched), its stock reserved
    for sku in ("TEA-OOLONG-GIFTBOX", "CUP-GLASS", "GIFT-OOLONG-8G"):
        _push(platform, sku, 10)
    channels.put_order("douyin", shop_order("channels/douyin/order_detail.multi_line.json"))
    body = douyin_push({"tag": "101", "msg_id": "as-e2e-101", "data": {"p_id": int(DOUYIN_ORDER)}})
    assert requests.post(f"{platform.base_url}/webhooks/douyin", data=body, timeout=15,
                         headers=douyin_headers(body, _credentials()["douyin"])).status_code == 200
    platform.wait_idle(timeout=30)
    order_id = f"douyin-{DOUYIN_ORDER}"
    assert _order(platform, order_id)["status"] == "dispatched"
    assert _board(platform, "TEA-OOLONG-GIFTBOX") == (10, 2)
    # When the buyer asks for a refund of the whole order before it ships (after-sale type 2), pushed as tag 200
    record = fixture_json("channels/douyin/aftersale_detail.refund_only.json")["data"]
    info = record["process_info"]["after_sale_info"]
    info.update(after_sale_id="7300000000123456710", refund_total_amount=39300, refund_post_amount=600)
    record["order_info"]["sku_order_infos"] = [
        {"sku_order_id": "6920000000123456790", "order_status": 2, "pay_amount": 29512, "item_quantity": 2},
        {"sku_order_id": "6920000000123456791", "order_status": 2, "pay_amount": 9188, "item_quantity": 1},
        {"sku_order_id": "6920000000123456792", "order_status": 2, "pay_amount": 0, "item_quantity": 1}]
    channels.put_aftersale("douyin", record)
    push = douyin_push({"tag": "200", "msg_id": "as-e2e-200", "data": {
        "aftersale_id": 7300000000123456710, "p_id": int(DOUYIN_ORDER), "aftersale_type": 2}})
    response = requests.post(f"{platform.base_url}/webhooks/douyin", data=push, timeout=15,
                             headers=douyin_headers(push, _credentials()["douyin"]))
    assert response.status_code == 200 and response.json() == {"code": 0, "msg": "success"}
    platform.wait_idle(timeout=30)
    return_id = "douyin-as-7300000000123456710"
    # Then the warehouse is asked to stop the order (a cancel instruction), and the after-sale waits for it
    _until(platform, return_id, _status("intercepting"))
    assert _order(platform, order_id)["fulfillment"]["stop"] is not None
    # When the warehouse confirms it stopped the parcel
    _callback(platform, order_id, "cancelled", reason="intercepted for a refund")
    # Then the order is cancelled, its units are back on sale, and the refund of everything the buyer paid (fen, with
    # the postage) is agreed on Douyin at the record's version
    refunded = _until(platform, return_id, _status("refund_pending", "refunded", "refund_overdue"))
    assert _order(platform, order_id)["status"] == "cancelled"
    assert _board(platform, "TEA-OOLONG-GIFTBOX") == (10, 0) and _board(platform, "CUP-GLASS") == (10, 0)
    assert refunded["refund"]["amount"] == 39300 and refunded["refund"]["shipping"] == 600
    [agreed] = [w for w in channels.aftersale_writes("douyin") if w.accepted]
    assert (agreed.method, agreed.aftersale_id, agreed.amount, agreed.version) == (
        "afterSale.operate:201", "7300000000123456710", 39300, str(info["update_time"]))
    # When Douyin says the money went out (tag 206)
    success = douyin_push({"tag": "206", "msg_id": "as-e2e-206", "data": {
        "aftersale_id": 7300000000123456710, "p_id": int(DOUYIN_ORDER)}})
    assert requests.post(f"{platform.base_url}/webhooks/douyin", data=success, timeout=15,
                         headers=douyin_headers(success, _credentials()["douyin"])).status_code == 200
    platform.wait_idle(timeout=30)
    # Then the after-sale is refunded, and the order's timeline tells the story
    assert _until(platform, return_id, _status("refunded"))["refund"]["state"] == "settled"
    events = [(e["hop"], e["event"]) for e in _order(platform, order_id)["timeline"] if e["hop"] == "aftersale"]
    assert ("aftersale", "requested") in events and ("aftersale", "settled") in events


# ---- Taobao: return with the buyer's waybill, two graded receipts -----------------------------------------------


def test_a_taobao_return_is_agreed_with_the_address_received_in_two_graded_receipts_and_refunded_exactly(
    platform: LocalPlatform, channels: FakeChannelApis,
) -> None:
    # Given a delivered Taobao order (2 teas paid 348.38 on line 4105328891234567891)
    for sku in ("TEA-LONGJING-250", "CUP-CELADON", "GIFT-CHAZE"):
        _push(platform, sku, 10)
    channels.put_order("taobao", taobao_trade("channels/taobao/trade_fullinfo.multi_line.json"))
    relay = fixture_bytes("channels/taobao/tmc.trade_buyer_pay.json")
    assert requests.post(f"{platform.base_url}/webhooks/taobao", data=relay, timeout=15, params=spi_query(
        "taobao", relay, at=datetime.now(UTC), credentials=_credentials()["taobao"])).status_code == 200
    platform.wait_idle(timeout=30)
    order_id = f"taobao-{TAOBAO_ORDER}"
    assert _order(platform, order_id)["status"] == "dispatched"
    _delivered(platform, order_id)
    # When the buyer asks to return both teas (TMC RefundCreated)
    refund = fixture_json("channels/taobao/aftersale_refund.return_goods.json")["refund_get_response"]["refund"]
    refund["refund_fee"] = "348.38"
    channels.put_aftersale("taobao", refund)
    _tmc(platform, "taobao_refund_RefundCreated", refund["refund_id"])
    return_id = f"taobao-as-{refund['refund_id']}"
    # Then the return is agreed on Taobao with the warehouse's return address, and OCP waits for the buyer
    waiting = _until(platform, return_id, _status("awaiting_buyer_shipment"))
    assert waiting["kind"] == "return_refund" and waiting["refund_amount"] == 0
    agreed = [w for w in channels.aftersale_writes("taobao") if w.method == "taobao.rp.returngoods.agree"]
    assert [w.accepted for w in agreed] == [True]
    # When the buyer ships the goods back (the record gets the waybill; TMC RefundBuyerReturnGoods)
    record = channels.aftersale("taobao", refund["refund_id"])
    returned_version = int(record["refund_version"]) + 1000
    record.update(status="WAIT_SELLER_CONFIRM_GOODS", sid="YT7700000000001", company_name="圆通速递",
                  refund_version=returned_version,
                  modified=(datetime.now(UTC) + timedelta(hours=8)).strftime("%Y-%m-%d %H:%M:%S"))
    _tmc(platform, "taobao_refund_RefundBuyerReturnGoods", refund["refund_id"])
    # Then the buyer's waybill is recorded and OCP waits for the goods
    shipped = _until(platform, return_id, _status("awaiting_receipt"))
    assert (shipped["label"]["source"], shipped["label"]["waybill_no"]) == ("buyer", "YT7700000000001")
    # When the warehouse receives one intact tea, then one worn (the second scan sent twice)
    before = _board(platform, "TEA-LONGJING-250")
    first = _api(platform, "POST", f"/returns/{return_id}/receipt",
                 {"receipt_id": "tb-r1", "lines": [{"sku": "TEA-LONGJING-250", "quantity": 1, "grade": "intact"}]})
    assert first.status_code == 200, first.text
    for _ in range(2):
        second = _api(platform, "POST", f"/returns/{return_id}/receipt", {
            "receipt_id": "tb-r2", "lines": [{"sku": "TEA-LONGJING-250", "quantity": 1, "grade": "minor_wear"}]})
        assert second.status_code == 200, second.text
    # Then one tea is back on sale, one is second grade, and the refund is the line's paid less 10% of the worn
    # tea's share (17419 of 34838), agreed on Taobao in fen at the current version
    done = _until(platform, return_id, _status("refund_pending", "refunded", "refund_overdue"))
    assert _board(platform, "TEA-LONGJING-250")[0] == before[0] + 1
    assert _board(platform, "TEA-LONGJING-250@second_grade")[0] == 1
    assert [r["receipt_id"] for r in done["receipts"]] == ["tb-r1", "tb-r2"]
    assert (done["refund"]["lines_amount"], done["refund"]["deductions"], done["refund"]["amount"]) == (
        34838, 1741, 33097)
    [paid] = [w for w in channels.aftersale_writes("taobao") if w.method == "taobao.rp.refunds.agree"]
    assert (paid.amount, paid.accepted, paid.version) == (33097, True, str(returned_version))
    # When Taobao says the refund succeeded / Then refunded
    _tmc(platform, "taobao_refund_RefundSuccess", refund["refund_id"])
    assert _until(platform, return_id, _status("refunded"))["refund"]["state"] == "settled"


def _tmc(platform: LocalPlatform, topic: str, refund_id: str) -> None:
    message = {"topic": topic, "id": f"45{time.monotonic_ns()}", "pub_time": "2026-11-11 12:30:00",
               "user_nick": "ocp旗舰店", "content": json.dumps({"refund_id": int(refund_id), "tid": int(TAOBAO_ORDER)})}
    body = json.dumps(message, ensure_ascii=False).encode()
    response = requests.post(f"{platform.base_url}/webhooks/taobao", data=body, timeout=15, params=spi_query(
        "taobao", body, at=datetime.now(UTC), credentials=_credentials()["taobao"]))
    assert response.status_code == 200, response.text
    platform.wait_idle(timeout=30)


# ---- JD: polled, not pushed ------------------------------------------------------------------------------------


def test_a_jd_refund_application_is_polled_and_its_order_cancelled_before_shipment(
    platform: LocalPlatform, channels: FakeChannelApis,
) -> None:
    # Given a JD order held for stock (none pushed) and its buyer's cancel-and-refund application, both modified just
    # now on JD (which pushes nothing)
    now_gmt8 = (datetime.now(UTC) + timedelta(hours=8)).strftime("%Y-%m-%d %H:%M:%S")
    info = jd_order_info("channels/jd/order_info.multi_line.json")
    info["modified"] = now_gmt8
    channels.put_order("jd", info)
    apply = fixture_json("channels/jd/aftersale_refundapply.json")[
        "jingdong_pop_afs_soa_refundapply_queryPageList_responce"]["queryResult"]["result"][0]
    apply.update(applyTime=now_gmt8, applyRefundSum=40700)
    channels.put_aftersale("jd", apply)
    # When the poller's schedule ticks (orders and after-sales from their own marks)
    result = platform.run_schedule("channel-poll")
    platform.wait_idle(timeout=40)
    # Then the application became an after-sale, the order was cancelled, and JD was told to refund (status 1)
    jd = next(r for r in result["results"] if r["channel"] == "jd")
    assert jd["aftersales"]["enqueued"] >= 1, json.dumps(result)
    return_id = f"jd-as-refund-{apply['id']}"
    done = _until(platform, return_id, _status("refund_pending", "refunded", "refund_overdue"))
    assert (done["kind"], done["refund"]["amount"]) == ("refund_only", 40700)
    assert _order(platform, "jd-300123456789")["status"] == "cancelled"
    replies = [(w.method, w.amount) for w in channels.aftersale_writes("jd") if "replyRefund" in w.method]
    assert replies == [("jingdong.pop.afs.soa.refundapply.replyRefund:1", 40700)]


# ---- the web store: POST /returns -------------------------------------------------------------------------------


def test_a_web_store_return_is_approved_picked_up_received_refunded_on_shopify_and_restocked(
    platform: LocalPlatform, channels: FakeChannelApis,
) -> None:
    # Given a delivered web-store order of 2 tea sets at 99.00
    _push(platform, "SET-WEB", 5)
    order_id = _shopify_order(platform, channels, 301, "SET-WEB", quantity=2)
    _delivered(platform, order_id)
    # When customer service asks for a return of both
    response = _api(platform, "POST", "/returns", {"order_id": order_id, "request_id": "cs-301",
                                                  "lines": [{"sku": "SET-WEB", "quantity": 2, "reason": "不喜欢"}]})
    assert response.status_code == 202, response.text
    return_id = response.json()["return_id"]
    # Then it is auto-approved and a carrier pickup is booked (the label)
    waiting = _until(platform, return_id, _status("awaiting_receipt"))
    assert waiting["decision"]["auto"] and waiting["label"]["source"] == "ocp"
    assert waiting["label"]["waybill_no"].startswith("SF")
    # When the warehouse receives both intact
    receipt = _api(platform, "POST", f"/returns/{return_id}/receipt",
                   {"lines": [{"sku": "SET-WEB", "quantity": 2, "grade": "intact"}]})
    assert receipt.status_code == 200, receipt.text
    # Then they are back on sale and the refund of exactly 198.00 is issued on Shopify, once
    refunding = _until(platform, return_id, _status("refund_pending", "refunded", "refund_overdue"))
    assert refunding["refund"]["amount"] == 19800 and _board(platform, "SET-WEB") == (5 + 2 - 2, 0)
    shopify_order = order_id.removeprefix("shopify-")
    [issued] = channels.shopify_refunds[shopify_order]
    assert issued["note"] == f"ocp:{return_id}"
    # When Shopify tells OCP the refund was created (refunds/create)
    _shopify_webhook(platform, "refunds/create", {"id": 91, "order_id": int(shopify_order),
                                                  "note": f"ocp:{return_id}"})
    # Then refunded; and the same request again answers the same after-sale
    assert _until(platform, return_id, _status("refunded"))["refund"]["state"] == "settled"
    again = _api(platform, "POST", "/returns", {"order_id": order_id, "request_id": "cs-301",
                                               "lines": [{"sku": "SET-WEB", "quantity": 2, "reason": "不喜欢"}]})
    assert (again.status_code, again.json()["return_id"]) == (202, return_id)


def test_two_partial_returns_of_one_line_refund_its_paid_exactly(
    platform: LocalPlatform, channels: FakeChannelApis,
) -> None:
    # Given a delivered line of 3 units at 33.33 (99.99 paid)
    _push(platform, "CUP-THIRDS", 5)
    order_id = _shopify_order(platform, channels, 302, "CUP-THIRDS", quantity=3, price="33.33")
    _delivered(platform, order_id)
    paid = next(line["paid"] for line in _order(platform, order_id)["lines"])
    # When the buyer keeps them but is refunded for 1, then for 2 (refund after shipment, no goods back)
    amounts = []
    for n, quantity in ((1, 1), (2, 2)):
        response = _api(platform, "POST", "/returns", {"order_id": order_id, "kind": "refund_only_after_ship",
                                                      "request_id": f"thirds-{n}",
                                                      "lines": [{"sku": "CUP-THIRDS", "quantity": quantity}]})
        assert response.status_code == 202, response.text
        done = _until(platform, response.json()["return_id"], _status("refund_pending", "refund_overdue"))
        amounts.append(done["refund"]["amount"])
    # Then the two refunds add up to the line's paid, to the fen
    assert sum(amounts) == paid == 9999 and amounts == [3333, 6666]


def test_a_big_return_waits_for_a_person_and_goes_on_once_approved(
    platform: LocalPlatform, channels: FakeChannelApis,
) -> None:
    # Given a delivered order worth 1,200.00 (above the 1,000.00 auto-approval limit)
    _push(platform, "SET-BIG", 5)
    order_id = _shopify_order(platform, channels, 303, "SET-BIG", price="1200.00")
    _delivered(platform, order_id)
    response = _api(platform, "POST", "/returns", {"order_id": order_id,
                                                  "lines": [{"sku": "SET-BIG", "quantity": 1}]})
    return_id = response.json()["return_id"]
    # Then it waits for approval, listed in its status and on the stuck report once past its SLA
    waiting = _until(platform, return_id, lambda a: a["status"] == "awaiting_approval" and a["wait"] is not None)
    assert "above the auto-approval limit" in waiting["steps"][-1]["detail"]
    listed = _api(platform, "GET", "/returns?status=awaiting_approval").json()["returns"]
    assert return_id in [r["return_id"] for r in listed]
    # When a person approves it
    approved = _api(platform, "POST", f"/returns/{return_id}/approve", {"note": "VIP"})
    assert approved.status_code == 200, approved.text
    # Then the workflow goes on to the pickup
    after = _until(platform, return_id, _status("awaiting_receipt"))
    assert (after["decision"]["by"], after["decision"]["auto"]) == ("cs@shop.cn", False)


def test_out_of_window_and_over_quantity_requests_are_refused_with_their_reasons(
    platform: LocalPlatform, channels: FakeChannelApis,
) -> None:
    # Given one order delivered 10 days ago and one delivered now
    _push(platform, "SET-OLD", 5)
    old = _shopify_order(platform, channels, 304, "SET-OLD")
    _delivered(platform, old, days_ago=10)
    recent = _shopify_order(platform, channels, 305, "SET-OLD")
    _delivered(platform, recent)
    # When / Then: outside the 7-day window → 422 naming the window
    late = _api(platform, "POST", "/returns", {"order_id": old, "lines": [{"sku": "SET-OLD", "quantity": 1}]})
    assert late.status_code == 422, late.text
    assert [(d["code"], d["sku"]) for d in late.json()["error"]["details"]] == [("window_closed", "SET-OLD")]
    # And more than bought → 422 naming the quantity; an unknown order → 404
    over = _api(platform, "POST", "/returns", {"order_id": recent, "lines": [{"sku": "SET-OLD", "quantity": 2}]})
    assert (over.status_code, over.json()["error"]["details"][0]["code"]) == (422, "quantity_exceeded")
    missing = _api(platform, "POST", "/returns", {"order_id": "shopify-0", "lines": [{"sku": "X", "quantity": 1}]})
    assert missing.status_code == 404
    assert _api(platform, "GET", f"/returns?order_id={old}").json()["returns"] == []


def test_an_unsettled_refund_turns_overdue_and_is_settled_later(
    platform: LocalPlatform, channels: FakeChannelApis,
) -> None:
    # Given a refund agreed (refund after shipment) that nobody settles; the policy allows 60 minutes (3 s here)
    _push(platform, "SET-LATE", 5)
    order_id = _shopify_order(platform, channels, 306, "SET-LATE")
    _delivered(platform, order_id)
    response = _api(platform, "POST", "/returns", {"order_id": order_id, "kind": "refund_only_after_ship",
                                                  "lines": [{"sku": "SET-LATE", "quantity": 1}]})
    return_id = response.json()["return_id"]
    # When the deadline passes / Then it turns refund_overdue and shows on the stuck report
    overdue = _until(platform, return_id, _status("refund_overdue"))
    assert overdue["refund"]["state"] == "requested"
    hop = next(h for h in _api(platform, "GET", "/orders/stuck").json()["hops"] if h["hop"] == "refund_overdue")
    assert return_id in [o["return_id"] for o in hop["orders"]]
    # When the payment provider confirms it (twice) / Then refunded, once
    for _ in range(2):
        settled = _api(platform, "POST", f"/refunds/{overdue['refund']['refund_id']}/settled")
        assert settled.status_code == 200, settled.text
    assert _until(platform, return_id, _status("refunded"))["refund"]["state"] == "settled"


def test_an_exchange_reserves_and_dispatches_its_replacement(
    platform: LocalPlatform, channels: FakeChannelApis,
) -> None:
    # Given a delivered order of one tea set exchanged (the same item again)
    _push(platform, "SET-SWAP", 3)
    order_id = _shopify_order(platform, channels, 307, "SET-SWAP")
    _delivered(platform, order_id)
    response = _api(platform, "POST", "/returns", {"order_id": order_id, "kind": "exchange",
                                                  "lines": [{"sku": "SET-SWAP", "quantity": 1, "reason": "broken"}]})
    return_id = response.json()["return_id"]
    _until(platform, return_id, _status("awaiting_receipt"))
    # When the broken one comes back
    assert _api(platform, "POST", f"/returns/{return_id}/receipt",
                {"lines": [{"sku": "SET-SWAP", "quantity": 1, "grade": "unsellable"}]}).status_code == 200
    # Then a free replacement order is reserved and handed to the warehouse, and the broken unit is in defective stock
    closed = _until(platform, return_id, _status("closed"))
    replacement_id = closed["replacement_order_id"]
    platform.wait_idle(timeout=30)
    replacement = _order(platform, replacement_id)
    assert (replacement["status"], replacement["amounts"]["paid"], replacement["aftersale_of"]) == (
        "dispatched", 0, return_id)
    queued = queue_messages(platform, platform.queue_url("wms-wh-gz"), expected=10_000, timeout_s=3)
    instructions = [b for b in bodies(queued) if b["order_id"] == replacement_id]
    assert instructions and instructions[0]["lines"][0]["sku"] == "SET-SWAP"
    assert _board(platform, "SET-SWAP@defective") == (1, 0)


def test_a_return_requested_on_shopify_is_approved_there_received_and_refunded_once(
    platform: LocalPlatform, channels: FakeChannelApis,
) -> None:
    # Given a delivered web-store order, and its buyer's return request on Shopify (returns/request)
    _push(platform, "SET-SHOPRET", 5)
    order_id = _shopify_order(platform, channels, 308, "SET-SHOPRET", quantity=2)
    _delivered(platform, order_id)
    node = fixture_json("channels/shopify/aftersale_return.json")["data"]["return"]
    node["id"] = "gid://shopify/Return/945000308"
    node["order"] = {"id": f"gid://shopify/Order/{order_id.removeprefix('shopify-')}"}
    node["returnLineItems"]["nodes"][0].update(
        quantity=1, fulfillmentLineItem={"lineItem": {"id": "gid://shopify/LineItem/308", "sku": "SET-SHOPRET"}})
    channels.put_aftersale("shopify", node)
    _shopify_webhook(platform, "returns/request", {"id": 945000308, "admin_graphql_api_id": node["id"],
                                                   "status": "requested"})
    return_id = "shopify-as-945000308"
    # Then OCP approved it on Shopify and waits for the parcel (no pickup: the buyer uses Shopify's return label)
    waiting = _until(platform, return_id, _status("awaiting_buyer_shipment", "awaiting_receipt"))
    assert waiting["channel_aftersale_id"] == node["id"] and waiting["lines"][0]["quantity"] == 1
    # When the warehouse receives it intact
    assert _api(platform, "POST", f"/returns/{return_id}/receipt",
                {"lines": [{"sku": "SET-SHOPRET", "quantity": 1, "grade": "intact"}]}).status_code == 200
    # Then one unit's share (99.00) is refunded on Shopify, once, noted with the return
    refunding = _until(platform, return_id, _status("refund_pending", "refund_overdue", "refunded"))
    assert refunding["refund"]["amount"] == 9900
    [issued] = channels.shopify_refunds[order_id.removeprefix("shopify-")]
    assert issued["note"] == f"ocp:{node['id']}"
    # When Shopify's refunds/create arrives / Then refunded
    _shopify_webhook(platform, "refunds/create", {"id": 92, "order_id": int(order_id.removeprefix("shopify-")),
                                                  "note": issued["note"]})
    assert _until(platform, return_id, _status("refunded"))["refund"]["state"] == "settled"


def _shopify_webhook(platform: LocalPlatform, topic: str, document: dict[str, Any]) -> None:
    body = json.dumps(document, ensure_ascii=False).encode()
    headers = shopify_headers(body, platform.credentials["OCP_CHANNEL_SECRET_SHOPIFY"]) | {"X-Shopify-Topic": topic}
    response = requests.post(f"{platform.base_url}/webhooks/shopify", data=body, headers=headers, timeout=30)
    assert response.status_code == 200, response.text
    platform.wait_idle(timeout=30)


def test_the_demo_asks_for_an_after_sale_of_its_first_delivered_orders(
    platform: LocalPlatform, channels: FakeChannelApis,
) -> None:
    # Given the demo's orders posted (`ocp demo`), and known to the (fake) Shopify API that refunds them
    for order in demo_orders():
        channels.put_order("shopify", json.loads(order.body))
    results = run_demo(platform.base_url, platform.credentials["OCP_CHANNEL_SECRET_SHOPIFY"], platform.api_key)
    # When the demo delivers two of them and asks for a return and a refund
    returns = run_returns(platform.base_url, platform.api_key, results, wait_s=30)
    # Then both were accepted and went their way: the return waits for its parcel, the refund for its money
    assert [(r.kind, r.status) for r in returns] == [("return_refund", 202), ("refund_only_after_ship", 202)]
    assert returns[0].return_status == "awaiting_receipt"
    assert returns[1].return_status in ("refund_pending", "refund_overdue") and returns[1].refund_fen
    assert "refund (fen)" in format_returns(returns)


def test_a_marketplace_request_ocp_would_refuse_waits_for_a_person_who_refuses_it_on_the_channel(
    platform: LocalPlatform, channels: FakeChannelApis,
) -> None:
    # Given a delivered order of one tea set, and a return request on Shopify for two (more than bought)
    _push(platform, "SET-TOOMANY", 5)
    order_id = _shopify_order(platform, channels, 309, "SET-TOOMANY")
    _delivered(platform, order_id)
    node = fixture_json("channels/shopify/aftersale_return.json")["data"]["return"]
    node["id"] = "gid://shopify/Return/945000309"
    node["order"] = {"id": f"gid://shopify/Order/{order_id.removeprefix('shopify-')}"}
    node["returnLineItems"]["nodes"][0].update(
        quantity=2, fulfillmentLineItem={"lineItem": {"id": "gid://shopify/LineItem/309", "sku": "SET-TOOMANY"}})
    channels.put_aftersale("shopify", node)
    _shopify_webhook(platform, "returns/request", {"id": 945000309, "admin_graphql_api_id": node["id"]})
    return_id = "shopify-as-945000309"
    # Then OCP does not refuse on its own: a person sees why it would
    waiting = _until(platform, return_id, lambda a: a["status"] == "awaiting_approval" and a["wait"] is not None)
    assert "2 asked, 1 of 1 bought left" in waiting["refusal"]
    # When the person rejects it without the channel's reason code / Then 400 naming the field
    refused = _api(platform, "POST", f"/returns/{return_id}/reject", {"note": "only one was bought"})
    assert (refused.status_code, refused.json()["error"]["details"][0]["field"]) == (400, "reason_code")
    # When with one / Then the return is declined on Shopify with it, and the after-sale is rejected
    assert _api(platform, "POST", f"/returns/{return_id}/reject",
                {"note": "only one was bought", "reason_code": "OTHER"}).status_code == 200
    rejected = _until(platform, return_id, lambda a: any(s["step"] == "refused_on_channel" for s in a["steps"]))
    assert rejected["status"] == "rejected"
    declined = [w for w in channels.aftersale_writes("shopify") if w.method == "returnDeclineRequest"]
    assert [(w.aftersale_id, w.accepted) for w in declined] == [(node["id"], True)]
