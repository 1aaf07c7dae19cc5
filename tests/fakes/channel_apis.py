"""Small fakes of the four channels' order APIs, for tests that pull orders (thin pushes, pollers).

One app serves every channel under its own prefix, so each channel's base URL is `<root>/<channel>`:

    /douyin/order/orderDetail, /douyin/order/searchList    doudian open API (md5 `sign` in the query)
    /taobao/router/rest                                    TOP (form body, md5 `sign`)
    /jd/routerjson                                         JOS (form body, md5 `sign`, `_responce` envelope)
    /shopify/admin/api/<version>/orders[/<id>].json        Shopify Admin REST (X-Shopify-Access-Token)

Every request's signature is checked with code written here from CHANNELS.md, independently of the
production signers, and a bad one gets the channel's own error. `FakeChannelApis.serve()` runs it on
127.0.0.1 (stdlib `http.server`); `.transport()` calls it in-process for socket-free unit tests.
"""

from __future__ import annotations

import hashlib
import json
import threading
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from zoneinfo import ZoneInfo

from ocp.channels.base import ChannelCredentials, HttpRequest, HttpResponse
from ocp.channels.registry import adapter_for

GMT8 = ZoneInfo("Asia/Shanghai")


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
class FakeChannelApis:
    credentials: dict[str, ChannelCredentials]
    orders: dict[str, dict[str, Stored]] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
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

    def fail_next(self, channel: str, *statuses: int) -> None:
        self.failures.setdefault(channel, []).extend(statuses)

    def calls_to(self, channel: str, method: str | None = None) -> list[Call]:
        return [c for c in self.calls if c.channel == channel and (method is None or c.method == method)]

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
        stored = self.orders.get("douyin", {})
        if api_method == "order.orderDetail":
            found = stored.get(str(params.get("shop_order_id")))
            if found is None:
                return 200, {}, {"code": 40004, "msg": "业务处理失败", "sub_code": "isv.business-failed:3",
                                 "sub_msg": "订单不存在"}
            return 200, {}, {"code": 10000, "msg": "success", "data": {"shop_order_detail": found.document}}
        if api_method == "order.searchList":
            start = datetime.fromtimestamp(int(params["update_time_start"]), UTC)
            end = datetime.fromtimestamp(int(params["update_time_end"]), UTC)
            matching = self._window("douyin", start, end)
            page, size = int(params.get("page", 0)), int(params.get("size", 10))
            chunk = matching[page * size:(page + 1) * size]
            return 200, {}, {"code": 10000, "msg": "success", "data": {
                "shop_order_list": [s.document for s in chunk], "total": len(matching), "page": page, "size": size}}
        return 200, {}, {"code": 40001, "msg": "unknown method"}

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
        stored = self.orders.get("taobao", {})
        if api_method == "taobao.trade.fullinfo.get":
            found = stored.get(params.get("tid", ""))
            if found is None:
                return 200, {}, {"error_response": {"code": 15, "msg": "Remote service error",
                                                    "sub_code": "isv.trade-not-exist", "sub_msg": "交易不存在"}}
            return 200, {}, {"trade_fullinfo_get_response": {"trade": found.document, "request_id": "fake"}}
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
        stored = self.orders.get("jd", {})
        if api_method == "jingdong.pop.order.get":
            found = stored.get(str(business.get("order_id")))
            info = {"apiResult": {"success": found is not None, "chineseErrCode": "订单不存在"}}
            if found is not None:
                info["orderInfo"] = found.document
            return 200, {}, {"jingdong_pop_order_get_responce": {"code": "0", "orderDetailInfo": info}}
        if api_method == "jingdong.pop.order.search":
            start, end = _gmt8(business["start_date"]), _gmt8(business["end_date"])
            matching = self._window("jd", start, end)
            page, size = int(business.get("page", 1)), int(business.get("page_size", 20))
            chunk = matching[(page - 1) * size:page * size]
            return 200, {}, {"jingdong_pop_order_search_responce": {"code": "0", "searchorderinfo_result": {
                "apiResult": {"success": True}, "orderInfoList": [s.document for s in chunk],
                "orderTotal": len(matching)}}}
        return 200, {}, {"error_response": {"code": "3", "zh_desc": "方法不存在"}}

    # ---- shopify -----------------------------------------------------------------------------------------

    def _shopify(self, method: str, path: str, query: dict[str, str], headers: dict[str, str],
                 body: bytes) -> tuple[int, dict[str, str], Any]:
        token = self.credentials["shopify"].access_token
        ok = headers.get("x-shopify-access-token") == token and method == "GET"
        self._record("shopify", path, query, ok)
        if not ok:
            return 401, {}, {"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"}
        parts = path.strip("/").split("/")  # admin api <version> orders[.json | <id>.json]
        stored = self.orders.get("shopify", {})
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
