"""JD (JOS) on the wire: no public order webhook, so the poller (`jingdong.pop.order.search` by modification time) is
the main path; relays may also push `orderInfo` documents. Formats and signatures: CHANNELS.md §4; the documents
mapped to orders: `ocp.channels.jd`.

Push: `POST /webhooks/jd` signed with the SPI scheme OCP also uses for Taobao (`verify_spi`); the body is
one `orderInfo`, an array of them, or a `jingdong_pop_order_get_responce` (JD's spelling). Money and
quantities are text, times are GMT+8 with "0001-01-01 00:00:00" meaning unset, PII is encrypted or masked.
"""

from __future__ import annotations

import json
import urllib.parse
from datetime import datetime
from typing import Any

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
from ocp.channels.common import id_text, int_value, json_body, text
from ocp.channels.signing import china_time_text, top_md5, verify_spi
from ocp.domain.errors import (
    ChannelApiRejected,
    ChannelApiUnavailable,
    ChannelNotConfigured,
    MalformedDelivery,
)
from ocp.domain.order.enums import Channel

GET_METHOD = "jingdong.pop.order.get"
SEARCH_METHOD = "jingdong.pop.order.search"
SHIPMENT_METHOD = "jingdong.pop.order.shipment"
SHIPPED_STATES = frozenset({"WAIT_GOODS_RECEIVE_CONFIRM", "FINISHED_L"})
PAUSED_STATES = frozenset({"LOCKED", "PAUSE", "POP_ORDER_PAUSE"})
CARRIERS = {"SF": "467", "EMS": "465"}
"""OCP carrier code → JD `logiCoprId` (JD's numeric id of the logistics company); a numeric code from the
warehouse is taken as JD's id itself."""
ORDER_STATES = ",".join((
    "WAIT_SELLER_STOCK_OUT", "WAIT_GOODS_RECEIVE_CONFIRM", "WAIT_SELLER_DELIVERY", "PAUSE", "POP_ORDER_PAUSE",
    "FINISHED_L", "TRADE_CANCELED", "LOCKED", "WAIT_SEND_CODE",
))
OPTIONAL_FIELDS = ",".join((
    "orderId", "venderId", "orderType", "payType", "orderTotalPrice", "orderSellerPrice", "orderPayment",
    "freightPrice", "sellerDiscount", "balanceUsed", "serviceFee", "taxFee", "orderState", "orderStateRemark",
    "orderStartTime", "paymentConfirmTime", "orderEndTime", "modified", "consigneeInfo", "itemInfoList",
    "couponDetailList", "orderRemark", "venderRemark", "customs", "customsModel", "pin", "open_id",
    "open_id_buyer",
))
SEARCH_PAGE_SIZE = 100


class JdWire:
    channel = Channel.jd

    def verify(self, delivery: Delivery, credentials: ChannelCredentials) -> None:
        verify_spi(delivery, credentials)

    def delivery_id(self, delivery: Delivery) -> str:
        return body_digest(delivery.body)

    def messages(self, delivery: Delivery) -> list[ChannelMessage]:
        parsed = parse_json(delivery.body)
        if not isinstance(parsed, dict | list):
            raise MalformedDelivery(f"body is JSON {type(parsed).__name__}, expected an object or an array")
        items = parsed if isinstance(parsed, list) else [parsed]
        digest = self.delivery_id(delivery)
        return [_message(raw, f"{digest}#{index}") for index, raw in enumerate(items)]

    def ack(self) -> Ack:
        return Ack(status_code=200, body={"response": {"flag": "success", "code": "0", "message": "accepted"}})

    def is_thin(self, document: dict[str, Any]) -> bool:
        return False  # every JD document OCP takes is a full orderInfo

    def order_ref(self, document: dict[str, Any]) -> str:
        return id_text(order_info_of(document).get("orderId"), "orderId")

    def api(self, config: ApiConfig) -> JdApi:
        return JdApi(config)

def _message(raw: Any, fallback_id: str) -> ChannelMessage:
    if not isinstance(raw, dict):
        return ChannelMessage(message_id=fallback_id, problem=f"message is JSON {type(raw).__name__}, not an object")
    info = order_info_of(raw)
    if info.get("orderId") in (None, ""):
        return ChannelMessage(message_id=fallback_id, problem="not an orderInfo document (no orderId)")
    message_id = f"{text(info['orderId'])}@{text(info.get('modified')) or fallback_id}"
    return ChannelMessage(message_id=message_id, topic="orderInfo", document=raw)


def order_info_of(document: dict[str, Any]) -> dict[str, Any]:
    """Accept `{"jingdong_pop_order_get_responce": {"orderDetailInfo": {"orderInfo": …}}}` (either spelling),
    `{"orderInfo": …}` or the orderInfo itself."""
    for key in ("jingdong_pop_order_get_responce", "jingdong_pop_order_get_response"):
        if isinstance(document.get(key), dict):
            document = document[key].get("orderDetailInfo") or {}
            break
    info = document.get("orderInfo")
    return info if isinstance(info, dict) else document


