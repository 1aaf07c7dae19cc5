"""Douyin 抖店 (doudian) on the wire: thin message pushes, pulled through `order.orderDetail`, and the doudian open
API. Formats and signatures: CHANNELS.md §3; the orders mapped: `ocp.channels.douyin`.

Push: `POST /webhooks/douyin` with a JSON array of `{tag, msg_id, data}` (`data` is JSON inside JSON),
headers `app-id` (our app key) and `event-sign` = md5_hex(app_key + raw body + app_secret). Tag "0" is the
platform's URL check. Every order message is thin: the full order is fetched with `order.orderDetail`.
"""

from __future__ import annotations

import hashlib
import json
import urllib.parse
import uuid
from datetime import datetime
from typing import Any

from ocp.api.bodies import loads as json_loads
from ocp.channels.base import (
    Ack,
    ApiConfig,
    ChannelCredentials,
    ChannelMessage,
    Delivery,
    HttpRequest,
    OrderPage,
    ShipmentNotice,
    body_digest,
    parse_json,
)
from ocp.channels.common import id_text, int_value, json_body, sub_code, text
from ocp.channels.signing import china_time_text, same
from ocp.domain.errors import (
    ChannelApiRejected,
    ChannelApiUnavailable,
    ChannelNotConfigured,
    MalformedDelivery,
    SignatureInvalid,
    UnmappableDocument,
)
from ocp.domain.order.enums import Channel

URL_CHECK_TAG = "0"
TOPICS = {
    "100": "doudian_trade_TradeCreate",
    "101": "doudian_trade_TradePaid",
    "102": "doudian_trade_TradeSellerShip",
    "103": "doudian_trade_TradeSuccess",
    "104": "doudian_trade_TradeLogisticsChanged",
    "105": "doudian_trade_TradeAddressChanged",
    "106": "doudian_trade_TradeCanceled",
    "108": "doudian_trade_TradePartlySellerShip",
    "109": "doudian_trade_TradeAmountChanged",
    "110": "doudian_trade_TradePending",
    "111": "doudian_trade_TradeAddressChangeApplied",
    "113": "doudian_trade_TradeMemoModify",
    "200": "doudian_refund_RefundCreated",
    "201": "doudian_refund_RefundAgreed",
    "206": "doudian_refund_RefundSuccess",
    "207": "doudian_refund_RefundClosed",
}
SUCCESS_CODE = 10000
ALREADY_SHIPPED = "isv.business-failed:60110"
"""订单已发货，不允许再次执行发货 (logisticsAdd / logisticsAddSinglePack)."""
_FINAL_SUB_CODES = frozenset({
    "isv.business-failed:60021",  # 订单已取消，禁止发货
    "isv.business-failed:60113",  # 订单已完结，禁止发货
    "isv.business-failed:60068",  # 该订单已售前退款成功，不能发货
    "isv.business-failed:60033",  # 订单不存在
    "isv.business-failed:60101",  # 非本店铺订单
    "isv.business-failed:60017",  # 物流单号不符合规则
    "isv.business-failed:60018",  # 暂不支持该物流公司
    "isv.business-failed:60127",  # 物流单号校验不通过
})
"""Business failures (code 50002) that no retry will fix; other 50002s ("系统繁忙") may pass on retry."""
CARRIERS = {"SF": "shunfeng"}
"""OCP carrier code → doudian `company_code` (from `/order/logisticsCompanyList`); others go lower-cased."""
API_VERSION = "2"
PAGE_SIZE = 100


def event_sign(app_key: str, app_secret: str, body: bytes) -> str:
    """`event-sign` of a push: md5 hex of app_key + raw body + app_secret."""
    return hashlib.md5(app_key.encode() + body + app_secret.encode()).hexdigest()  # noqa: S324


