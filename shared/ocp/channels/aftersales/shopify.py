"""Shopify returns (AFTERSALES.md §4): the merchant's own store, so "after-sale" means a Return (GraphQL Admin API,
`read_returns`/`write_returns`) and the money goes back through a REST refund on the order.

- Pushes: `returns/request|approve|decline|cancel|close|reopen|update|process` carry the Return (its
  `admin_graphql_api_id`); `refunds/create` carries a Refund and is the settlement signal.
- The after-sale id is the Return's GID (`gid://shopify/Return/<n>`).
- Refund convention: every refund OCP creates has `note = "ocp:<return gid>"`. That note is how a `refunds/create`
  push finds its return, and how a retried `agree_refund` finds the refund it already made (Shopify documents no
  idempotency key for refunds), so a timeout never refunds twice.
- Shopify has no version: writes rely on the return's status (approve only REQUESTED, and so on).
- No return address either: `agree_return` approves the request (the label is a separate reverse delivery).

❓ Unverified: `refunds/create` payloads carrying a `return` object (used only when the note is not OCP's),
refund transaction details (`refunds/calculate.json` → `suggested_refund` with `parent_id`, `gateway`,
`maximum_refundable`).
"""

from __future__ import annotations

import urllib.parse
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ocp.channels.common import text
from ocp.channels.wire.shopify import ShopifyApi
from ocp.domain.clock import iso, parse_instant
from ocp.domain.errors import ChannelApiRejected, ChannelApiUnavailable
from ocp.domain.order.enums import Channel
from ocp.domain.order.money import exponent, to_minor
from ocp.domain.returns.channel import (
    AfterSaleRefused,
    AfterSaleSignal,
    ChannelAfterSale,
    ChannelAfterSaleLine,
    ChannelState,
)
from ocp.domain.returns.model import ReturnKind

if TYPE_CHECKING:
    from ocp.domain.returns.addresses import ReturnAddress

RETURN_TOPICS = frozenset({"returns/request", "returns/approve", "returns/decline", "returns/cancel",
                           "returns/close", "returns/reopen", "returns/update", "returns/process"})
REFUND_TOPIC = "refunds/create"
NOTE_PREFIX = "ocp:"
RETURN_GID = "gid://shopify/Return/"
DECLINE_REASONS = frozenset({"FINAL_SALE", "OTHER", "RETURN_PERIOD_ENDED"})
RESTOCK = "no_restock"
"""OCP's warehouse books the returned goods and OCP pushes stock; Shopify restocking too would count them twice."""
LINES_PAGE = 50
ORDERS_PAGE = 50

RETURN_QUERY = """query ocpReturn($id: ID!) {
  return(id: $id) {
    id name status createdAt closedAt
    order { id }
    returnLineItems(first: 50) { nodes { id quantity
      ... on ReturnLineItem { fulfillmentLineItem { lineItem { id sku } } } } }
    exchangeLineItems(first: 1) { nodes { id } }
    refunds(first: 5) { nodes { id } }
  }
}"""
RETURNS_OF_ORDERS = """query ocpReturns($query: String!, $after: String) {
  orders(first: 50, after: $after, query: $query) {
    nodes { returns(first: 20) { nodes { id } } }
    pageInfo { hasNextPage endCursor }
  }
}"""
APPROVE = """mutation ocpApprove($input: ReturnApproveRequestInput!) {
  returnApproveRequest(input: $input) { return { id status } userErrors { field message code } }
}"""
DECLINE = """mutation ocpDecline($input: ReturnDeclineRequestInput!) {
  returnDeclineRequest(input: $input) { return { id status } userErrors { field message code } }
}"""

_STATES = {"REQUESTED": ChannelState.awaiting_seller, "OPEN": ChannelState.awaiting_buyer_return,
           "DECLINED": ChannelState.refused, "CANCELED": ChannelState.closed, "CLOSED": ChannelState.closed}


def return_gid(value: Any) -> str:
    """A Return's GID from a GID or its bare number."""
    raw = str(value).strip()
    return raw if raw.startswith("gid://") else f"{RETURN_GID}{raw}"


def refund_note(aftersale_id: str) -> str:
    return f"{NOTE_PREFIX}{aftersale_id}"


