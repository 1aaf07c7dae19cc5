"""Taobao / Tmall after-sales (AFTERSALES.md §1): TMC `taobao_refund_*` messages name a `refund_id`; the record is
read with `taobao.refund.get` (yuan text → fen through Decimal, version = `refund_version`) and answered with
`taobao.rp.refunds.agree` (amount in **fen**), `taobao.rp.returngoods.agree` and `taobao.refund.refuse`. Requests
are signed exactly like the order API (`TaobaoApi._call`).

❓ Unverified: the TMC content fields (only `refund_id` is relied on), the exact error a stale `refund_version`
gets (any error or per-refund failure whose code or text names the version is taken as stale), and Tmall's
`refuse_proof` image, which OCP does not send (a Tmall refusal without it is refused by the channel).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from ocp.channels.common import Unmappable, china_time, id_text, int_value, listed, required_time, text, yuan
from ocp.channels.signing import china_time_text
from ocp.channels.wire.taobao import TaobaoApi
from ocp.domain.errors import ChannelApiRejected, DomainError
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

TOPIC_PREFIX = "taobao_refund_"
SETTLED_TOPIC = "taobao_refund_RefundSuccess"
REFUND_FIELDS = ",".join((
    "refund_id", "tid", "oid", "total_fee", "refund_fee", "payment", "status", "order_status", "good_status",
    "has_good_return", "reason", "desc", "num", "num_iid", "sku", "outer_id", "title", "company_name", "sid",
    "refund_phase", "refund_version", "refund_remind_timeout", "operation_contraint", "created", "modified",
))
RECEIVE_PAGE_SIZE = 100
STATES = {
    "WAIT_SELLER_AGREE": ChannelState.awaiting_seller,
    "WAIT_BUYER_RETURN_GOODS": ChannelState.awaiting_buyer_return,
    "WAIT_SELLER_CONFIRM_GOODS": ChannelState.buyer_returned,
    "SELLER_REFUSE_BUYER": ChannelState.refused,
    "CLOSED": ChannelState.closed,
    "SUCCESS": ChannelState.refunded,
    # Exchange states (taobao.refunds.receive.get): agreed, the replacement is what is pending; turned into a
    # refund, the exchange itself is over.
    "WAIT_BUYER_CONFIRM_EXCHANGE_SELLER_SEND_GOODS": ChannelState.refund_agreed,
    "WAIT_SELLER_CONSIGN_GOODS": ChannelState.refund_agreed,
    "EXCHANGE_TRANSFORM_TO_REFUND": ChannelState.closed,
}
EXCHANGE_STATES = frozenset({"WAIT_BUYER_CONFIRM_EXCHANGE_SELLER_SEND_GOODS", "WAIT_SELLER_CONSIGN_GOODS",
                             "EXCHANGE_TRANSFORM_TO_REFUND"})
NOT_SHIPPED = frozenset({"WAIT_SELLER_SEND_GOODS", "WAIT_BUYER_PAY", "TRADE_NO_CREATE_PAY"})
_STALE_MARKERS = ("version", "版本")


def signal(topic: str | None, document: dict[str, Any]) -> AfterSaleSignal | None:
    """A TMC message as `TaobaoAdapter.messages()` keeps it: `{"topic": "taobao_refund_…", "content": {...}}`."""
    topic = topic or text(document.get("topic"))
    content = document.get("content")
    if not topic or not topic.startswith(TOPIC_PREFIX) or not isinstance(content, dict):
        return None
    refund_id = text(content.get("refund_id"))
    if refund_id is None:
        return None
    return AfterSaleSignal(aftersale_id=refund_id, settled=topic == SETTLED_TOPIC)


def kind_of(refund: dict[str, Any]) -> ReturnKind:
    """has_good_return tells a return; otherwise the trade's status tells a refund before or after shipment."""
    status = text(refund.get("status")) or ""
    if status in EXCHANGE_STATES:
        return ReturnKind.exchange
    if str(refund.get("has_good_return")).lower() == "true":
        return ReturnKind.return_refund
    if text(refund.get("order_status")) in NOT_SHIPPED:
        return ReturnKind.refund_only
    if text(refund.get("order_status")) is None and text(refund.get("good_status")) == "BUYER_NOT_RECEIVED" \
            and text(refund.get("refund_phase")) == "onsale":
        return ReturnKind.refund_only  # no trade status given: 售中, goods not received
    return ReturnKind.refund_only_after_ship


def to_aftersale(refund: dict[str, Any]) -> ChannelAfterSale:
    """The `refund` object of `taobao.refund.get` → the record. Raises `Unmappable` for a status it does not know."""
    status = text(refund.get("status")) or ""
    if status not in STATES:
        raise Unmappable(f"unknown refund status {status!r}")
    shipment = None
    if text(refund.get("sid")):
        shipment = BuyerShipment(carrier=text(refund.get("company_name")) or "", waybill_no=str(refund["sid"]))
    oid = refund.get("oid_str") or refund.get("oid")
    lines = (ChannelAfterSaleLine(channel_line_id=id_text(oid, "oid"),
                                  quantity=int_value(refund.get("num"), "num", default=1) or 1,
                                  sku=text(refund.get("outer_id"))),) if oid is not None else ()
    version = text(refund.get("refund_version"))
    return ChannelAfterSale(
        channel=Channel.taobao.value,
        aftersale_id=id_text(refund.get("refund_id"), "refund_id"),
        channel_order_id=id_text(refund.get("tid_str") or refund.get("tid"), "tid"),
        kind=kind_of(refund),
        state=STATES[status],
        channel_status=status,
        version=version,
        phase=text(refund.get("refund_phase")),
        lines=lines,
        requested_amount=yuan(refund.get("refund_fee"), "refund_fee", None)
        if text(refund.get("refund_fee")) else None,
        reason=text(refund.get("reason")),
        buyer_shipment=shipment,
        deadline=_deadline(refund.get("refund_remind_timeout")),
        modified_at=required_time(refund.get("modified"), "modified", china_time),
    )


