"""Taobao / Tmall (TOP) on the wire: relayed TMC messages (thin, pulled through `taobao.trade.fullinfo.get`) or full
`trade_fullinfo_get_response` documents, and the TOP API. Formats and signatures: CHANNELS.md §2; the trades mapped
to orders: `ocp.channels.taobao`.

Push: `POST /webhooks/taobao` signed like Taobao's SPI/奇门 inbound calls (`ocp.channels.signing.verify_spi`).
The body is one TMC message `{"topic", "id", "content" (JSON text), ...}`, an array of them, or a full
trade document. Money is yuan text, times are GMT+8 without an offset, ids exceed 2^53 (`tid_str`, `oid_str`).
"""

from __future__ import annotations

import urllib.parse
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
from ocp.channels.common import id_text, json_body, listed, sub_code, text
from ocp.channels.signing import china_time_text, top_md5, verify_spi
from ocp.domain.errors import (
    ChannelApiRejected,
    ChannelApiUnavailable,
    ChannelNotConfigured,
    MalformedDelivery,
    UnmappableDocument,
)
from ocp.domain.order.enums import Channel

ENVELOPE = "trade_fullinfo_get_response"
FULLINFO_FIELDS = ",".join((
    "tid", "tid_str", "type", "status", "created", "modified", "pay_time", "end_time", "consign_time",
    "payment", "total_fee", "post_fee", "discount_fee", "adjust_fee", "order_tax_fee", "step_trade_status",
    "step_paid_fee", "new_presell", "send_time", "est_con_time", "cross_bonded_declare", "post_gate_declare",
    "trade_attr", "buyer_open_uid", "buyer_nick", "buyer_message", "seller_memo", "seller_flag", "oaid",
    "receiver_name", "receiver_country", "receiver_state", "receiver_city", "receiver_district", "receiver_town",
    "receiver_address", "receiver_zip", "receiver_mobile", "receiver_phone", "promotion_details", "orders",
))
INCREMENT_PAGE_SIZE = 100
_TRANSIENT_CODES = {"7", "10", "520"}  # App Call Limited, Service Currently Unavailable, remote service error
OFFLINE_SEND = "taobao.logistics.offline.send"
ALREADY_SENT_OR_CLOSED = "isv.logistics-offline-service-error:B04"
"""订单状态不对: the trade was shipped already, or it is closed."""
_TRANSIENT_SUB_CODES = {"isv.logistics-offline-service-error:B150"}  # 发货异常，请稍等后重试
CONSIGNED = frozenset({"SELLER_CONSIGNED_PART", "WAIT_BUYER_CONFIRM_GOODS", "TRADE_BUYER_SIGNED", "TRADE_FINISHED"})
CARRIERS: dict[str, str] = {"YD": "YUNDA"}
"""OCP carrier code → TOP `company_code` where they differ (TOP's codes are `SF`, `YTO`, `ZTO`, `STO`, `EMS`, …,
from `taobao.logistics.companies.get`); others are passed as the warehouse sent them."""


class TaobaoWire:
    channel = Channel.taobao

    def verify(self, delivery: Delivery, credentials: ChannelCredentials) -> None:
        verify_spi(delivery, credentials)

    def delivery_id(self, delivery: Delivery) -> str:
        # A relay retrying a delivery re-signs it with a new timestamp: the body identifies it.
        return body_digest(delivery.body)

    def messages(self, delivery: Delivery) -> list[ChannelMessage]:
        parsed = parse_json(delivery.body)
        if not isinstance(parsed, dict | list):
            raise MalformedDelivery(f"body is JSON {type(parsed).__name__}, expected an object or an array")
        items = parsed if isinstance(parsed, list) else [parsed]
        digest = self.delivery_id(delivery)
        found = (_message(raw, f"{digest}#{index}") for index, raw in enumerate(items))
        return [message for message in found if message is not None]

    def ack(self) -> Ack:
        # The SPI/奇门 success response.
        return Ack(status_code=200, body={"response": {"flag": "success", "code": "0", "message": "accepted"}})

    def is_thin(self, document: dict[str, Any]) -> bool:
        return "topic" in document and "content" in document

    def order_ref(self, document: dict[str, Any]) -> str:
        if self.is_thin(document):
            content = document["content"]
            return id_text(content.get("tid_str") or content.get("tid"), "content.tid")
        trade = trade_of(document)
        return id_text(trade.get("tid_str") or trade.get("tid"), "tid")

    def api(self, config: ApiConfig) -> TaobaoApi:
        return TaobaoApi(config)


def _message(raw: Any, fallback_id: str) -> ChannelMessage | None:
    if not isinstance(raw, dict):
        return ChannelMessage(message_id=fallback_id, problem=f"message is JSON {type(raw).__name__}, not an object")
    if "topic" in raw:
        message_id = text(raw.get("id")) or fallback_id
        content = raw.get("content")
        if isinstance(content, str):
            try:
                content = json_loads(content)
            except ValueError:  # not JSON, or nested too deep
                return ChannelMessage(message_id=message_id, topic=text(raw["topic"]), problem="content is not JSON")
        if not isinstance(content, dict):
            return ChannelMessage(message_id=message_id, topic=text(raw["topic"]), problem="content is not an object")
        refund = str(raw["topic"]).startswith("taobao_refund_") and content.get("refund_id") is not None
        if content.get("tid") is None and content.get("tid_str") is None and not refund:
            return None  # not about a trade (items, logistics-only topics): archived, nothing to do
        return ChannelMessage(message_id=message_id, topic=text(raw["topic"]), document={**raw, "content": content})
    if "error_response" in raw:
        return ChannelMessage(message_id=fallback_id, problem="the relayed document is a TOP error_response")
    trade = trade_of(raw)
    if trade.get("tid") is None and trade.get("tid_str") is None:
        return ChannelMessage(message_id=fallback_id, problem="neither a TMC message nor a trade document")
    tid = text(trade.get("tid_str")) or text(trade.get("tid"))
    message_id = f"{tid}@{text(trade.get('modified')) or fallback_id}"
    return ChannelMessage(message_id=message_id, topic=ENVELOPE, document=raw)