def signal(topic: str | None, document: dict[str, Any]) -> AfterSaleSignal | None:
    """A Shopify webhook as `ShopifyAdapter.messages()` keeps it: the `X-Shopify-Topic` value and the JSON body."""
    if topic in RETURN_TOPICS:
        ref = document.get("admin_graphql_api_id") or document.get("id")
        return AfterSaleSignal(aftersale_id=return_gid(ref)) if ref not in (None, "") else None
    if topic == REFUND_TOPIC:
        note = text(document.get("note")) or ""
        if note.startswith(NOTE_PREFIX) and len(note) > len(NOTE_PREFIX):
            return AfterSaleSignal(aftersale_id=note.removeprefix(NOTE_PREFIX), settled=True)
        linked = document.get("return")
        if isinstance(linked, dict) and (linked.get("admin_graphql_api_id") or linked.get("id")):
            return AfterSaleSignal(aftersale_id=return_gid(linked.get("admin_graphql_api_id") or linked["id"]),
                                   settled=True)
    return None  # orders/*, and refunds OCP did not make for a return


def to_aftersale(node: dict[str, Any]) -> ChannelAfterSale:
    """The GraphQL `return` node → the record (Shopify carries no requested amount and no version)."""
    status = str(node.get("status") or "")
    if status not in _STATES:
        raise ValueError(f"unknown return status {status!r}")
    refunded = bool(_nodes(node.get("refunds")))
    state = _STATES[status]
    if refunded and status in ("OPEN", "CLOSED"):
        state = ChannelState.refunded
    lines = []
    for item in _nodes(node.get("returnLineItems")):
        line_item = ((item.get("fulfillmentLineItem") or {}).get("lineItem")) or {}
        if line_item.get("id") and int(item.get("quantity") or 0) > 0:
            lines.append(ChannelAfterSaleLine(channel_line_id=_digits(line_item["id"]),
                                              quantity=int(item["quantity"]), sku=text(line_item.get("sku"))))
    modified = node.get("closedAt") or node.get("createdAt")
    if not modified:
        raise ValueError("return has no createdAt")
    return ChannelAfterSale(
        channel=Channel.shopify.value,
        aftersale_id=str(node["id"]),
        channel_order_id=_digits((node.get("order") or {})["id"]),
        kind=ReturnKind.exchange if _nodes(node.get("exchangeLineItems")) else ReturnKind.return_refund,
        state=state,
        channel_status=status,
        lines=tuple(lines),
        modified_at=parse_instant(modified),
    )


def minor_text(amount: int, currency: str) -> str:
    """Minor units → Shopify's decimal text ("12.30"), exact."""
    places = exponent(currency)
    return f"{Decimal(amount).scaleb(-places):.{places}f}"


def _nodes(connection: Any) -> list[dict[str, Any]]:
    if not isinstance(connection, dict):
        return []
    return [n for n in connection.get("nodes") or [] if isinstance(n, dict)]


def _digits(gid: Any) -> str:
    """OCP keeps Shopify ids as the GID's number (`ShopifyAdapter`'s line and order ids)."""
    return str(gid).rsplit("/", 1)[-1]


