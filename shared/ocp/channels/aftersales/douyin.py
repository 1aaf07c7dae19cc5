"""Douyin 抖店 after-sales (AFTERSALES.md §2): refund pushes are tags 200–227 whose `data` names `aftersale_id`;
records are read with `/afterSale/Detail` (fen ints, Unix seconds, version = `update_time`) and answered with the
single audit endpoint `/afterSale/operate`. Requests are signed exactly like the order API (`DouyinApi._call`).

`/afterSale/operate` type codes used here (only 201/202 are seen in an SDK constant; 101/301/311 are known to be
the address-bearing codes; the rest are ❓ unverified, from AFTERSALES.md §2.2 — check guide 93/2752):
  201 agree refund-only (verified as 发货后同意仅退款; also sent before shipment: no other refund-agree code seen)
  202 refuse refund-only · 101 agree return (一审, `logistics.receiver_address_id`) · 102 refuse return
  111 confirm receipt and refund (二审) · 112 refuse after the return · 301 agree exchange · 302 refuse exchange
  312 refuse exchange after the return.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from ocp.channels.common import Unmappable, epoch_seconds, fen, id_text, int_value, required_time, text
from ocp.channels.wire.douyin import DouyinApi
from ocp.domain.errors import ChannelApiRejected, ChannelApiUnavailable, DomainError
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

FIRST_TAG, LAST_TAG = 200, 227
"""The refund (售后) message family; every one carries `aftersale_id` in `data`."""
REFUND_SUCCESS_TAG = "206"
"""退款成功: the money was paid out (status 12 alone only means agreed)."""
STALE_CODE = "20309541"
"""售后状态错误: the record moved since it was read (or `update_time` is not the latest): re-read."""
MANUAL_ONLY = "11001"
"""暂不支持通过OPEN处理，请登录抖店后台人工审核: the API may not act on this one."""
LIST_PAGE_SIZE = 100

KINDS = {0: ReturnKind.return_refund, 1: ReturnKind.refund_only_after_ship, 2: ReturnKind.refund_only,
         3: ReturnKind.exchange, 7: ReturnKind.reship}
"""aftersale_type → kind. 6 价保 (price protection) and 8 维修 (repair) have no OCP kind: read as refused."""

AGREE_REFUND_ONLY, REFUSE_REFUND_ONLY = 201, 202
AGREE_RETURN, REFUSE_RETURN = 101, 102
CONFIRM_RECEIPT_REFUND, REFUSE_AFTER_RETURN = 111, 112
AGREE_EXCHANGE, REFUSE_EXCHANGE, REFUSE_EXCHANGE_AFTER_RETURN = 301, 302, 312


def state_of(status: int, refund_status: int) -> ChannelState:
    """Douyin's `after_sale_status` (+ `refund_status`, 3 = paid) → the normalised state. For exchanges and
    reships 8/13 (replacement to ship / on its way) read as agreed and 14 (received) as done: they carry no money."""
    if status in (27, 29):
        return ChannelState.refused
    if status == 28:
        return ChannelState.closed
    if refund_status == 3 or status in (14, 53):
        return ChannelState.refunded
    return {
        6: ChannelState.awaiting_seller,
        7: ChannelState.awaiting_buyer_return,
        11: ChannelState.buyer_returned,
    }.get(status, ChannelState.refund_agreed)  # 8, 12, 13, 51: agreed, money or replacement still to come


def signal(topic: str | None, document: dict[str, Any]) -> AfterSaleSignal | None:
    """A Douyin push as `DouyinAdapter.messages()` keeps it: `{"tag", "msg_id", "data": {...}}` (data decoded)."""
    tag, data = text(document.get("tag")), document.get("data")
    if tag is None or not tag.isdigit() or not FIRST_TAG <= int(tag) <= LAST_TAG or not isinstance(data, dict):
        return None
    aftersale_id = text(data.get("aftersale_id"))
    if aftersale_id is None:
        return None
    return AfterSaleSignal(aftersale_id=aftersale_id, settled=tag == REFUND_SUCCESS_TAG)


def to_aftersale(data: dict[str, Any]) -> ChannelAfterSale:
    """`/afterSale/Detail`'s `data` → the record. Raises `Unmappable` for a shape or kind OCP cannot take."""
    process = data.get("process_info") or {}
    info = process.get("after_sale_info") or {}
    order = data.get("order_info") or {}
    kind_code = int_value(info.get("after_sale_type"), "after_sale_type")
    kind = KINDS.get(kind_code)
    if kind is None:
        raise Unmappable(f"after_sale_type {kind_code} (price protection / repair) has no OCP kind")
    status = int_value(info.get("after_sale_status"), "after_sale_status")
    returned = (process.get("logistics_info") or {}).get("return") or {}
    shipment = None
    if text(returned.get("tracking_no")):
        shipment = BuyerShipment(carrier=text(returned.get("company_code")) or text(returned.get("company_name")) or "",
                                 waybill_no=str(returned["tracking_no"]))
    updated = int_value(info.get("update_time"), "update_time")
    return ChannelAfterSale(
        channel=Channel.douyin.value,
        aftersale_id=id_text(info.get("after_sale_id"), "after_sale_id"),
        channel_order_id=id_text(order.get("shop_order_id"), "order_info.shop_order_id"),
        kind=kind,
        state=state_of(status, int_value(info.get("refund_status"), "refund_status", default=0)),
        channel_status=str(status),
        version=str(updated),
        lines=tuple(_lines(order.get("sku_order_infos") or [])),
        requested_amount=fen(info.get("refund_total_amount"), "refund_total_amount", None)
        if info.get("refund_total_amount") is not None else None,
        reason=text(info.get("reason")),
        buyer_shipment=shipment,
        deadline=epoch_seconds(info.get("status_deadline"), "status_deadline"),
        modified_at=required_time(updated, "update_time", epoch_seconds),
    )


