"""Small fakes of the four channels' order APIs, for tests that pull orders (thin pushes, pollers), write
shipments back and reconcile statuses.

One app serves every channel under its own prefix, so each channel's base URL is `<root>/<channel>`:

    /douyin/order/orderDetail, /douyin/order/searchList    doudian open API (md5 `sign` in the query)
    /douyin/order/logisticsAdd, …/logisticsAddSinglePack   ship the whole order / some sub-orders (request_id)
    /taobao/router/rest                                    TOP (form body, md5 `sign`): fullinfo, increments,
                                                           taobao.logistics.offline.send (B04 once shipped/closed)
    /jd/routerjson                                         JOS (form body, md5 `sign`, `_responce` envelope):
                                                           order get/search, jingdong.pop.order.shipment
    /shopify/admin/api/<version>/orders[/<id>].json        Shopify Admin REST (X-Shopify-Access-Token), plus
    …/orders/<id>/fulfillment_orders.json, …/orders/<id>/fulfillments.json, POST …/fulfillments.json

Write-backs change the stored document the way the channel would (status shipped, waybill) and are kept in
`shipped`, so a test sees exactly what the channel was told. `cancel()` cancels an order the channel's way.

Every request's signature is checked with code written here from CHANNELS.md, independently of the
production signers, and a bad one gets the channel's own error. `FakeChannelApis.serve()` runs it on
127.0.0.1 (stdlib `http.server`); `.transport()` calls it in-process for socket-free unit tests.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from zoneinfo import ZoneInfo

from ocp.channels.base import ChannelCredentials, HttpRequest, HttpResponse
from ocp.channels.registry import adapter_for

GMT8 = ZoneInfo("Asia/Shanghai")


# /afterSale/operate type → (statuses it may act on, aftersale_types it applies to, status after, pays).
# 111/112/301/302/312 are unverified codes (AFTERSALES.md §2.2); the fake follows the adapter's reading.
_DOUYIN_OPERATIONS: dict[int, tuple[set[int], set[int], int, bool]] = {
    201: ({6}, {1, 2}, 12, True), 202: ({6}, {1, 2}, 27, False),
    101: ({6}, {0}, 7, False), 102: ({6}, {0}, 27, False),
    111: ({11}, {0}, 12, True), 112: ({11}, {0}, 29, False),
    301: ({6}, {3}, 7, False), 302: ({6}, {3}, 27, False), 312: ({11}, {3}, 29, False),
}
_TAOBAO_AFTERSALE = frozenset({"taobao.refund.get", "taobao.refunds.receive.get", "taobao.rp.refunds.agree",
                               "taobao.rp.returngoods.agree", "taobao.refund.refuse"})
_JD_AFTERSALE = frozenset({"jingdong.pop.afs.soa.refundapply.queryPageList",
                           "jingdong.pop.afs.soa.refundapply.replyRefund", "jingdong.asc.query.view",
                           "jingdong.asc.sync.list", "jingdong.asc.audit.send", "jingdong.asc.receive.register"})


@dataclass
class Stored:
    order_id: str
    modified: datetime
    document: dict[str, Any]


@dataclass
class Call:
    channel: str
    method: str
    params: dict[str, Any]
    signature_ok: bool


@dataclass
class Shipped:
    """A shipment a channel accepted: the channel's order id, carrier code, tracking number, (line id, quantity)."""

    channel: str
    order_id: str
    carrier: str
    tracking_no: str
    lines: list[tuple[str, int]]


@dataclass
class AfterSaleWrite:
    """One after-sale write a channel received: the call, the after-sale id as OCP names it, the amount in fen
    (what the channel will pay, where the write agrees money), the version sent, and whether it was accepted."""

    channel: str
    method: str
    aftersale_id: str
    amount: int | None
    version: str | None
    accepted: bool