class ShopifyAfterSaleApi(ShopifyApi):
    def fetch_aftersale(self, aftersale_id: str) -> ChannelAfterSale:
        data = self._graphql(RETURN_QUERY, {"id": return_gid(aftersale_id)})
        node = data.get("return")
        if not isinstance(node, dict):
            raise ChannelApiRejected(f"no Shopify return {aftersale_id}")
        try:
            return to_aftersale(node)
        except (KeyError, TypeError, ValueError) as exc:
            raise ChannelApiRejected(f"Shopify return {aftersale_id}: {exc}") from None

    def modified_aftersales(self, start: datetime, end: datetime) -> list[str]:
        """Shopify is push-first; the fallback lists the returns of orders updated in the window."""
        found: dict[str, None] = {}
        after: str | None = None
        search = f"updated_at:>='{iso(start)}' AND updated_at:<='{iso(end)}'"
        while True:
            data = self._graphql(RETURNS_OF_ORDERS, {"query": search, "after": after})
            orders = data.get("orders") or {}
            for order in _nodes(orders):
                found.update((str(r["id"]), None) for r in _nodes(order.get("returns")) if r.get("id"))
            page = orders.get("pageInfo") or {}
            if not page.get("hasNextPage") or not page.get("endCursor"):
                return list(found)
            after = str(page["endCursor"])

    def agree_refund(self, record: ChannelAfterSale, amount: int) -> str | None:
        """A REST refund of the return's lines for `amount` (minor units), once: a refund already noted
        `ocp:<return gid>` on the order is the answer."""
        order = f"{self._root}/orders/{urllib.parse.quote(record.channel_order_id)}"
        note = refund_note(record.aftersale_id)
        existing, _ = self._get(f"{order}/refunds.json")
        for refund in existing.get("refunds") or []:
            if isinstance(refund, dict) and refund.get("note") == note:
                return str(refund.get("id"))
        if record.state == ChannelState.refunded:
            return None  # refunded on Shopify by someone else: nothing left to agree
        if record.state in (ChannelState.refused, ChannelState.closed):
            raise AfterSaleRefused(f"Shopify return {record.aftersale_id} is {record.channel_status}")
        line_items = [{"line_item_id": int(line.channel_line_id), "quantity": line.quantity, "restock_type": RESTOCK}
                      for line in record.lines]
        calculated = self._post(f"{order}/refunds/calculate.json",
                                {"refund": {"refund_line_items": line_items, "shipping": {"amount": "0.00"}}})
        suggestion = calculated.get("refund") or {}
        currency = str(suggestion.get("currency") or "")
        if len(currency) != 3:
            raise ChannelApiUnavailable("refunds/calculate.json answered without a currency")
        transactions = _transactions(suggestion.get("transactions") or [], amount, currency)
        created = self._post(f"{order}/refunds.json", {"refund": {
            "note": note, "notify": True, "currency": currency, "refund_line_items": line_items,
            "transactions": transactions,
        }})
        refund = created.get("refund") or {}
        if refund.get("id") is None:
            raise ChannelApiUnavailable(f"refunds.json answered without a refund for {record.aftersale_id}")
        return str(refund["id"])

    def agree_return(self, record: ChannelAfterSale, address: ReturnAddress) -> None:
        if record.state != ChannelState.awaiting_seller:
            self._already(record, (ChannelState.awaiting_buyer_return, ChannelState.buyer_returned,
                                   ChannelState.refund_agreed, ChannelState.refunded))
            return
        self._mutate(APPROVE, "returnApproveRequest", {"id": record.aftersale_id}, record,
                     (ChannelState.awaiting_buyer_return, ChannelState.refunded))

    def refuse(self, record: ChannelAfterSale, reason_code: str, message: str) -> None:
        if record.state != ChannelState.awaiting_seller:
            self._already(record, (ChannelState.refused,))
            return
        reason = reason_code.upper() if reason_code.upper() in DECLINE_REASONS else "OTHER"
        self._mutate(DECLINE, "returnDeclineRequest",
                     {"id": record.aftersale_id, "declineReason": reason, "declineNote": message}, record,
                     (ChannelState.refused,))

    # ---- calls -------------------------------------------------------------------------------------------

    def _already(self, record: ChannelAfterSale, done: tuple[ChannelState, ...]) -> None:
        if record.state not in done:
            raise AfterSaleRefused(f"Shopify return {record.aftersale_id} is {record.channel_status}")

    def _mutate(self, mutation: str, field: str, payload: dict[str, Any], record: ChannelAfterSale,
                done: tuple[ChannelState, ...]) -> None:
        """Shopify answers a status that no longer allows the change with userErrors: when a re-read shows it
        already where we wanted (an earlier attempt went through), that is success."""
        result = self._graphql(mutation, {"input": payload}).get(field) or {}
        errors = [e for e in result.get("userErrors") or [] if isinstance(e, dict)]
        if not errors:
            return
        if self.fetch_aftersale(record.aftersale_id).state in done:
            return
        raise AfterSaleRefused(f"Shopify {field} on {record.aftersale_id}: "
                               + "; ".join(str(e.get("message")) for e in errors))

    def _graphql(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        body = self._post(f"{self._root}/graphql.json", {"query": query, "variables": variables})
        errors = [e for e in body.get("errors") or [] if isinstance(e, dict)]
        if errors:
            codes = {str((e.get("extensions") or {}).get("code")) for e in errors}
            detail = "; ".join(str(e.get("message")) for e in errors)
            if "THROTTLED" in codes or "INTERNAL_SERVER_ERROR" in codes:
                raise ChannelApiUnavailable(f"Shopify GraphQL: {detail}")
            raise ChannelApiRejected(f"Shopify GraphQL: {detail}")
        data = body.get("data")
        if not isinstance(data, dict):
            raise ChannelApiUnavailable("Shopify GraphQL answered without data")
        return data


def _transactions(suggested: list[Any], amount: int, currency: str) -> list[dict[str, Any]]:
    """`amount` spread over the suggested transactions in order, each up to what it can still refund."""
    left, out = amount, []
    for suggestion in suggested:
        if left <= 0 or not isinstance(suggestion, dict):
            continue
        room = to_minor(str(suggestion.get("maximum_refundable") or suggestion.get("amount") or "0"), currency)
        take = min(left, room)
        if take > 0:
            out.append({"parent_id": suggestion.get("parent_id"), "gateway": suggestion.get("gateway"),
                        "kind": "refund", "amount": minor_text(take, currency)})
            left -= take
    if left > 0:
        raise AfterSaleRefused(f"Shopify can refund at most {amount - left} of {amount} (minor units) on this order")
    return out