# ---- the API ---------------------------------------------------------------------------------------------


class JdApi:
    """JOS: `POST {base}` (e.g. https://api.jd.com/routerjson) with the system parameters and
    `360buy_param_json` form-encoded, md5-signed over all of them (CHANNELS.md §4.2)."""

    def __init__(self, config: ApiConfig) -> None:
        if not config.credentials.app_key:
            raise ChannelNotConfigured("no app key configured for channel 'jd'")
        self._config = config
        self._app_key: str = config.credentials.app_key

    def fetch_order(self, channel_order_id: str) -> dict[str, Any]:
        result = self._call(GET_METHOD, {"order_id": channel_order_id, "optional_fields": OPTIONAL_FIELDS})
        info = (result.get("orderDetailInfo") or {}).get("orderInfo")
        if not isinstance(info, dict):
            raise ChannelApiRejected(f"{GET_METHOD} returned no orderInfo for {channel_order_id}")
        return info

    def modified_orders(self, start: datetime, end: datetime, page: str | None = None) -> OrderPage:
        number = int(page or 1)
        result = self._call(SEARCH_METHOD, {
            "start_date": china_time_text(start), "end_date": china_time_text(end), "order_state": ORDER_STATES,
            "optional_fields": OPTIONAL_FIELDS, "page": str(number), "page_size": str(SEARCH_PAGE_SIZE),
            "dateType": 0, "sortType": 0,  # by modification time, ascending
        })
        found = result.get("searchorderinfo_result") or {}
        orders = [o for o in found.get("orderInfoList") or [] if isinstance(o, dict)]
        total = int_value(found.get("orderTotal"), "orderTotal", default=0)
        more = number * SEARCH_PAGE_SIZE < total and bool(orders)
        return OrderPage(documents=orders, next_page=str(number + 1) if more else None)

    def confirm_shipment(self, notice: ShipmentNotice) -> None:
        """`jingdong.pop.order.shipment` (出库): JD ships a POP order once, with one waybill, so the first parcel
        confirms the order and later parcels count as acknowledged once JD shows it shipped. When JD says no, the
        order is read to tell why: shipped already (acknowledged), cancelled (refused), locked or paused (retry
        later), or still waiting for stock-out (JD refused the parameters, e.g. the carrier: refused)."""
        carrier = CARRIERS.get(notice.carrier, notice.carrier)
        if not carrier.isdigit():
            raise ChannelApiRejected(f"JD needs its logistics company id (logiCoprId) for carrier {notice.carrier!r}")
        result = self._call(SHIPMENT_METHOD, {"orderId": notice.channel_order_id, "logiCoprId": carrier,
                                              "logiNo": notice.tracking_no})
        outcome = result.get("sopjosshipment_result") or {}
        if str(outcome.get("success")).lower() == "true":
            return
        refusal = f"{SHIPMENT_METHOD}: {outcome.get('chineseErrCode') or outcome.get('englishErrCode') or 'refused'}"
        state = str(self.fetch_order(notice.channel_order_id).get("orderState") or "")
        if state in SHIPPED_STATES:
            return
        if state in PAUSED_STATES:
            raise ChannelApiUnavailable(f"{refusal} (order is {state})")
        raise ChannelApiRejected(f"{refusal} (order is {state or 'unknown'})")

    def _call(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        credentials = self._config.credentials
        signed = {
            "method": method, "app_key": self._app_key, "timestamp": china_time_text(self._config.now()),
            "v": "2.0", "sign_method": "md5",
            "360buy_param_json": json.dumps(params, separators=(",", ":"), ensure_ascii=False),
        }
        if credentials.access_token:
            signed["access_token"] = credentials.access_token
        signed["sign"] = top_md5(credentials.secret, signed)
        response = self._config.transport.send(HttpRequest(
            "POST", self._config.base_url,
            headers={"Content-Type": "application/x-www-form-urlencoded;charset=utf-8"},
            body=urllib.parse.urlencode(signed).encode("utf-8"),
        ))
        body = json_body(response, method)
        if "error_response" in body:
            error = body["error_response"] or {}
            # JOS publishes no retryable/final split of its codes. JD is pulled only by the poller, which keeps
            # its high-water mark on any failure and tries again next tick, so every error counts as passing.
            raise ChannelApiUnavailable(
                f"{method} error {error.get('code')}: {error.get('zh_desc') or error.get('en_desc')}"
            )
        stem = method.replace(".", "_")
        result = body.get(f"{stem}_responce", body.get(f"{stem}_response"))
        if not isinstance(result, dict):
            raise ChannelApiUnavailable(f"{method} answered without {stem}_responce")
        api_result = (result.get("searchorderinfo_result") or result.get("orderDetailInfo") or {}).get("apiResult")
        if isinstance(api_result, dict) and api_result.get("success") is False:
            reason = api_result.get("chineseErrCode") or api_result.get("englishErrCode")
            raise ChannelApiRejected(f"{method}: {reason}")
        return result
