"""Signed deliveries from all four channels, as each sends them (CHANNELS.md), for the drill's hot SKUs.

Each drill order is one unit of one hot SKU bought by its own buyer (own id and phone: the duplicate check
must not hold them). Besides the first delivery an order may get:
- a `duplicate`: the very same delivery again (Shopify's retry keeps its webhook id; an SPI relay re-signs the
  same body with a new timestamp; doudian resends the same push);
- a `late_view`: an older view of the order arriving after the newer one (out of order): the unpaid view
  (Taobao `WAIT_BUYER_PAY`, JD without `paymentConfirmTime`, Shopify `financial_status: pending`) modified
  before the paid one, or for Douyin its TradeCreate push after its TradePaid. It must not move the order back.

Douyin pushes are thin (they name the order; the stack pulls `order.orderDetail` from doudian), so each Douyin
order also carries the full document doudian would serve: `DrillOrder.document`.
"""

from __future__ import annotations

import copy
import json
import random
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import resources
from typing import Any
from urllib.parse import quote

from infra.local.demo import shopify_signature
from ocp.channels.signing import china_time_text, top_md5
from ocp.channels.wire.douyin import event_sign

CHANNELS: tuple[str, ...] = ("shopify", "taobao", "jd", "douyin")
UNIT_PRICE_FEN = 9900
SHOP_DOMAIN = "ocp-drill.myshopify.com"


@dataclass(frozen=True)
class Credentials:
    secret: str
    app_key: str | None = None


@dataclass(frozen=True)
class DrillOrder:
    number: int
    channel: str
    channel_order_id: str
    sku: str
    document: dict[str, Any]
    """The full channel document of the paid order (what the channel's API returns for it)."""


@dataclass(frozen=True)
class Delivery:
    order: DrillOrder
    kind: str
    """`first`, `duplicate` or `late_view`."""
    body: bytes
    headers: Mapping[str, str]


@dataclass(frozen=True)
class Request:
    path: str
    body: bytes
    headers: dict[str, str]


def sku_names(run_id: str, count: int) -> list[str]:
    """The drill's hot SKUs: new ones per run, so a drill never counts another run's reservations."""
    return [f"DRILL-{run_id}-{n + 1}" for n in range(count)]


def drill_orders(run_id: str, count: int, skus: Sequence[str], channels: Sequence[str], started: datetime,
                 seed: int = 7) -> list[DrillOrder]:
    """`count` paid one-unit orders, each on a seeded-random channel and hot SKU."""
    chooser = random.Random(seed)
    base = int(run_id, 16) % 10**9 * 10**6
    orders = []
    for number in range(count):
        channel, sku = chooser.choice(list(channels)), chooser.choice(list(skus))
        channel_order_id = str(_ID_FLOOR[channel] + base + number)
        document = _BUILDERS[channel](channel_order_id, number, sku, started)
        orders.append(DrillOrder(number, channel, channel_order_id, sku, document))
    return orders


def deliveries_of(order: DrillOrder, credentials: Mapping[str, Credentials]) -> dict[str, Delivery]:
    """The order's paid delivery (`first`, also what a `duplicate` repeats) and its older view (`late_view`)."""
    paid, late = _VIEWS[order.channel](order)
    secret = credentials[order.channel].secret
    if order.channel == "shopify":
        first = Delivery(order, "first", paid, _shopify_headers(paid, secret, "orders/paid"))
        return {"first": first, "duplicate": Delivery(order, "duplicate", paid, first.headers),
                "late_view": Delivery(order, "late_view", late, _shopify_headers(late, secret, "orders/create"))}
    return {"first": Delivery(order, "first", paid, {}), "duplicate": Delivery(order, "duplicate", paid, {}),
            "late_view": Delivery(order, "late_view", late, {})}