def _lines(raw_lines: list[Any]) -> list[ChannelAfterSaleLine]:
    """One line per SKU order (`sku_order_id` is OCP's `OrderLine.line_id` for Douyin); the units in the after-sale
    are `after_sale_item_count`, or the whole SKU order when Douyin leaves it 0 (a shop-order refund)."""
    lines = []
    for raw in raw_lines:
        if not isinstance(raw, dict):
            continue
        count = int_value(raw.get("after_sale_item_count"), "after_sale_item_count", default=0)
        quantity = count or int_value(raw.get("item_quantity"), "item_quantity", default=0)
        if quantity > 0:
            lines.append(ChannelAfterSaleLine(channel_line_id=id_text(raw.get("sku_order_id"), "sku_order_id"),
                                              quantity=quantity, sku=text(raw.get("shop_sku_code"))))
    return lines


class DouyinAfterSaleApi(DouyinApi):
    """The after-sale calls, signed and enveloped by the order client's `_call`."""

    def fetch_aftersale(self, aftersale_id: str) -> ChannelAfterSale:
        data = self._call("afterSale.Detail", {"after_sale_id": aftersale_id})
        try:
            return to_aftersale(data)
        except (Unmappable, KeyError, TypeError, ValueError) as exc:
            raise ChannelApiRejected(f"afterSale.Detail {aftersale_id}: {exc}") from None

    def modified_aftersales(self, start: datetime, end: datetime) -> list[str]:
        found: list[str] = []
        page = 0
        while True:
            data = self._call("afterSale.List", {
                "update_start_time": int(start.timestamp()), "update_end_time": int(end.timestamp()),
                "order_by": ["update_time asc"], "page": page, "size": LIST_PAGE_SIZE,
            })
            items = [i for i in data.get("items") or [] if isinstance(i, dict)]
            for item in items:
                info = item.get("aftersale_info") or item
                if text(info.get("aftersale_id")):
                    found.append(str(info["aftersale_id"]))
            if not data.get("has_more") or not items:
                return found
            page += 1

    def agree_refund(self, record: ChannelAfterSale, amount: int) -> str | None:
        """Douyin pays what the buyer asked (`refund_total_amount`): it takes no amount, so a different one is
        refused here rather than paid. Before the goods come back (refund-only) 201; after (return) 111."""
        if record.state in _AGREED:
            return None
        if record.requested_amount is not None and amount != record.requested_amount:
            raise AfterSaleRefused(f"Douyin refunds what the buyer asked ({record.requested_amount} fen), "
                                   f"not {amount} fen: negotiate on Douyin first")
        if record.kind in (ReturnKind.refund_only, ReturnKind.refund_only_after_ship):
            code = AGREE_REFUND_ONLY
        elif record.kind == ReturnKind.return_refund and record.state == ChannelState.buyer_returned:
            code = CONFIRM_RECEIPT_REFUND
        else:
            raise AfterSaleRefused(f"Douyin cannot agree a refund of a {record.kind.value} in {record.state.value}")
        try:
            self._operate(code, record, {})
        except StaleAfterSale:
            # Already agreed (a timeout auto-agree, our own earlier call that timed out) is success.
            if self.fetch_aftersale(record.aftersale_id).state in _AGREED:
                return None
            raise
        return None

    def agree_return(self, record: ChannelAfterSale, address: ReturnAddress) -> None:
        if record.state in (ChannelState.awaiting_buyer_return, ChannelState.buyer_returned):
            return
        if not address.channel_address_id:
            raise AfterSaleRefused("Douyin needs a registered return address (receiver_address_id from /address/list)")
        code = AGREE_EXCHANGE if record.kind == ReturnKind.exchange else AGREE_RETURN
        self._operate(code, record, {"logistics": {"receiver_address_id": int(address.channel_address_id)}})

    def refuse(self, record: ChannelAfterSale, reason_code: str, message: str) -> None:
        if record.state == ChannelState.refused:
            return
        after_return = record.state == ChannelState.buyer_returned
        if record.kind == ReturnKind.exchange:
            code = REFUSE_EXCHANGE_AFTER_RETURN if after_return else REFUSE_EXCHANGE
        elif record.kind == ReturnKind.return_refund:
            code = REFUSE_AFTER_RETURN if after_return else REFUSE_RETURN
        else:
            code = REFUSE_REFUND_ONLY
        self._operate(code, record, {"reason": message, "remark": message,
                                     "reject_reason_code": int_value(reason_code, "reject_reason_code")})

    def _operate(self, code: int, record: ChannelAfterSale, extra: dict[str, Any]) -> None:
        """One item per call (a failing item fails the whole batch). `update_time` makes Douyin check the version."""
        item: dict[str, Any] = {"aftersale_id": record.aftersale_id, **extra}
        if record.version:
            item["update_time"] = int(record.version)
        try:
            data = self._call("afterSale.operate", {"type": code, "items": [item]})
        except (ChannelApiRejected, ChannelApiUnavailable) as exc:
            raise _mapped(exc, record) from exc
        for result in data.get("items") or []:
            if isinstance(result, dict) and str(result.get("status_code") or 0) != "0":
                raise _mapped(ChannelApiRejected(
                    f"afterSale.operate {record.aftersale_id}: {result.get('status_msg')}",
                    details={"code": str(result.get("status_code")), "sub_code": ""}), record)


_AGREED = (ChannelState.refund_agreed, ChannelState.refunded)


def _mapped(exc: DomainError, record: ChannelAfterSale) -> DomainError:
    """The channel's refusal as OCP's: stale version, manual-only, else as it came."""
    codes = exc.details if isinstance(exc.details, dict) else {}
    seen = f"{codes.get('code', '')} {codes.get('sub_code', '')}"
    if STALE_CODE in seen:
        return StaleAfterSale(f"Douyin after-sale {record.aftersale_id} changed since version {record.version}",
                              details=codes)
    if MANUAL_ONLY in seen:
        return AfterSaleRefused(f"Douyin will not take this decision through the API: {exc.message}", details=codes)
    return exc