@dataclass
class FakeChannelApis:
    credentials: dict[str, ChannelCredentials]
    orders: dict[str, dict[str, Stored]] = field(default_factory=dict)
    aftersales: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    """Per channel, after-sale records in the channel's own shape, keyed by the id OCP uses."""
    aftersale_log: list[AfterSaleWrite] = field(default_factory=list)
    shopify_refunds: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    """Per Shopify order id, the refunds created on it (REST Refund resources)."""
    calls: list[Call] = field(default_factory=list)
    shipped: list[Shipped] = field(default_factory=list)
    _request_ids: set[str] = field(default_factory=set, repr=False)
    failures: dict[str, list[int]] = field(default_factory=dict)
    """Per channel, HTTP statuses to answer the next calls with (a throttled or failing channel)."""
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    # ---- test set-up -------------------------------------------------------------------------------------

    def put_order(self, channel: str, document: dict[str, Any]) -> Stored:
        """Serve `document` (the bare channel order) under its id, modified when its mapping says."""
        adapter = adapter_for(channel)
        stored = Stored(adapter.order_ref(document), adapter.to_order(document).channel_updated_at, document)
        with self._lock:
            self.orders.setdefault(channel, {})[stored.order_id] = stored
        return stored

    def cancel(self, channel: str, order_id: str, at: datetime) -> Stored:
        """Cancel (close) the order the channel's way, modified at `at`."""
        stored = self.orders[channel][order_id]
        document = json.loads(json.dumps(stored.document))
        local = at.astimezone(GMT8).strftime("%Y-%m-%d %H:%M:%S")
        if channel == "douyin":
            document |= {"order_status": 4, "main_status": 4, "update_time": int(at.timestamp())}
        elif channel == "taobao":
            document |= {"status": "TRADE_CLOSED", "modified": local}
        elif channel == "jd":
            document |= {"orderState": "TRADE_CANCELED", "modified": local}
        else:
            document |= {"cancelled_at": at.isoformat(), "updated_at": at.isoformat(), "cancel_reason": "customer"}
        return self.put_order(channel, document)

    def shipped_to(self, channel: str) -> list[Shipped]:
        with self._lock:
            return [s for s in self.shipped if s.channel == channel]

    def fail_next(self, channel: str, *statuses: int) -> None:
        self.failures.setdefault(channel, []).extend(statuses)

    def calls_to(self, channel: str, method: str | None = None) -> list[Call]:
        return [c for c in self.calls if c.channel == channel and (method is None or c.method == method)]

    # ---- after-sales: test set-up ------------------------------------------------------------------------

    def put_aftersale(self, channel: str, document: dict[str, Any]) -> str:
        """Serve an after-sale record in the channel's own shape; returns its id as OCP names it.

        douyin: `/afterSale/Detail`'s `data` (`process_info.after_sale_info`, `order_info`); taobao: the `Refund` of
        `taobao.refund.get`; jd: a refundapply row (`refund-<id>`) or an asc service order (`service-<serviceId>`);
        shopify: the GraphQL `return` node (its `id` GID)."""
        document = json.loads(json.dumps(document))
        if channel == "douyin":
            key = str(document["process_info"]["after_sale_info"]["after_sale_id"])
        elif channel == "taobao":
            key = str(document["refund_id"])
        elif channel == "jd":
            key = f"service-{document['serviceId']}" if "serviceId" in document else f"refund-{document['id']}"
        else:
            key = str(document["id"])
        with self._lock:
            self.aftersales.setdefault(channel, {})[key] = document
        return key

    def aftersale(self, channel: str, aftersale_id: str) -> dict[str, Any]:
        """The record as the channel holds it now."""
        return self.aftersales[channel][aftersale_id]

    def aftersale_writes(self, channel: str) -> list[AfterSaleWrite]:
        with self._lock:
            return [w for w in self.aftersale_log if w.channel == channel]

    def touch_aftersale(self, channel: str, aftersale_id: str) -> None:
        """The buyer changes the after-sale on the channel: its version moves on (a held version is stale)."""
        record = self.aftersales[channel][aftersale_id]
        if channel == "douyin":
            info = record["process_info"]["after_sale_info"]
            info["update_time"] = int(info["update_time"]) + 60
        elif channel == "taobao":
            record["refund_version"] = int(record["refund_version"]) + 60_000
        elif channel == "jd":
            record["sysVersion"] = int(record.get("sysVersion") or 0) + 1

    def _aftersale_wrote(self, channel: str, method: str, aftersale_id: str, amount: int | None,
                         version: Any, accepted: bool) -> None:
        with self._lock:
            self.aftersale_log.append(AfterSaleWrite(channel, method, aftersale_id, amount,
                                                     None if version in (None, "") else str(version), accepted))

    # ---- the app -----------------------------------------------------------------------------------------

    def handle(
        self, method: str, target: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        url = urllib.parse.urlsplit(target)
        channel, _, rest = url.path.lstrip("/").partition("/")
        query = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
        pending = self.failures.get(channel) or []
        if pending:
            return pending.pop(0), {"content-type": "text/plain"}, b"injected failure"
        routes = {"douyin": self._douyin, "taobao": self._taobao, "jd": self._jd, "shopify": self._shopify}
        if channel not in routes:
            return 404, {}, b"no such channel"
        status, extra_headers, payload = routes[channel](method, "/" + rest, query, headers, body)
        return status, {"content-type": "application/json;charset=UTF-8", **extra_headers}, json.dumps(
            payload, ensure_ascii=False
        ).encode("utf-8")

    def transport(self) -> InProcessTransport:
        return InProcessTransport(self)

    @contextmanager
    def serve(self) -> Iterator[str]:
        """Serve over HTTP on 127.0.0.1; yields the root URL (a channel's base URL is `<root>/<channel>`)."""
        app = self

        class Handler(BaseHTTPRequestHandler):
            def _respond(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                status, out_headers, payload = app.handle(self.command, self.path, headers, body)
                self.send_response(status)
                for name, value in out_headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = _respond  # noqa: N815

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet tests
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        thread = threading.Thread(target=server.serve_forever, name="fake-channel-apis", daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}"
        finally:
            server.shutdown()
            server.server_close()
            thread.join(timeout=5)

    # ---- douyin ------------------------------------------------------------------------------------------

    def _douyin(self, method: str, path: str, query: dict[str, str], headers: dict[str, str],
                body: bytes) -> tuple[int, dict[str, str], Any]:
        creds = self.credentials["douyin"]
        param_json = body.decode("utf-8")
        api_method = query.get("method", "")
        pattern = (f"app_key{query.get('app_key')}method{api_method}param_json{param_json}"
                   f"timestamp{query.get('timestamp')}v{query.get('v')}")
        expected = hashlib.md5(f"{creds.secret}{pattern}{creds.secret}".encode()).hexdigest()
        ok = (query.get("sign") == expected and query.get("app_key") == creds.app_key
              and path == "/" + api_method.replace(".", "/"))
        params = json.loads(param_json or "{}")
        self._record("douyin", api_method, params, ok)
        if not ok:
            return 200, {}, {"code": 40003, "msg": "签名校验失败", "sub_code": "isv.signature-invalid",
                             "sub_msg": "sign"}
        if api_method.startswith("afterSale."):
            return 200, {}, self._douyin_aftersale(api_method, params)
        stored = self.orders.get("douyin", {})
        if api_method == "order.orderDetail":
            found = stored.get(str(params.get("shop_order_id")))
            if found is None:
                return 200, {}, {"code": 40004, "msg": "业务处理失败", "sub_code": "isv.business-failed:3",
                                 "sub_msg": "订单不存在"}
            return 200, {}, {"code": 10000, "msg": "success", "data": {"shop_order_detail": found.document}}
        if api_method in ("order.logisticsAdd", "order.logisticsAddSinglePack"):
            return 200, {}, self._douyin_ship(api_method, params)
        if api_method == "order.searchList":
            start = datetime.fromtimestamp(int(params["update_time_start"]), UTC)
            end = datetime.fromtimestamp(int(params["update_time_end"]), UTC)
            matching = self._window("douyin", start, end)
            page, size = int(params.get("page", 0)), int(params.get("size", 10))
            chunk = matching[page * size:(page + 1) * size]
            return 200, {}, {"code": 10000, "msg": "success", "data": {
                "shop_order_list": [s.document for s in chunk], "total": len(matching), "page": page, "size": size}}
        return 200, {}, {"code": 40001, "msg": "unknown method"}

    def _douyin_ship(self, api_method: str, params: dict[str, Any]) -> dict[str, Any]:
        single = api_method == "order.logisticsAddSinglePack"
        order_id = str(params["order_id_list"][0] if single else params.get("order_id"))
        found = self.orders.get("douyin", {}).get(order_id)
        if single and params.get("request_id") in self._request_ids:
            return {"code": 10000, "msg": "success", "data": {"pack_id": f"pack-{params['request_id']}"}}
        if found is None:
            return _dy_failed("isv.business-failed:60033", "订单不存在，请仔细检查后重试。")
        if found.document.get("order_status") == 4:
            return _dy_failed("isv.business-failed:60021", "订单已取消，禁止发货。")
        lines = {str(s["order_id"]): int(s.get("item_num") or 1) for s in found.document.get("sku_order_list") or []}
        sent = {line: sum(q for s in self.shipped_to("douyin") if s.order_id == order_id for ln, q in s.lines
                          if ln == line) for line in lines}
        if single:
            wanted = [(str(i["shipped_order_id"]), int(i["shipped_num"])) for i in params["shipped_order_info"]]
        else:
            if found.document.get("order_status") == 3 or any(sent.values()):
                return _dy_failed("isv.business-failed:60110", "订单已发货，不允许再次执行发货。")
            wanted = list(lines.items())
        if any(line not in lines or q > lines[line] - sent[line] for line, q in wanted):
            return _dy_failed("isv.business-failed:70023", "70023:没有能发货的订单，请修改后重试")
        with self._lock:
            self.shipped.append(Shipped("douyin", order_id, str(params["company_code"]),
                                        str(params["logistics_code"]), wanted))
            if single:
                self._request_ids.add(str(params["request_id"]))
            found.document["order_status"] = 3
        return {"code": 10000, "msg": "success", "data": {"pack_id": f"pack-{params.get('request_id')}"} if single
                else {}}

    # ---- taobao ------------------------------------------------------------------------------------------

    def _taobao(self, method: str, path: str, query: dict[str, str], headers: dict[str, str],
                body: bytes) -> tuple[int, dict[str, str], Any]:
        creds = self.credentials["taobao"]
        params = {**query, **dict(urllib.parse.parse_qsl(body.decode("utf-8"), keep_blank_values=True))}
        ok = self._top_signed(params, creds) and path == "/router/rest"
        api_method = params.get("method", "")
        self._record("taobao", api_method, params, ok)
        if not ok:
            return 200, {}, {"error_response": {"code": 25, "msg": "Invalid signature", "request_id": "fake"}}
        if api_method in _TAOBAO_AFTERSALE:
            return 200, {}, self._taobao_aftersale(api_method, params)
        stored = self.orders.get("taobao", {})
        if api_method == "taobao.trade.fullinfo.get":
            found = stored.get(params.get("tid", ""))
            if found is None:
                return 200, {}, {"error_response": {"code": 15, "msg": "Remote service error",
                                                    "sub_code": "isv.trade-not-exist", "sub_msg": "交易不存在"}}
            return 200, {}, {"trade_fullinfo_get_response": {"trade": found.document, "request_id": "fake"}}
        if api_method == "taobao.logistics.offline.send":
            return 200, {}, self._taobao_ship(params)
        if api_method == "taobao.trades.sold.increment.get":
            start, end = _gmt8(params["start_modified"]), _gmt8(params["end_modified"])
            matching = self._window("taobao", start, end)
            page, size = int(params.get("page_no", 1)), int(params.get("page_size", 40))
            chunk = matching[(page - 1) * size:page * size]
            trades = [{"tid": int(s.order_id), "tid_str": s.order_id,
                       "modified": s.modified.astimezone(GMT8).strftime("%Y-%m-%d %H:%M:%S")} for s in chunk]
            return 200, {}, {"trades_sold_increment_get_response": {
                "trades": {"trade": trades}, "total_results": len(matching), "has_next": page * size < len(matching)}}
        return 200, {}, {"error_response": {"code": 22, "msg": "Invalid method"}}

    def _taobao_ship(self, params: dict[str, str]) -> dict[str, Any]:
        found = self.orders.get("taobao", {}).get(params.get("tid", ""))
        if found is None:
            return _tb_failed("isv.logistics-offline-service-error:B01", "订单不存在")
        trade = found.document
        oids = {str(o.get("oid_str") or o.get("oid")): o for o in (trade.get("orders") or {}).get("order") or []}
        wanted = params["sub_tid"].split(",") if params.get("is_split") == "1" else list(oids)
        closed = trade.get("status") in ("TRADE_CLOSED", "TRADE_CLOSED_BY_TAOBAO")
        if closed or any(oids[oid].get("status") != "WAIT_SELLER_SEND_GOODS" for oid in wanted if oid in oids):
            return _tb_failed("isv.logistics-offline-service-error:B04", "已经发货或者已关闭，不能重复发货")
        if any(oid not in oids for oid in wanted):
            return _tb_failed("isv.logistics-offline-service-error:P38", "拆单校验未通过")
        with self._lock:
            self.shipped.append(Shipped("taobao", params["tid"], params["company_code"], params["out_sid"],
                                        [(oid, int(oids[oid].get("num") or 1)) for oid in wanted]))
            for oid in wanted:
                oids[oid]["status"] = "WAIT_BUYER_CONFIRM_GOODS"
            done = all(o.get("status") == "WAIT_BUYER_CONFIRM_GOODS" for o in oids.values())
            trade["status"] = "WAIT_BUYER_CONFIRM_GOODS" if done else "SELLER_CONSIGNED_PART"
        return {"logistics_offline_send_response": {"shipping": {"is_success": True}, "request_id": "fake"}}

    # ---- jd ----------------------------------------------------------------------------------------------

    def _jd(self, method: str, path: str, query: dict[str, str], headers: dict[str, str],
            body: bytes) -> tuple[int, dict[str, str], Any]:
        creds = self.credentials["jd"]
        params = {**query, **dict(urllib.parse.parse_qsl(body.decode("utf-8"), keep_blank_values=True))}
        ok = self._top_signed(params, creds) and path == "/routerjson"
        api_method = params.get("method", "")
        business = json.loads(params.get("360buy_param_json") or "{}")
        self._record("jd", api_method, business, ok)
        if not ok:
            return 200, {}, {"error_response": {"code": "19", "zh_desc": "无效签名", "en_desc": "Invalid signature"}}
        if api_method in _JD_AFTERSALE:
            return 200, {}, self._jd_aftersale(api_method, business)
        stored = self.orders.get("jd", {})
        if api_method == "jingdong.pop.order.get":
            found = stored.get(str(business.get("order_id")))
            info = {"apiResult": {"success": found is not None, "chineseErrCode": "订单不存在"}}
            if found is not None:
                info["orderInfo"] = found.document
            return 200, {}, {"jingdong_pop_order_get_responce": {"code": "0", "orderDetailInfo": info}}
        if api_method == "jingdong.pop.order.shipment":
            return 200, {}, self._jd_ship(business)
        if api_method == "jingdong.pop.order.search":
            start, end = _gmt8(business["start_date"]), _gmt8(business["end_date"])
            matching = self._window("jd", start, end)
            page, size = int(business.get("page", 1)), int(business.get("page_size", 20))
            chunk = matching[(page - 1) * size:page * size]
            return 200, {}, {"jingdong_pop_order_search_responce": {"code": "0", "searchorderinfo_result": {
                "apiResult": {"success": True}, "orderInfoList": [s.document for s in chunk],
                "orderTotal": len(matching)}}}
        return 200, {}, {"error_response": {"code": "3", "zh_desc": "方法不存在"}}

    def _jd_ship(self, business: dict[str, Any]) -> dict[str, Any]:
        found = self.orders.get("jd", {}).get(str(business.get("orderId")))
        state = found.document.get("orderState") if found else None
        refusal = {None: "订单不存在", "TRADE_CANCELED": "订单已取消",
                   "WAIT_GOODS_RECEIVE_CONFIRM": "订单已出库", "FINISHED_L": "订单已完成"}.get(state)
        if found is None or refusal or not str(business.get("logiCoprId", "")).isdigit():
            result = {"success": False, "chineseErrCode": refusal or "物流公司不存在", "errorCode": "fake"}
        else:
            with self._lock:
                self.shipped.append(Shipped("jd", str(business["orderId"]), str(business["logiCoprId"]),
                                            str(business["logiNo"]), []))
                found.document |= {"orderState": "WAIT_GOODS_RECEIVE_CONFIRM", "waybill": str(business["logiNo"])}
            result = {"success": True}
        return {"jingdong_pop_order_shipment_responce": {"code": "0", "sopjosshipment_result": result}}

    # ---- shopify -----------------------------------------------------------------------------------------

    def _shopify(self, method: str, path: str, query: dict[str, str], headers: dict[str, str],
                 body: bytes) -> tuple[int, dict[str, str], Any]:
        token = self.credentials["shopify"].access_token
        ok = headers.get("x-shopify-access-token") == token
        self._record("shopify", f"{method} {path}" if method != "GET" else path, query, ok)
        if not ok:
            return 401, {}, {"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"}
        parts = path.strip("/").split("/")  # admin api <version> orders[.json | <id>.json] | fulfillments.json
        stored = self.orders.get("shopify", {})
        if method == "POST" and parts[3:] == ["fulfillments.json"]:
            return self._shopify_fulfil(json.loads(body or b"{}"))
        if method == "POST" and parts[3:] == ["graphql.json"]:
            return self._shopify_graphql(json.loads(body or b"{}"))
        if len(parts) >= 6 and parts[3] == "orders" and parts[5:] in (["refunds.json"], ["refunds", "calculate.json"]):
            action = "calculate" if parts[5:] == ["refunds", "calculate.json"] else "create"
            if method == "GET" and action == "calculate":
                return 404, {}, {"errors": "Not Found"}
            return self._shopify_refunds(method, parts[4], action, json.loads(body or b"{}") if body else {})
        if method != "GET":
            return 404, {}, {"errors": "Not Found"}
        if len(parts) == 6 and parts[3] == "orders" and parts[5] in ("fulfillment_orders.json", "fulfillments.json"):
            found = stored.get(parts[4])
            if found is None:
                return 404, {}, {"errors": "Not Found"}
            if parts[5] == "fulfillments.json":
                return 200, {}, {"fulfillments": self._shopify_fulfillments(parts[4])}
            return 200, {}, {"fulfillment_orders": [self._shopify_fulfillment_order(found)]}
        if len(parts) == 5 and parts[3] == "orders":
            found = stored.get(parts[4].removesuffix(".json"))
            return (200, {}, {"order": found.document}) if found else (404, {}, {"errors": "Not Found"})
        if len(parts) == 4 and parts[3] == "orders.json":
            if "page_info" in query:
                start_s, end_s, offset_s = query["page_info"].split("|")
                start, end, offset = datetime.fromisoformat(start_s), datetime.fromisoformat(end_s), int(offset_s)
            else:
                start = datetime.fromisoformat(query["updated_at_min"].replace("Z", "+00:00"))
                end = datetime.fromisoformat(query["updated_at_max"].replace("Z", "+00:00"))
                offset = 0
            limit = int(query.get("limit", 50))
            matching = self._window("shopify", start, end)
            chunk = matching[offset:offset + limit]
            extra: dict[str, str] = {}
            if offset + limit < len(matching):
                info = urllib.parse.quote(f"{start.isoformat()}|{end.isoformat()}|{offset + limit}")
                extra["link"] = f'<https://fake.myshopify.com{path}?limit={limit}&page_info={info}>; rel="next"'
            return 200, extra, {"orders": [s.document for s in chunk]}
        return 404, {}, {"errors": "Not Found"}

    def _shopify_fulfillments(self, order_id: str) -> list[dict[str, Any]]:
        return [{"id": i + 1, "order_id": int(order_id), "status": "success", "tracking_company": s.carrier,
                 "tracking_number": s.tracking_no, "tracking_numbers": [s.tracking_no],
                 "line_items": [{"id": int(line), "quantity": q} for line, q in s.lines]}
                for i, s in enumerate(self.shipped_to("shopify")) if s.order_id == order_id]

    def _shopify_fulfillment_order(self, found: Stored) -> dict[str, Any]:
        """One fulfillment order per order (one location): id = order id + 1; line item ids = line id + 1."""
        shipped: dict[str, int] = {}
        for s in self.shipped_to("shopify"):
            if s.order_id == found.order_id:
                for line, q in s.lines:
                    shipped[line] = shipped.get(line, 0) + q
        lines = [{"id": int(li["id"]) + 1, "line_item_id": int(li["id"]), "quantity": int(li["quantity"]),
                  "fulfillable_quantity": int(li["quantity"]) - shipped.get(str(li["id"]), 0)}
                 for li in found.document.get("line_items") or []]
        cancelled = bool(found.document.get("cancelled_at"))
        status = "cancelled" if cancelled else "closed" if all(li["fulfillable_quantity"] == 0 for li in lines) \
            else "in_progress" if shipped else "open"
        return {"id": int(found.order_id) + 1, "order_id": int(found.order_id), "status": status, "line_items": lines}

    def _shopify_fulfil(self, body: dict[str, Any]) -> tuple[int, dict[str, str], Any]:
        fulfillment = body.get("fulfillment") or {}
        tracking = fulfillment.get("tracking_info") or {}
        by_id = {int(s.order_id) + 1: s for s in self.orders.get("shopify", {}).values()}
        taken: list[tuple[Stored, list[tuple[str, int]]]] = []
        for group in fulfillment.get("line_items_by_fulfillment_order") or []:
            found = by_id.get(int(group["fulfillment_order_id"]))
            if found is None:
                return 404, {}, {"errors": "Not Found"}
            current = self._shopify_fulfillment_order(found)
            left = {li["id"]: li for li in current["line_items"]}
            if current["status"] not in ("open", "in_progress"):
                return 422, {}, {"errors": [f"Fulfillment order {current['id']} has an unfulfillable status"]}
            lines = []
            for item in group.get("fulfillment_order_line_items") or []:
                line = left.get(int(item["id"]))
                if line is None or int(item["quantity"]) > line["fulfillable_quantity"]:
                    return 422, {}, {"errors": ["Invalid fulfillment order line item quantity requested."]}
                lines.append((str(line["line_item_id"]), int(item["quantity"])))
            taken.append((found, lines))
        if not taken or not tracking.get("number"):
            return 422, {}, {"errors": ["line_items_by_fulfillment_order and tracking_info.number are required"]}
        with self._lock:
            for found, lines in taken:
                self.shipped.append(Shipped("shopify", found.order_id, str(tracking.get("company") or ""),
                                            str(tracking["number"]), lines))
        return 201, {}, {"fulfillment": {"id": len(self.shipped), "status": "success",
                                         "tracking_number": tracking["number"]}}

    # ---- after-sales: douyin -----------------------------------------------------------------------------

    def _douyin_aftersale(self, api_method: str, params: dict[str, Any]) -> dict[str, Any]:
        stored = self.aftersales.get("douyin", {})
        if api_method == "afterSale.Detail":
            found = stored.get(str(params.get("after_sale_id")))
            if found is None:
                return {"code": 40004, "msg": "业务处理失败", "sub_code": "isv.business-failed:20309501",
                        "sub_msg": "售后单不存在"}
            return {"code": 10000, "msg": "success", "data": found}
        if api_method == "afterSale.List":
            start, end = int(params["update_start_time"]), int(params["update_end_time"])
            matching = sorted((r for r in stored.values()
                               if start <= int(r["process_info"]["after_sale_info"]["update_time"]) <= end),
                              key=lambda r: int(r["process_info"]["after_sale_info"]["update_time"]))
            page, size = int(params.get("page", 0)), int(params.get("size", 10))
            chunk = matching[page * size:(page + 1) * size]
            items = [{"aftersale_info": {
                "aftersale_id": str(r["process_info"]["after_sale_info"]["after_sale_id"]),
                "aftersale_status": r["process_info"]["after_sale_info"]["after_sale_status"],
                "update_time": r["process_info"]["after_sale_info"]["update_time"]}} for r in chunk]
            return {"code": 10000, "msg": "success", "data": {
                "items": items, "has_more": (page + 1) * size < len(matching), "total": len(matching),
                "page": page, "size": size}}
        if api_method == "afterSale.operate":
            return self._douyin_operate(params)
        return {"code": 40001, "msg": "unknown method"}

    def _douyin_operate(self, params: dict[str, Any]) -> dict[str, Any]:
        code = int(params.get("type", 0))
        items = params.get("items") or []
        if code not in _DOUYIN_OPERATIONS or len(items) != 1:
            return {"code": 40002, "msg": "参数错误", "sub_code": "isv.parameter-invalid", "sub_msg": "type/items"}
        item = items[0]
        aftersale_id = str(item.get("aftersale_id"))
        found = self.aftersales.get("douyin", {}).get(aftersale_id)
        if found is None:
            return _dy_failed("isv.business-failed:20309501", "售后单不存在")
        info = found["process_info"]["after_sale_info"]
        statuses, kinds, after, pays = _DOUYIN_OPERATIONS[code]
        stale = item.get("update_time") is not None and int(item["update_time"]) != int(info["update_time"])
        needs_address = code in (101, 301) and not (item.get("logistics") or {}).get("receiver_address_id")
        refusing = code in (202, 102, 112, 302, 312) and not (item.get("reason") and item.get("reject_reason_code"))
        amount = int(info.get("refund_total_amount") or 0) if pays else None
        if stale or int(info["after_sale_status"]) not in statuses or int(info["after_sale_type"]) not in kinds:
            self._aftersale_wrote("douyin", f"afterSale.operate:{code}", aftersale_id, amount,
                                  item.get("update_time"), False)
            return _dy_failed("isv.business-failed:20309541", "售后状态错误，请刷新后重试")
        if needs_address or refusing:
            return {"code": 40002, "msg": "参数错误", "sub_code": "isv.parameter-invalid",
                    "sub_msg": "logistics.receiver_address_id / reason / reject_reason_code"}
        with self._lock:
            info["after_sale_status"] = after
            if pays:
                info["refund_status"] = 1
            if code in (101, 301):
                info["return_address_id"] = int(item["logistics"]["receiver_address_id"])
            info["update_time"] = int(info["update_time"]) + 1
        self._aftersale_wrote("douyin", f"afterSale.operate:{code}", aftersale_id, amount, item.get("update_time"),
                              True)
        return {"code": 10000, "msg": "success", "data": {"items": [
            {"aftersale_id": aftersale_id, "status_code": 0, "status_msg": "success"}]}}

    # ---- after-sales: taobao -----------------------------------------------------------------------------

    def _taobao_aftersale(self, api_method: str, params: dict[str, str]) -> dict[str, Any]:
        stored = self.aftersales.get("taobao", {})
        if api_method == "taobao.refund.get":
            found = stored.get(params.get("refund_id", ""))
            if found is None:
                return _tb_failed("isv.refund-not-exist", "退款单不存在")
            return {"refund_get_response": {"refund": found, "request_id": "fake"}}
        if api_method == "taobao.refunds.receive.get":
            start, end = _gmt8(params["start_modified"]), _gmt8(params["end_modified"])
            matching = sorted((r for r in stored.values() if start <= _gmt8(r["modified"]) <= end),
                              key=lambda r: r["modified"])
            page, size = int(params.get("page_no", 1)), int(params.get("page_size", 40))
            chunk = matching[(page - 1) * size:page * size]
            return {"refunds_receive_get_response": {
                "refunds": {"refund": [{"refund_id": r["refund_id"], "modified": r["modified"]} for r in chunk]},
                "total_results": len(matching), "has_next": page * size < len(matching)}}
        if api_method == "taobao.rp.refunds.agree":
            return self._taobao_agree(params)
        refund_id = params.get("refund_id", "")
        found = stored.get(refund_id)
        if found is None:
            return _tb_failed("isv.refund-not-exist", "退款单不存在")
        if params.get("refund_version") != str(found["refund_version"]):
            self._aftersale_wrote("taobao", api_method, refund_id, None, params.get("refund_version"), False)
            return _tb_failed("isv.refund-version-invalid", "退款版本已变更(refund_version)，请刷新后重试")
        if api_method == "taobao.rp.returngoods.agree":
            if found["status"] != "WAIT_SELLER_AGREE" or not _truthy(found.get("has_good_return")):
                return _tb_failed("isv.refund-status-invalid", "退款状态不正确")
            if not params.get("seller_address_id"):
                return _tb_failed("isv.missing-parameter:seller_address_id", "缺少卖家地址库ID")
            self._taobao_move(found, "WAIT_BUYER_RETURN_GOODS", address=params.get("address"))
            self._aftersale_wrote("taobao", api_method, refund_id, None, params.get("refund_version"), True)
            return {"rp_returngoods_agree_response": {"is_success": True, "request_id": "fake"}}
        # taobao.refund.refuse
        if found["status"] not in ("WAIT_SELLER_AGREE", "WAIT_SELLER_CONFIRM_GOODS") \
                or not params.get("refuse_message"):
            return _tb_failed("isv.refund-status-invalid", "退款状态不正确或缺少拒绝理由")
        self._taobao_move(found, "SELLER_REFUSE_BUYER")
        self._aftersale_wrote("taobao", api_method, refund_id, None, params.get("refund_version"), True)
        return {"refund_refuse_response": {"is_success": True, "request_id": "fake"}}

    def _taobao_agree(self, params: dict[str, str]) -> dict[str, Any]:
        """`refund_infos` = `refund_id|amount_fen|version|phase`, comma-separated; per-refund results."""
        results = []
        for info in (params.get("refund_infos") or "").split(","):
            refund_id, amount_text, version, phase = [*info.split("|"), "", "", ""][:4]
            found = self.aftersales.get("taobao", {}).get(refund_id)
            amount = int(amount_text) if amount_text.isdigit() else None
            message = ""
            if found is None:
                message = "退款单不存在"
            elif version != str(found["refund_version"]):
                message = "退款版本已过期(refund_version)"
            elif found["status"] not in ("WAIT_SELLER_AGREE", "WAIT_SELLER_CONFIRM_GOODS") or (
                    found["status"] == "WAIT_SELLER_AGREE" and _truthy(found.get("has_good_return"))):
                message = "退款状态不正确"
            elif amount is None or amount > _fen(found["refund_fee"]) or (phase and phase != found["refund_phase"]):
                message = "退款金额或阶段不正确"
            if not message and found is not None:
                self._taobao_move(found, "SUCCESS", refunded=amount)
            self._aftersale_wrote("taobao", "taobao.rp.refunds.agree", refund_id, amount, version, not message)
            results.append({"refund_id": refund_id, "succ": not message, "message": message or "success"})
        ok = [r["succ"] for r in results]
        code = "OP_SUCC" if all(ok) else "SOME_OP_SUCC" if any(ok) else "OP_FAILURE_UE"
        return {"rp_refunds_agree_response": {"results": {"refund_mapping_result": results}, "msg_code": code,
                                              "succ": all(ok), "message": code, "request_id": "fake"}}

    def _taobao_move(self, found: dict[str, Any], status: str, address: str | None = None,
                     refunded: int | None = None) -> None:
        with self._lock:
            found["status"] = status
            found["refund_version"] = int(found["refund_version"]) + 1000
            modified = _gmt8(found["modified"]).astimezone(GMT8) + timedelta(seconds=1)
            found["modified"] = modified.strftime("%Y-%m-%d %H:%M:%S")
            if address:
                found["address"] = address
            if refunded is not None:
                found["refund_fee_paid_fen"] = refunded

    # ---- after-sales: jd ---------------------------------------------------------------------------------

    def _jd_aftersale(self, api_method: str, business: dict[str, Any]) -> dict[str, Any]:
        stored = self.aftersales.get("jd", {})
        envelope = api_method.replace(".", "_") + "_responce"
        if api_method == "jingdong.pop.afs.soa.refundapply.queryPageList":
            rows = [r for key, r in stored.items() if key.startswith("refund-")]
            if business.get("ids"):
                rows = [r for r in rows if str(r["id"]) in str(business["ids"]).split(",")]
            for begin, end, name in (("applyTimeStart", "applyTimeEnd", "applyTime"),
                                     ("checkTimeStart", "checkTimeEnd", "checkTime")):
                if business.get(begin):
                    rows = [r for r in rows if r.get(name)
                            and _gmt8(business[begin]) <= _gmt8(r[name]) <= _gmt8(business[end])]
            page, size = int(business.get("pageIndex", 1)), int(business.get("pageSize", 10))
            return {envelope: {"code": "0", "queryResult": {
                "success": True, "result": rows[(page - 1) * size:page * size], "totalCount": len(rows)}}}
        if api_method == "jingdong.pop.afs.soa.refundapply.replyRefund":
            key = f"refund-{business.get('id')}"
            found = stored.get(key)
            status = int(business.get("status") or 0)
            ok = found is not None and int(found["status"]) == 0 and status in (1, 2) and bool(
                business.get("checkUserName")) and (status == 1 or bool(business.get("remark")))
            if ok and found is not None:
                with self._lock:
                    found |= {"status": status, "checkTime": "2026-11-11 12:30:00"}
            amount = int(found["applyRefundSum"]) if found is not None and status == 1 else None
            self._aftersale_wrote("jd", f"{api_method}:{status}", key, amount, None, ok)
            return {envelope: {"code": "0", "replyResult": {"success": ok,
                                                             "errorMsg": "" if ok else "退款单状态已变更"}}}
        if not (business.get("operatePin") and business.get("operateNick")):
            return {envelope: {"code": "0", "result": {"success": False, "msg": "operatePin/operateNick 必填"}}}
        if api_method == "jingdong.asc.sync.list":
            since, until = _gmt8(business["updateTimeBegin"]), _gmt8(business["updateTimeEnd"])
            rows = [r for key, r in stored.items()
                    if key.startswith("service-") and since <= _gmt8(r["updateTime"]) <= until]
            page, size = int(business.get("pageNumber", 1)), int(business.get("pageSize", 10))
            return {envelope: {"code": "0", "pageResult": {
                "data": [{"serviceId": r["serviceId"], "orderId": r["orderId"]}
                         for r in rows[(page - 1) * size:page * size]],
                "totalCount": len(rows)}}}
        key = f"service-{business.get('serviceId')}"
        found = stored.get(key)
        if found is None:
            return {envelope: {"code": "0", "result": {"success": False, "msg": "服务单不存在"}}}
        if api_method == "jingdong.asc.query.view":
            return {envelope: {"code": "0", "result": {"success": True, "data": found}}}
        wanted = {"jingdong.asc.audit.send": (10001, 10005),
                  "jingdong.asc.receive.register": (10005, 10006)}[api_method]
        if str(business.get("sysVersion")) != str(found.get("sysVersion")):
            self._aftersale_wrote("jd", api_method, key, None, business.get("sysVersion"), False)
            return {envelope: {"code": "0", "result": {"success": False, "msg": "服务单版本(sysVersion)已变更"}}}
        ok = int(found["serviceStatus"]) == wanted[0] and str(business.get("orderId")) == str(found["orderId"])
        if api_method == "jingdong.asc.audit.send":
            ok = ok and bool(business.get("returnContactName") and business.get("returnDetailAddress"))
        else:
            ok = ok and bool(found.get("expressCode"))
        if ok:
            with self._lock:
                found |= {"serviceStatus": wanted[1], "sysVersion": int(found.get("sysVersion") or 0) + 1}
        self._aftersale_wrote("jd", api_method, key, None, business.get("sysVersion"), ok)
        return {envelope: {"code": "0", "result": {"success": ok, "msg": "" if ok else "服务单状态不正确"}}}

    # ---- after-sales: shopify ----------------------------------------------------------------------------

    def _shopify_graphql(self, body: dict[str, Any]) -> tuple[int, dict[str, str], Any]:
        query, variables = str(body.get("query") or ""), body.get("variables") or {}
        stored = self.aftersales.get("shopify", {})
        for mutation, (before, after) in (("returnApproveRequest", ("REQUESTED", "OPEN")),
                                          ("returnDeclineRequest", ("REQUESTED", "DECLINED"))):
            if mutation in query:
                payload = variables.get("input") or {}
                found = stored.get(str(payload.get("id")))
                errors = []
                if found is None:
                    errors.append({"field": ["id"], "message": "Return does not exist.", "code": "NOT_FOUND"})
                elif found["status"] != before:
                    errors.append({"field": ["id"], "message": f"Return is not {before.lower()}.",
                                   "code": "INVALID_STATE"})
                elif mutation == "returnDeclineRequest" and payload.get("declineReason") not in (
                        "FINAL_SALE", "OTHER", "RETURN_PERIOD_ENDED"):
                    errors.append({"field": ["declineReason"], "message": "invalid", "code": "INVALID"})
                if not errors and found is not None:
                    with self._lock:
                        found["status"] = after
                self._aftersale_wrote("shopify", mutation, str(payload.get("id")), None, None, not errors)
                node = {"id": found["id"], "status": found["status"]} if found else None
                return 200, {}, {"data": {mutation: {"return": node, "userErrors": errors}}}
        if "orders(" in query:
            times = re.findall(r"'([^']+)'", str(variables.get("query") or ""))
            start, end = (datetime.fromisoformat(t.replace("Z", "+00:00")) for t in times[:2])
            by_order: dict[str, list[dict[str, Any]]] = {}
            for node in stored.values():
                moved = datetime.fromisoformat(str(node.get("closedAt") or node["createdAt"]).replace("Z", "+00:00"))
                if start <= moved <= end:
                    by_order.setdefault(node["order"]["id"], []).append({"id": node["id"]})
            return 200, {}, {"data": {"orders": {
                "nodes": [{"returns": {"nodes": nodes}} for nodes in by_order.values()],
                "pageInfo": {"hasNextPage": False, "endCursor": None}}}}
        if "return(id:" in query:
            return 200, {}, {"data": {"return": stored.get(str(variables.get("id")))}}
        return 200, {}, {"errors": [{"message": "unsupported query", "extensions": {"code": "BAD_REQUEST"}}]}

    def _shopify_refunds(self, method: str, order_id: str, action: str,
                         body: dict[str, Any]) -> tuple[int, dict[str, str], Any]:
        """GET/POST orders/<id>/refunds.json, POST orders/<id>/refunds/calculate.json. What can be refunded is the
        stored order's `total_price` less earlier refunds, on one transaction (parent id = order id + 7)."""
        found = self.orders.get("shopify", {}).get(order_id)
        if found is None:
            return 404, {}, {"errors": "Not Found"}
        refunds = self.shopify_refunds.setdefault(order_id, [])
        currency = str(found.document.get("currency") or "CNY")
        if method == "GET":
            return 200, {}, {"refunds": refunds}
        refunded = sum(_fen(t["amount"]) for r in refunds for t in r["transactions"])
        left = _fen(str(found.document["total_price"])) - refunded
        refund = body.get("refund") or {}
        if action == "calculate":
            return 200, {}, {"refund": {"currency": currency, "refund_line_items": refund.get("refund_line_items"),
                                        "transactions": [{
                                            "order_id": int(order_id), "kind": "suggested_refund",
                                            "gateway": "shopify_payments", "parent_id": int(order_id) + 7,
                                            "amount": _yuan(left), "maximum_refundable": _yuan(left)}]}}
        transactions = refund.get("transactions") or []
        amount = sum(_fen(t["amount"]) for t in transactions)
        ok = bool(transactions) and all(t.get("kind") == "refund" and t.get("parent_id") == int(order_id) + 7
                                        for t in transactions) and 0 < amount <= left
        note = str(refund.get("note") or "")
        self._aftersale_wrote("shopify", "POST refunds.json", note.removeprefix("ocp:"), amount, None, ok)
        if not ok:
            return 422, {}, {"errors": {"base": ["Refund amount is invalid or exceeds what can be refunded"]}}
        created = {"id": 9000 + len(self.shopify_refunds_all()), "order_id": int(order_id), "note": note,
                   "transactions": [{"kind": "refund", "amount": t["amount"], "status": "success"}
                                    for t in transactions],
                   "refund_line_items": refund.get("refund_line_items") or []}
        with self._lock:
            refunds.append(created)
        return 201, {}, {"refund": created}

    def shopify_refunds_all(self) -> list[dict[str, Any]]:
        return [r for refunds in self.shopify_refunds.values() for r in refunds]

    # ---- helpers -----------------------------------------------------------------------------------------

    def _record(self, channel: str, method: str, params: dict[str, Any], ok: bool) -> None:
        with self._lock:
            self.calls.append(Call(channel, method, params, ok))

    def _window(self, channel: str, start: datetime, end: datetime) -> list[Stored]:
        with self._lock:
            found = [s for s in self.orders.get(channel, {}).values() if start <= s.modified <= end]
        return sorted(found, key=lambda s: (s.modified, s.order_id))

    @staticmethod
    def _top_signed(params: dict[str, str], creds: ChannelCredentials) -> bool:
        """TOP / JOS md5: uppercase MD5(secret + sorted k+v (non-empty) + secret), app key must be ours."""
        concat = "".join(f"{k}{v}" for k, v in sorted(params.items()) if k != "sign" and k and v)
        expected = hashlib.md5(f"{creds.secret}{concat}{creds.secret}".encode()).hexdigest().upper()
        return params.get("sign") == expected and params.get("app_key") == creds.app_key


class InProcessTransport:
    """An `HttpTransport` that hands requests straight to the fake app: no socket."""

    def __init__(self, app: FakeChannelApis) -> None:
        self._app = app

    def send(self, request: HttpRequest) -> HttpResponse:
        target = urllib.parse.urlsplit(request.url)
        path = target.path + (f"?{target.query}" if target.query else "")
        headers = {k.lower(): v for k, v in request.headers.items()}
        status, out_headers, body = self._app.handle(request.method, path, headers, request.body or b"")
        return HttpResponse(status=status, body=body, headers=out_headers)


def _gmt8(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=GMT8).astimezone(UTC)


def _dy_failed(sub_code: str, sub_msg: str) -> dict[str, Any]:
    return {"code": 50002, "msg": "业务处理失败", "sub_code": sub_code, "sub_msg": sub_msg}


def _tb_failed(sub_code: str, sub_msg: str) -> dict[str, Any]:
    return {"error_response": {"code": 15, "msg": "Remote service error", "sub_code": sub_code, "sub_msg": sub_msg,
                               "request_id": "fake"}}


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


def _fen(yuan_text: str) -> int:
    """Decimal yuan text → fen, exactly (the fake's own conversion, not production's)."""
    return int(Decimal(str(yuan_text)) * 100)


def _yuan(fen: int) -> str:
    return f"{Decimal(fen) / 100:.2f}"