def _deadline(remind: Any) -> datetime | None:
    """`refund_remind_timeout` is {remind_type, exist_timeout, timeout}: the channel acts on its own at `timeout`."""
    if not isinstance(remind, dict) or str(remind.get("exist_timeout")).lower() != "true":
        return None
    try:
        return china_time(remind.get("timeout"), "refund_remind_timeout.timeout")
    except Unmappable:
        return None


def refund_infos(record: ChannelAfterSale, amount: int) -> str:
    """`refund_id|amount_fen|version|phase`, the one-refund form of rp.refunds.agree's batch parameter."""
    return f"{record.aftersale_id}|{amount}|{record.version or ''}|{record.phase or ''}"


class TaobaoAfterSaleApi(TaobaoApi):
    def fetch_aftersale(self, aftersale_id: str) -> ChannelAfterSale:
        response = self._call("taobao.refund.get", {"refund_id": aftersale_id, "fields": REFUND_FIELDS})
        refund = response.get("refund")
        if not isinstance(refund, dict):
            raise ChannelApiRejected(f"taobao.refund.get returned no refund for {aftersale_id}")
        try:
            return to_aftersale(refund)
        except (Unmappable, KeyError, TypeError, ValueError) as exc:
            raise ChannelApiRejected(f"taobao.refund.get {aftersale_id}: {exc}") from None

    def modified_aftersales(self, start: datetime, end: datetime) -> list[str]:
        found: list[str] = []
        page = 1
        while True:
            response = self._call("taobao.refunds.receive.get", {
                "fields": "refund_id,modified", "start_modified": china_time_text(start),
                "end_modified": china_time_text(end), "page_no": str(page), "page_size": str(RECEIVE_PAGE_SIZE),
                "use_has_next": "true",
            })
            refunds = [r for r in listed(response.get("refunds"), "refund") if isinstance(r, dict)]
            found.extend(str(r["refund_id"]) for r in refunds if text(r.get("refund_id")))
            if str(response.get("has_next")).lower() != "true" or not refunds:
                return found
            page += 1

    def agree_refund(self, record: ChannelAfterSale, amount: int) -> str | None:
        """One refund per call; Taobao may ask for an SMS code on large amounts (the failure says so: refused)."""
        if record.state == ChannelState.refunded:
            return None
        try:
            response = self._call("taobao.rp.refunds.agree", {"refund_infos": refund_infos(record, amount)})
        except ChannelApiRejected as exc:
            raise _mapped(exc, record) from exc
        results = [r for r in listed(response.get("results"), "refund_mapping_result") if isinstance(r, dict)]
        mine = next((r for r in results if text(r.get("refund_id")) == record.aftersale_id), None)
        ok = mine.get("succ") if mine is not None else response.get("succ")
        if str(ok).lower() == "true":
            return None
        message = str((mine or {}).get("message") or response.get("message") or response.get("msg_code"))
        if any(marker in message.lower() for marker in _STALE_MARKERS):
            if self.fetch_aftersale(record.aftersale_id).state == ChannelState.refunded:
                return None  # our earlier call went through: the version moved because of it
            raise StaleAfterSale(f"Taobao refund {record.aftersale_id} changed since version {record.version}")
        raise AfterSaleRefused(f"taobao.rp.refunds.agree refused {record.aftersale_id}: {message}")

    def agree_return(self, record: ChannelAfterSale, address: ReturnAddress) -> None:
        if record.state in (ChannelState.awaiting_buyer_return, ChannelState.buyer_returned):
            return
        if not address.channel_address_id:
            raise AfterSaleRefused("Taobao needs the seller's registered return address id (seller_address_id)")
        params = {
            "refund_id": record.aftersale_id, "seller_address_id": address.channel_address_id,
            "name": address.name, "mobile": address.phone, "tel": address.phone,
            "address": " ".join((address.province, address.city, address.district, address.detail)),
            "refund_version": record.version or "", "refund_phase": record.phase or "",
        }
        try:
            response = self._call("taobao.rp.returngoods.agree", params)
        except ChannelApiRejected as exc:
            raise _mapped(exc, record) from exc
        if str(response.get("is_success")).lower() != "true":
            raise AfterSaleRefused(f"taobao.rp.returngoods.agree did not agree {record.aftersale_id}")

    def refuse(self, record: ChannelAfterSale, reason_code: str, message: str) -> None:
        if record.state == ChannelState.refused:
            return
        try:
            response = self._call("taobao.refund.refuse", {
                "refund_id": record.aftersale_id, "refuse_message": message, "refuse_reason_id": reason_code,
                "refund_version": record.version or "", "refund_phase": record.phase or "",
            })
        except ChannelApiRejected as exc:
            raise _mapped(exc, record) from exc
        if str(response.get("is_success")).lower() == "false":
            raise AfterSaleRefused(f"taobao.refund.refuse did not refuse {record.aftersale_id}")


def _mapped(exc: DomainError, record: ChannelAfterSale) -> DomainError:
    codes = exc.details if isinstance(exc.details, dict) else {}
    seen = f"{codes.get('sub_code', '')} {exc.message}".lower()
    if any(marker in seen for marker in _STALE_MARKERS):
        return StaleAfterSale(f"Taobao refund {record.aftersale_id} changed since version {record.version}",
                              details=codes)
    if str(codes.get("sub_code", "")).startswith("isv."):  # a business refusal (state, amount, permission)
        return AfterSaleRefused(f"Taobao refused the write on {record.aftersale_id}: {exc.message}", details=codes)
    return exc
