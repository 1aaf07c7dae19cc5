"""JD (JOS) after-sales (AFTERSALES.md §3): no verified after-sale push, so the poller (`modified_aftersales`) is the
path. JD keeps two systems, so OCP's after-sale id says which one it is:

- `refund-<id>`: a 退款申请单 (`jingdong.pop.afs.soa.refundapply.*`), mostly "cancel and refund" before shipment:
  read with `queryPageList(ids=…)`, answered with `replyRefund` (status 1 approve, 2 reject).
- `service-<serviceId>`: a 售后服务单 (`jingdong.asc.*`) for returns/exchanges after delivery: read with
  `jingdong.asc.query.view`, return agreed with `jingdong.asc.audit.send` (the buyer ships back to our address),
  receipt confirmed with `jingdong.asc.receive.register` (拆包登记).

❓ Unverified, kept here so a correction is one place: every response field name of `refundapply.queryPageList`
(and `applyRefundSum` being fen), the asc `query.view` / `sync.list` parameters and response fields, the asc status
and `customerExpect` codes below, `sysVersion` being the optimistic lock (and the wording of its stale error), the
refund after `receive.register` (JD is believed to refund on its own once the goods are registered), and any asc
refusal call (none is known: `refuse` on a service order is refused here; do it in the JD back office).
Signed exactly like the order API (`JdApi._call`).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from ocp.channels.common import Unmappable, china_time, fen, id_text, int_value, text
from ocp.channels.jd import JdAdapter
from ocp.channels.signing import china_time_text
from ocp.channels.wire.jd import JdApi
from ocp.domain.errors import ChannelApiRejected, ChannelApiUnavailable
from ocp.domain.order.enums import Channel
from ocp.domain.returns.channel import (
    AfterSaleRefused,
    AfterSaleSignal,
    BuyerShipment,
    ChannelAfterSale,
    ChannelAfterSaleLine,
    ChannelState,
    StaleAfterSale,
)
from ocp.domain.returns.model import ReturnKind

if TYPE_CHECKING:
    from ocp.domain.returns.addresses import ReturnAddress

REFUND_PREFIX = "refund-"
SERVICE_PREFIX = "service-"
OPERATOR = "ocp"
"""`operatePin` / `operateNick` / `checkUserName`: required on every asc call; OCP signs its decisions as itself."""
REFUND_LIST = "jingdong.pop.afs.soa.refundapply.queryPageList"
REFUND_REPLY = "jingdong.pop.afs.soa.refundapply.replyRefund"
SERVICE_VIEW = "jingdong.asc.query.view"
SERVICE_SYNC = "jingdong.asc.sync.list"
SERVICE_AUDIT = "jingdong.asc.audit.send"
SERVICE_RECEIVE = "jingdong.asc.receive.register"
APPROVE, REJECT = 1, 2
"""replyRefund `status`."""
NOT_OUT_OF_WAREHOUSE = 2
"""replyRefund `outWareStatus` 2 未出库: OCP approves a cancel-and-refund only when the parcel has not left."""
REJECT_OTHER = 5
"""replyRefund `rejectType` 5 其他, used when OCP's reason code is not one of JD's 1–6."""
REFUND_PAGE_SIZE, SERVICE_PAGE_SIZE = 50, 50

REFUND_STATES = {
    0: ChannelState.awaiting_seller,     # 未审核
    1: ChannelState.refund_agreed,       # 审核通过
    2: ChannelState.refused,             # 审核不通过
    3: ChannelState.refunded,            # 京东财务审核通过 (money released)
    4: ChannelState.refused,             # 京东财务审核不通过
    5: ChannelState.refund_agreed,       # 人工审核通过
    6: ChannelState.refund_agreed,       # 拦截并退款
    7: ChannelState.refund_agreed,       # 青龙拦截成功
    8: ChannelState.refused,             # 青龙拦截失败: the parcel went out, the cancel cannot stand
    9: ChannelState.refunded,            # 强制关单并退款
    10: ChannelState.refund_agreed,      # 物流待跟进
}
SERVICE_STATES = {  # ❓ asc serviceStatus codes
    10001: ChannelState.awaiting_seller,        # 待审核
    10002: ChannelState.awaiting_seller,        # 待客户反馈
    10004: ChannelState.refused,                # 审核关闭
    10005: ChannelState.awaiting_buyer_return,  # 待收货 (buyer_returned once the buyer's waybill is there)
    10006: ChannelState.refund_agreed,          # 待处理: registered, JD processes the refund / replacement
    10007: ChannelState.closed,                 # 取消
    10010: ChannelState.refunded,               # 完成
}
SERVICE_KINDS = {10: ReturnKind.return_refund, 20: ReturnKind.exchange, 80: ReturnKind.reship}  # ❓ customerExpect
_STALE_MARKERS = ("sysversion", "version", "版本")


def signal(topic: str | None, document: dict[str, Any]) -> AfterSaleSignal | None:
    """JD pushes no after-sale messages OCP knows of (every JD document OCP takes is an orderInfo)."""
    return None


def refund_to_aftersale(apply: dict[str, Any], order: dict[str, Any] | None) -> ChannelAfterSale:
    """A refundapply row → the record. A cancel-and-refund is about the whole order: its lines come from the order
    (OCP's JD line ids are `<skuId>-<position>`, so they can only be named from the order itself)."""
    status = int_value(apply.get("status"), "status")
    if status not in REFUND_STATES:
        raise Unmappable(f"unknown refundapply status {status}")
    modified = china_time(apply.get("checkTime"), "checkTime") or china_time(apply.get("applyTime"), "applyTime")
    if modified is None:
        raise Unmappable("refundapply has neither checkTime nor applyTime")
    return ChannelAfterSale(
        channel=Channel.jd.value,
        aftersale_id=REFUND_PREFIX + id_text(apply.get("id"), "id"),
        channel_order_id=id_text(apply.get("orderId"), "orderId"),
        kind=ReturnKind.refund_only,
        state=REFUND_STATES[status],
        channel_status=str(status),
        lines=tuple(_order_lines(order, None)),
        requested_amount=fen(apply.get("applyRefundSum"), "applyRefundSum", None)
        if apply.get("applyRefundSum") not in (None, "") else None,
        reason=text(apply.get("reason")) or text(apply.get("applyReason")),
        modified_at=modified,
    )


def service_to_aftersale(service: dict[str, Any], order: dict[str, Any] | None) -> ChannelAfterSale:
    status = int_value(service.get("serviceStatus"), "serviceStatus")
    expect = int_value(service.get("customerExpect"), "customerExpect")
    if status not in SERVICE_STATES:
        raise Unmappable(f"unknown asc serviceStatus {status}")
    if expect not in SERVICE_KINDS:
        raise Unmappable(f"asc customerExpect {expect} (repair, installation …) has no OCP kind")
    shipment = None
    if text(service.get("expressCode")):
        shipment = BuyerShipment(carrier=text(service.get("expressCompany")) or "",
                                 waybill_no=str(service["expressCode"]))
    state = SERVICE_STATES[status]
    if state == ChannelState.awaiting_buyer_return and shipment is not None:
        state = ChannelState.buyer_returned
    modified = china_time(service.get("updateTime"), "updateTime") or china_time(service.get("applyTime"), "applyTime")
    if modified is None:
        raise Unmappable("service order has neither updateTime nor applyTime")
    sku = id_text(service.get("skuId"), "skuId")
    quantity = int_value(service.get("wareNum"), "wareNum", default=1)
    return ChannelAfterSale(
        channel=Channel.jd.value,
        aftersale_id=SERVICE_PREFIX + id_text(service.get("serviceId"), "serviceId"),
        channel_order_id=id_text(service.get("orderId"), "orderId"),
        kind=SERVICE_KINDS[expect],
        state=state,
        channel_status=str(status),
        version=text(service.get("sysVersion")),
        lines=tuple(_order_lines(order, {sku: quantity})),
        reason=text(service.get("applyReason")),
        buyer_shipment=shipment,
        modified_at=modified,
    )


def _order_lines(order: dict[str, Any] | None, wanted: dict[str, int] | None) -> list[ChannelAfterSaleLine]:
    """The order's lines as OCP names them (the order adapter's own mapping), all of them or the wanted SKUs'."""
    if order is None:
        return []
    lines = []
    for line in JdAdapter().to_order(order).lines:
        sku = line.channel_sku_id or ""
        if wanted is None or wanted.get(sku, 0) > 0:
            quantity = line.quantity if wanted is None else min(line.quantity, wanted[sku])
            if wanted is not None:
                wanted[sku] -= quantity
            lines.append(ChannelAfterSaleLine(channel_line_id=line.line_id, quantity=quantity, sku=line.sku or None))
    return lines


class JdAfterSaleApi(JdApi):
    def fetch_aftersale(self, aftersale_id: str) -> ChannelAfterSale:
        try:
            if aftersale_id.startswith(REFUND_PREFIX):
                apply = self._refund_apply(aftersale_id.removeprefix(REFUND_PREFIX))
                return refund_to_aftersale(apply, self._order(apply.get("orderId")))
            if aftersale_id.startswith(SERVICE_PREFIX):
                service = self._service(aftersale_id.removeprefix(SERVICE_PREFIX))
                return service_to_aftersale(service, self._order(service.get("orderId")))
        except (Unmappable, KeyError, TypeError, ValueError) as exc:
            raise ChannelApiRejected(f"JD after-sale {aftersale_id}: {exc}") from None
        raise ChannelApiRejected(f"JD after-sale id {aftersale_id!r} is neither refund-<id> nor service-<id>")

    def modified_aftersales(self, start: datetime, end: datetime) -> list[str]:
        """New refund applications (apply time) and ones decided (check time) in the window, and the service orders
        JD's incremental sync lists."""
        found: dict[str, None] = {}
        window = (china_time_text(start), china_time_text(end))
        for begin_key, end_key in (("applyTimeStart", "applyTimeEnd"), ("checkTimeStart", "checkTimeEnd")):
            page = 1
            while True:
                result = self._checked(REFUND_LIST, {begin_key: window[0], end_key: window[1], "pageIndex": page,
                                                     "pageSize": REFUND_PAGE_SIZE}, "queryResult")
                rows = [r for r in result.get("result") or [] if isinstance(r, dict)]
                found.update((REFUND_PREFIX + str(r["id"]), None) for r in rows if text(r.get("id")))
                if page * REFUND_PAGE_SIZE >= int_value(result.get("totalCount"), "totalCount", default=0) or not rows:
                    break
                page += 1
        page = 1
        while True:
            result = self._checked(SERVICE_SYNC, {**self._operator(), "updateTimeBegin": window[0],
                                                  "updateTimeEnd": window[1], "pageNumber": page,
                                                  "pageSize": SERVICE_PAGE_SIZE}, "pageResult")
            rows = [r for r in result.get("data") or [] if isinstance(r, dict)]
            found.update((SERVICE_PREFIX + str(r["serviceId"]), None) for r in rows if text(r.get("serviceId")))
            if page * SERVICE_PAGE_SIZE >= int_value(result.get("totalCount"), "totalCount", default=0) or not rows:
                return list(found)
            page += 1

    def agree_refund(self, record: ChannelAfterSale, amount: int) -> str | None:
        if record.state in (ChannelState.refund_agreed, ChannelState.refunded):
            return None
        if record.aftersale_id.startswith(REFUND_PREFIX):
            # JD refunds what the buyer applied for: a different amount is refused here rather than paid.
            if record.requested_amount is not None and amount != record.requested_amount:
                raise AfterSaleRefused(f"JD refunds the applied {record.requested_amount} fen, not {amount} fen")
            self._reply(record, APPROVE, "agreed by OCP", {"outWareStatus": NOT_OUT_OF_WAREHOUSE})
            return None
        if record.state != ChannelState.buyer_returned:
            raise AfterSaleRefused(f"JD service order {record.aftersale_id}: the goods must come back first")
        self._service_write(SERVICE_RECEIVE, record, {
            "receivePin": OPERATOR, "receiveName": OPERATOR, "receiveRemark": f"refund {amount} fen agreed by OCP",
            "wareNum": sum(line.quantity for line in record.lines) or 1,
        })
        return None

    def agree_return(self, record: ChannelAfterSale, address: ReturnAddress) -> None:
        if not record.aftersale_id.startswith(SERVICE_PREFIX):
            raise AfterSaleRefused("a JD refund application has no return: agree the refund instead")
        if record.state in (ChannelState.awaiting_buyer_return, ChannelState.buyer_returned):
            return
        self._service_write(SERVICE_AUDIT, record, {
            "approveNotes": "return agreed by OCP", "returnContactName": address.name,
            "returnContactTel": address.phone, "returnContactMobile": address.phone,
            "returnProvince": address.province, "returnCity": address.city, "returnCounty": address.district,
            "returnDetailAddress": address.detail,
        })

    def refuse(self, record: ChannelAfterSale, reason_code: str, message: str) -> None:
        if record.state == ChannelState.refused:
            return
        if not record.aftersale_id.startswith(REFUND_PREFIX):
            raise AfterSaleRefused("no verified JD API refuses a service order: refuse it in the JD back office")
        reject_type = int(reason_code) if reason_code.isdigit() and 1 <= int(reason_code) <= 6 else REJECT_OTHER
        self._reply(record, REJECT, message, {"rejectType": reject_type})

    # ---- calls -------------------------------------------------------------------------------------------

    def _refund_apply(self, apply_id: str) -> dict[str, Any]:
        result = self._checked(REFUND_LIST, {"ids": apply_id, "pageIndex": 1, "pageSize": 1}, "queryResult")
        rows = [r for r in result.get("result") or [] if isinstance(r, dict) and text(r.get("id")) == apply_id]
        if not rows:
            raise ChannelApiRejected(f"{REFUND_LIST}: no refund application {apply_id}")
        return rows[0]

    def _service(self, service_id: str) -> dict[str, Any]:
        result = self._checked(SERVICE_VIEW, {**self._operator(), "serviceId": service_id}, "result")
        data = result.get("data")
        if not isinstance(data, dict):
            raise ChannelApiRejected(f"{SERVICE_VIEW}: no service order {service_id}")
        return data

    def _order(self, order_id: Any) -> dict[str, Any] | None:
        try:
            return self.fetch_order(id_text(order_id, "orderId"))
        except ChannelApiRejected:
            return None  # the lines stay unnamed; the record itself is still good

    def _reply(self, record: ChannelAfterSale, status: int, remark: str, extra: dict[str, Any]) -> None:
        result = self._checked(REFUND_REPLY, {
            "id": record.aftersale_id.removeprefix(REFUND_PREFIX), "status": status, "checkUserName": OPERATOR,
            "remark": remark, **extra,
        }, "replyResult", record)
        if not result:
            raise ChannelApiUnavailable(f"{REFUND_REPLY} answered without replyResult")

    def _service_write(self, method: str, record: ChannelAfterSale, params: dict[str, Any]) -> None:
        self._checked(method, {
            **self._operator(), "serviceId": record.aftersale_id.removeprefix(SERVICE_PREFIX),
            "orderId": record.channel_order_id, "sysVersion": record.version or "", **params,
        }, "result", record)

    def _checked(self, method: str, params: dict[str, Any], key: str,
                 record: ChannelAfterSale | None = None) -> dict[str, Any]:
        """The call's result object; `success: false` is JD's refusal: stale when it names the version."""
        result = self._call(method, params).get(key)
        if not isinstance(result, dict):
            raise ChannelApiUnavailable(f"{method} answered without {key}")
        if str(result.get("success")).lower() == "false":
            message = str(result.get("errorMsg") or result.get("msg") or result.get("errorCode") or "refused")
            if record is not None and any(marker in message.lower() for marker in _STALE_MARKERS):
                raise StaleAfterSale(f"JD after-sale {record.aftersale_id} changed since version {record.version}")
            if record is not None:
                raise AfterSaleRefused(f"{method} refused {record.aftersale_id}: {message}")
            raise ChannelApiRejected(f"{method}: {message}")
        return result

    @staticmethod
    def _operator() -> dict[str, str]:
        return {"operatePin": OPERATOR, "operateNick": OPERATOR}