def signed_request(delivery: Delivery, credentials: Mapping[str, Credentials], now: datetime) -> Request:
    """The HTTP request for `delivery`, signed at `now` (SPI signatures carry a timestamp checked within 10 min)."""
    channel = delivery.order.channel
    creds = credentials[channel]
    headers = {"Content-Type": "application/json", **delivery.headers}
    path = f"/webhooks/{channel}"
    if channel in ("taobao", "jd"):
        query = {"app_key": creds.app_key or "", "timestamp": china_time_text(now), "sign_method": "md5",
                 "method": f"ocp.{channel}.relay"}
        query["sign"] = top_md5(creds.secret, query, delivery.body)
        path += "?" + "&".join(f"{k}={quote(v, safe='')}" for k, v in query.items())
    elif channel == "douyin":
        headers.update({"app-id": creds.app_key or "",
                        "event-sign": event_sign(creds.app_key or "", creds.secret, delivery.body)})
    return Request(path, delivery.body, headers)


def _shopify_headers(body: bytes, secret: str, topic: str) -> dict[str, str]:
    return {"X-Shopify-Topic": topic, "X-Shopify-Hmac-Sha256": shopify_signature(secret, body),
            "X-Shopify-Shop-Domain": SHOP_DOMAIN, "X-Shopify-API-Version": "2026-04",
            "X-Shopify-Webhook-Id": str(uuid.uuid4()), "X-Shopify-Event-Id": str(uuid.uuid4()),
            "X-Shopify-Triggered-At": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")}


# ---- documents -------------------------------------------------------------------------------------------------

_ID_FLOOR = {"shopify": 5_100_000_000_000_000_000, "taobao": 4_200_000_000_000_000_000,
             "jd": 3_100_000_000_000_000, "douyin": 6_930_000_000_000_000_000}
_YUAN = f"{UNIT_PRICE_FEN // 100}.{UNIT_PRICE_FEN % 100:02d}"


def _phone(number: int) -> str:
    return f"139{number % 10**8:08d}"


def _gmt8(moment: datetime) -> str:
    return china_time_text(moment)


def _shopify(channel_order_id: str, number: int, sku: str, started: datetime) -> dict[str, Any]:
    template = resources.files("infra.local") / "demo_orders" / "1001-double11-tea.json"
    doc: dict[str, Any] = json.loads(template.read_bytes())
    money = {"shop_money": {"amount": _YUAN, "currency_code": "CNY"},
             "presentment_money": {"amount": _YUAN, "currency_code": "CNY"}}
    zero = {"shop_money": {"amount": "0.00", "currency_code": "CNY"},
            "presentment_money": {"amount": "0.00", "currency_code": "CNY"}}
    customer_id = 8_200_000_000_000_000_000 + int(channel_order_id) % 10**15
    phone = f"+86 {_phone(number)}"
    at = started.isoformat(timespec="seconds").replace("+00:00", "Z")
    doc.update(id=int(channel_order_id), admin_graphql_api_id=f"gid://shopify/Order/{channel_order_id}",
               name=f"#D{number}", order_number=number + 1, number=number + 1, created_at=at, processed_at=at,
               updated_at=at, financial_status="paid", phone=phone, total_line_items_price=_YUAN,
               total_discounts="0.00", subtotal_price=_YUAN, total_price=_YUAN, current_total_price=_YUAN,
               current_subtotal_price=_YUAN, current_total_discounts="0.00", total_price_set=money,
               subtotal_price_set=money, current_total_price_set=money, current_subtotal_price_set=money,
               total_shipping_price_set=zero, current_shipping_price_set=zero, total_discounts_set=zero,
               current_total_discounts_set=zero, discount_codes=[], discount_applications=[], shipping_lines=[],
               note_attributes=[], customer={"id": customer_id,
                                             "admin_graphql_api_id": f"gid://shopify/Customer/{customer_id}"})
    for kind in ("shipping_address", "billing_address"):
        if isinstance(doc.get(kind), dict):
            doc[kind] = doc[kind] | {"phone": phone}
    line = doc["line_items"][0] | {"id": 13_390_000 + number, "admin_graphql_api_id": f"gid://shopify/LineItem/{number}",
                                   "sku": sku, "title": "直播爆款", "quantity": 1, "price": _YUAN,
                                   "discount_allocations": []}
    doc["line_items"] = [line]
    return doc


def _taobao(channel_order_id: str, number: int, sku: str, started: datetime) -> dict[str, Any]:
    oid = str(int(channel_order_id) + 1)
    return {
        "tid": int(channel_order_id), "tid_str": channel_order_id, "type": "fixed", "status": "WAIT_SELLER_SEND_GOODS",
        "seller_nick": "ocp旗舰店", "buyer_nick": f"d***{number}", "buyer_open_uid": f"AAdrill{channel_order_id}",
        "created": _gmt8(started - timedelta(seconds=30)), "pay_time": _gmt8(started),
        "modified": _gmt8(started), "total_fee": _YUAN, "discount_fee": "0.00", "adjust_fee": "0.00",
        "post_fee": "0.00", "payment": _YUAN, "received_payment": "0.00", "receiver_name": "张**",
        "receiver_state": "浙江省", "receiver_city": "杭州市", "receiver_district": "西湖区",
        "receiver_address": f"文一西路{number % 900 + 1}号", "receiver_zip": "310013",
        "receiver_mobile": _phone(number),
        "orders": {"order": [{
            "oid": int(oid), "oid_str": oid, "num_iid": 680099000001, "sku_id": "5099000000001", "outer_iid": "DRILL",
            "outer_sku_id": sku, "title": "直播爆款", "num": 1, "price": _YUAN, "total_fee": _YUAN,
            "payment": _YUAN, "discount_fee": "0.00", "adjust_fee": "0.00", "divide_order_fee": _YUAN,
            "status": "WAIT_SELLER_SEND_GOODS", "refund_status": "NO_REFUND", "is_free_gift": False}]},
    }


def _jd(channel_order_id: str, number: int, sku: str, started: datetime) -> dict[str, Any]:
    return {
        "orderId": channel_order_id, "venderId": "10012345", "orderType": "22", "payType": "4-在线支付",
        "orderTotalPrice": _YUAN, "orderSellerPrice": _YUAN, "sellerDiscount": "0.00", "freightPrice": "0.00",
        "orderPayment": _YUAN, "orderState": "WAIT_SELLER_STOCK_OUT",
        "orderStartTime": _gmt8(started - timedelta(seconds=30)), "paymentConfirmTime": _gmt8(started),
        "modified": _gmt8(started), "open_id_buyer": f"o_jd_drill_{channel_order_id}",
        "consigneeInfo": {"fullname": "李**", "mobile": _phone(number), "telephone": "",
                          "fullAddress": f"上海浦东新区张江镇碧波路{number % 900 + 1}号", "province": "上海",
                          "city": "上海市", "county": "浦东新区", "town": "张江镇"},
        "itemInfoList": [{"skuId": "100099000001", "outerSkuId": sku, "skuName": "直播爆款", "jdPrice": _YUAN,
                          "itemTotal": "1", "wareId": "100009900001"}],
        "couponDetailList": [],
    }


def _douyin(channel_order_id: str, number: int, sku: str, started: datetime) -> dict[str, Any]:
    created, paid = int(started.timestamp()) - 30, int(started.timestamp())
    place = {"province": {"id": "35", "name": "福建省"}, "city": {"id": "350200", "name": "厦门市"},
             "town": {"id": "350203", "name": "思明区"}, "street": {"id": "350203010", "name": "莲前街道"}}
    return {
        "order_id": channel_order_id, "order_level": 2, "shop_id": 77977, "order_status": 2, "main_status": 2,
        "order_type": 0, "biz": 2, "trade_type": 0, "pay_type": 1, "doudian_open_id": f"1@#drill{channel_order_id}",
        "order_amount": UNIT_PRICE_FEN, "pay_amount": UNIT_PRICE_FEN, "post_amount": 0, "promotion_amount": 0,
        "tax_amount": 0, "create_time": created, "pay_time": paid, "update_time": paid,
        "mask_post_receiver": "李**", "mask_post_tel": f"139****{number % 10**4:04d}",
        "encrypt_post_tel": f"$$drill{channel_order_id}$1$$", "post_tel": "",
        "post_addr": place | {"detail": "", "encrypt_detail": f"##drill{channel_order_id}#1##"},
        "mask_post_addr": place | {"detail": "莲前***号"},
        "sku_order_list": [{
            "order_id": str(int(channel_order_id) + 1), "parent_order_id": channel_order_id, "order_level": 3,
            "order_status": 2, "main_status": 2, "trade_type": 0, "pre_sale_type": 0,
            "product_id_str": "3799000000000000001", "product_name": "直播爆款", "sku_id": 1799000000000001,
            "out_sku_id": sku, "code": sku, "item_num": 1, "origin_amount": UNIT_PRICE_FEN,
            "sum_amount": UNIT_PRICE_FEN, "order_amount": UNIT_PRICE_FEN, "pay_amount": UNIT_PRICE_FEN,
            "post_amount": 0, "tax_amount": 0, "given_product_type": "MASTER",
            "create_time": created, "update_time": paid, "pay_time": paid}],
    }


_BUILDERS = {"shopify": _shopify, "taobao": _taobao, "jd": _jd, "douyin": _douyin}


# ---- views: the paid delivery and its older, out-of-order one -----------------------------------------------


def _dumps(document: Any) -> bytes:
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


def _shopify_views(order: DrillOrder) -> tuple[bytes, bytes]:
    paid = order.document
    created = datetime.fromisoformat(str(paid["created_at"]).replace("Z", "+00:00")) - timedelta(seconds=30)
    unpaid = copy.deepcopy(paid) | {"financial_status": "pending",
                                    "updated_at": created.isoformat(timespec="seconds").replace("+00:00", "Z")}
    return _dumps(paid), _dumps(unpaid)


def _taobao_views(order: DrillOrder) -> tuple[bytes, bytes]:
    paid = order.document
    unpaid = {k: v for k, v in copy.deepcopy(paid).items() if k != "pay_time"} | {
        "status": "WAIT_BUYER_PAY", "modified": paid["created"]}
    unpaid["orders"]["order"][0]["status"] = "WAIT_BUYER_PAY"
    return (_dumps({"trade_fullinfo_get_response": {"trade": paid}}),
            _dumps({"trade_fullinfo_get_response": {"trade": unpaid}}))


def _jd_views(order: DrillOrder) -> tuple[bytes, bytes]:
    paid = order.document
    unpaid = {k: v for k, v in copy.deepcopy(paid).items() if k != "paymentConfirmTime"} | {
        "modified": paid["orderStartTime"]}
    return _dumps(paid), _dumps(unpaid)


def _douyin_views(order: DrillOrder) -> tuple[bytes, bytes]:
    doc = order.document
    data = {"p_id": int(order.channel_order_id), "s_ids": [int(doc["sku_order_list"][0]["order_id"])],
            "shop_id": doc["shop_id"], "order_status": 2, "order_type": 0, "pay_type": 1, "biz": 2}
    paid = [{"tag": "101", "msg_id": f"drill-{order.channel_order_id}-101",
             "data": json.dumps(data | {"pay_time": doc["pay_time"], "pay_amount": doc["pay_amount"]})}]
    created = [{"tag": "100", "msg_id": f"drill-{order.channel_order_id}-100",
                "data": json.dumps(data | {"order_status": 1, "create_time": doc["create_time"]})}]
    return _dumps(paid), _dumps(created)


_VIEWS = {"shopify": _shopify_views, "taobao": _taobao_views, "jd": _jd_views, "douyin": _douyin_views}