def trade_of(document: dict[str, Any]) -> dict[str, Any]:
    """Accept `{"trade_fullinfo_get_response": {"trade": …}}`, `{"trade": …}` or the trade itself."""
    if "error_response" in document:
        error = document["error_response"] or {}
        raise UnmappableDocument([f"TOP error {error.get('code')} {error.get('sub_code') or ''}: "
                                  f"{error.get('sub_msg') or error.get('msg')}"])
    inner = document.get(ENVELOPE, document)
    trade = inner.get("trade") if isinstance(inner, dict) else None
    return trade if isinstance(trade, dict) else inner


# ---- the API ---------------------------------------------------------------------------------------------


class TaobaoApi:
    """TOP: `POST {base}` (e.g. https://eco.taobao.com/router/rest) with every parameter form-encoded and
    the md5 signature over all of them (CHANNELS.md §2.3)."""

    def __init__(self, config: ApiConfig) -> None:
        if not config.credentials.app_key:
            raise ChannelNotConfigured("no app key configured for channel 'taobao'")
        self._config = config
        self._app_key: str = config.credentials.app_key

    def fetch_order(self, channel_order_id: str) -> dict[str, Any]:
        response = self._call("taobao.trade.fullinfo.get", {
            "tid": channel_order_id, "fields": FULLINFO_FIELDS, "include_oaid": "true",
        })
        trade = response.get("trade")
        if not isinstance(trade, dict):
            raise ChannelApiRejected(f"taobao.trade.fullinfo.get returned no trade for {channel_order_id}")
        return trade

    def modified_orders(self, start: datetime, end: datetime, page: str | None = None) -> OrderPage:
        """`taobao.trades.sold.increment.get` lists what changed; each trade is then read in full."""
        number = int(page or 1)
        response = self._call("taobao.trades.sold.increment.get", {
            "start_modified": china_time_text(start), "end_modified": china_time_text(end),
            "page_no": str(number), "page_size": str(INCREMENT_PAGE_SIZE), "use_has_next": "true",
            "fields": "tid,tid_str,modified",
        })
        trades = [t for t in listed(response.get("trades"), "trade") if isinstance(t, dict)]
        documents = [self.fetch_order(id_text(t.get("tid_str") or t.get("tid"), "tid")) for t in trades]
        more = str(response.get("has_next")).lower() == "true" and bool(trades)
        return OrderPage(documents=documents, next_page=str(number + 1) if more else None)

    def confirm_shipment(self, notice: ShipmentNotice) -> None:
        """`taobao.logistics.offline.send` (自己联系物流): the trade, or its sub-orders (`sub_tid`, `is_split=1`)
        when the parcel holds part of it. Taobao answers B04 both for "already shipped" and for "closed": the trade
        is read to tell which (shipped counts as acknowledged, closed is refused for good)."""
        params = {"tid": notice.channel_order_id, "out_sid": notice.tracking_no,
                  "company_code": CARRIERS.get(notice.carrier, notice.carrier)}
        if not notice.whole_order:
            params |= {"sub_tid": ",".join(item.line_id for item in notice.items), "is_split": "1"}
        try:
            response = self._call(OFFLINE_SEND, params)
        except ChannelApiRejected as exc:
            if sub_code(exc) != ALREADY_SENT_OR_CLOSED:
                raise
            status = str(self.fetch_order(notice.channel_order_id).get("status") or "")
            if status in CONSIGNED:
                return
            raise ChannelApiRejected(f"{OFFLINE_SEND}: trade {notice.channel_order_id} is {status}, not shippable",
                                     details=exc.details) from None
        if not (response.get("shipping") or {}).get("is_success"):
            raise ChannelApiUnavailable(f"{OFFLINE_SEND} did not confirm the shipment")

    def _call(self, method: str, params: dict[str, str]) -> dict[str, Any]:
        credentials = self._config.credentials
        signed = {
            "method": method, "app_key": self._app_key, "timestamp": china_time_text(self._config.now()),
            "format": "json", "v": "2.0", "sign_method": "md5", **params,
        }
        if credentials.access_token:
            signed["session"] = credentials.access_token
        signed["sign"] = top_md5(credentials.secret, signed)
        response = self._config.transport.send(HttpRequest(
            "POST", self._config.base_url,
            headers={"Content-Type": "application/x-www-form-urlencoded;charset=utf-8"},
            body=urllib.parse.urlencode(signed).encode("utf-8"),
        ))
        body = json_body(response, method)
        if "error_response" in body:
            error = body["error_response"] or {}
            detail = (f"{method} error {error.get('code')} {error.get('sub_code') or ''}: "
                      f"{error.get('sub_msg') or error.get('msg')}")
            codes = {"code": str(error.get("code")), "sub_code": str(error.get("sub_code") or "")}
            if codes["code"] in _TRANSIENT_CODES or codes["sub_code"].startswith("isp.") \
                    or codes["sub_code"] in _TRANSIENT_SUB_CODES:
                raise ChannelApiUnavailable(detail, details=codes)
            raise ChannelApiRejected(detail, details=codes)
        key = method.removeprefix("taobao.").replace(".", "_") + "_response"
        result = body.get(key)
        if not isinstance(result, dict):
            raise ChannelApiUnavailable(f"{method} answered without {key}")
        return result