def param_json(params: dict[str, Any]) -> str:
    """Business parameters as the SDKs serialise them: keys sorted, no spaces."""
    return json.dumps(params, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def api_sign(app_key: str, app_secret: str, method: str, params_json: str, timestamp: str) -> str:
    """md5 request signature: hex(MD5(secret + app_key… method… param_json… timestamp… v2 + secret))."""
    pattern = f"app_key{app_key}method{method}param_json{params_json}timestamp{timestamp}v{API_VERSION}"
    return hashlib.md5(f"{app_secret}{pattern}{app_secret}".encode()).hexdigest()  # noqa: S324


class DouyinWire:
    channel = Channel.douyin

    def verify(self, delivery: Delivery, credentials: ChannelCredentials) -> None:
        if not credentials.app_key:
            raise ChannelNotConfigured("no app key configured for channel 'douyin'")
        app_id, received = delivery.header("app-id"), delivery.header("event-sign")
        if not app_id or not received:
            raise SignatureInvalid("missing app-id or event-sign header")
        if not same(credentials.app_key, app_id.strip()):
            raise SignatureInvalid("app-id is not our app key")
        expected = event_sign(credentials.app_key, credentials.secret, delivery.body)
        if not same(expected, received.strip().lower()):
            raise SignatureInvalid("event-sign does not match the body")

    def delivery_id(self, delivery: Delivery) -> str:
        return body_digest(delivery.body)

    def messages(self, delivery: Delivery) -> list[ChannelMessage]:
        parsed = parse_json(delivery.body)
        if isinstance(parsed, dict):
            parsed = [parsed]  # one event object, as the SKIT SDK models it
        if not isinstance(parsed, list):
            raise MalformedDelivery(f"body is JSON {type(parsed).__name__}, expected an array of messages")
        digest = self.delivery_id(delivery)
        found = (_message(raw, f"{digest}#{index}") for index, raw in enumerate(parsed))
        return [message for message in found if message is not None]

    def ack(self) -> Ack:
        return Ack(status_code=200, body={"code": 0, "msg": "success"})

    def is_thin(self, document: dict[str, Any]) -> bool:
        return "tag" in document and "data" in document

    def order_ref(self, document: dict[str, Any]) -> str:
        if self.is_thin(document):
            return id_text(document["data"].get("p_id"), "p_id")
        return id_text(shop_order_of(document).get("order_id"), "order_id")

    def api(self, config: ApiConfig) -> DouyinApi:
        return DouyinApi(config)

def _message(raw: Any, fallback_id: str) -> ChannelMessage | None:
    if not isinstance(raw, dict):
        return ChannelMessage(message_id=fallback_id, problem=f"message is JSON {type(raw).__name__}, not an object")
    tag = text(raw.get("tag"))
    message_id = text(raw.get("msg_id") if raw.get("msg_id") is not None else raw.get("msgId")) or fallback_id
    if tag is None:
        return ChannelMessage(message_id=message_id, problem="message has no tag")
    if tag == URL_CHECK_TAG:
        return None
    data = raw.get("data")
    if isinstance(data, str):
        try:
            data = json_loads(data)
        except ValueError:  # not JSON, or nested too deep
            return ChannelMessage(message_id=message_id, topic=TOPICS.get(tag), problem="data is not JSON")
    if not isinstance(data, dict):
        return ChannelMessage(message_id=message_id, topic=TOPICS.get(tag), problem="data is not a JSON object")
    if data.get("p_id") is None:
        if data.get("aftersale_id") is not None:  # an after-sale push without its order: routed by aftersale_id
            return ChannelMessage(message_id=message_id, topic=TOPICS.get(tag, f"doudian_tag_{tag}"),
                                  document={"tag": tag, "msg_id": message_id, "data": data})
        return None  # not about an order (product, logistics-only topics): archived, nothing to do
    if not str(data["p_id"]).strip().isdigit():
        return ChannelMessage(message_id=message_id, topic=TOPICS.get(tag), problem="p_id is not an order id")
    return ChannelMessage(
        message_id=message_id,
        topic=TOPICS.get(tag, f"doudian_tag_{tag}"),
        document={"tag": tag, "msg_id": message_id, "data": data},
    )


def shop_order_of(document: dict[str, Any]) -> dict[str, Any]:
    """Accept the API envelope, `{"shop_order_detail": …}`, or the shop order itself."""
    if "code" in document and "data" in document:
        code = document.get("code")
        if code is not None and str(code) != str(SUCCESS_CODE):
            reason = document.get("sub_msg") or document.get("msg")
            raise UnmappableDocument([f"order.orderDetail error {code}: {reason}"])
        document = document.get("data") or {}
    detail = document.get("shop_order_detail")
    return detail if isinstance(detail, dict) else document


# ---- the API ---------------------------------------------------------------------------------------------


class DouyinApi:
    """doudian open API: `POST {base}/{method with slashes}?app_key&method&access_token&timestamp&v&sign_method&sign`
    with `param_json` as the body (CHANNELS.md §3.2)."""

    def __init__(self, config: ApiConfig) -> None:
        if not config.credentials.app_key:
            raise ChannelNotConfigured("no app key configured for channel 'douyin'")
        self._config = config
        self._app_key: str = config.credentials.app_key

    def fetch_order(self, channel_order_id: str) -> dict[str, Any]:
        data = self._call("order.orderDetail", {"shop_order_id": channel_order_id})
        detail = data.get("shop_order_detail")
        if not isinstance(detail, dict):
            raise ChannelApiRejected(f"order.orderDetail returned no shop_order_detail for {channel_order_id}")
        return detail

    def modified_orders(self, start: datetime, end: datetime, page: str | None = None) -> OrderPage:
        number = int(page or 0)
        data = self._call("order.searchList", {
            "update_time_start": int(start.timestamp()), "update_time_end": int(end.timestamp()),
            "page": number, "size": PAGE_SIZE, "order_by": "update_time", "order_asc": True,
        })
        orders = [o for o in data.get("shop_order_list") or [] if isinstance(o, dict)]
        total = int_value(data.get("total"), "total", default=0)
        more = (number + 1) * PAGE_SIZE < total and bool(orders)
        return OrderPage(documents=orders, next_page=str(number + 1) if more else None)

    def confirm_shipment(self, notice: ShipmentNotice) -> None:
        """The whole order in one parcel: `order.logisticsAdd` (whole orders only). Part of it:
        `order.logisticsAddSinglePack` with the sub-orders and quantities, and a `request_id` derived from the
        order and tracking number (doudian answers a repeated request_id with the first result). "Already
        shipped" (60110) counts as acknowledged."""
        company = CARRIERS.get(notice.carrier, notice.carrier.lower())
        try:
            if notice.whole_order:
                self._call("order.logisticsAdd", {"order_id": notice.channel_order_id, "company_code": company,
                                                  "logistics_code": notice.tracking_no})
            else:
                self._call("order.logisticsAddSinglePack", {
                    "order_id_list": [notice.channel_order_id],
                    "shipped_order_info": [{"shipped_order_id": item.line_id, "shipped_num": item.quantity}
                                           for item in notice.items],
                    "company_code": company, "logistics_code": notice.tracking_no,
                    "request_id": str(uuid.uuid5(uuid.NAMESPACE_URL,
                                                 f"ocp:douyin:{notice.channel_order_id}:{notice.tracking_no}")),
                })
        except (ChannelApiRejected, ChannelApiUnavailable) as exc:
            if sub_code(exc) == ALREADY_SHIPPED:
                return
            raise

    def _call(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        credentials = self._config.credentials
        body = param_json(params)
        timestamp = china_time_text(self._config.now())
        query = {
            "app_key": self._app_key, "method": method, "timestamp": timestamp, "v": API_VERSION,
            "sign_method": "md5", "sign": api_sign(self._app_key, credentials.secret, method, body, timestamp),
        }
        if credentials.access_token:
            query["access_token"] = credentials.access_token
        url = f"{self._config.base_url.rstrip('/')}/{method.replace('.', '/')}?{urllib.parse.urlencode(query)}"
        response = self._config.transport.send(HttpRequest(
            "POST", url, headers={"Content-Type": "application/json;charset=UTF-8"}, body=body.encode("utf-8"),
        ))
        envelope = json_body(response, method)
        code = envelope.get("code")
        if str(code) != str(SUCCESS_CODE):
            detail = (f"{method} error {code} {envelope.get('sub_code') or ''}: "
                      f"{envelope.get('sub_msg') or envelope.get('msg')}")
            codes = {"code": str(code), "sub_code": str(envelope.get("sub_code") or "")}
            # 4xxxx codes are the caller's fault (bad parameters, no such order, no permission); others may pass.
            if str(code).startswith("4") or codes["sub_code"] in _FINAL_SUB_CODES:
                raise ChannelApiRejected(detail, details=codes)
            raise ChannelApiUnavailable(detail, details=codes)
        data = envelope.get("data")
        return data if isinstance(data, dict) else {}
