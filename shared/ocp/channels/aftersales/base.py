"""What a channel's after-sale side does: tell after-sale pushes from order pushes, read an after-sale record back
and answer it through the channel's API (agree the refund, agree the return with an address, refuse).

Like the order adapters these are pure: HTTP goes through the `HttpTransport` of the `ApiConfig` they are given.
Every write carries the record's version where the channel has one; a channel that answers "stale" raises
`StaleAfterSale` (read again, never retry blindly).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

if TYPE_CHECKING:
    from ocp.channels.base import ApiConfig
    from ocp.domain.returns.addresses import ReturnAddress
    from ocp.domain.returns.channel import AfterSaleSignal, ChannelAfterSale


class AfterSaleApi(Protocol):
    def fetch_aftersale(self, aftersale_id: str) -> ChannelAfterSale:
        """The after-sale record as the channel has it now; `ChannelApiRejected` for one it does not know,
        `ChannelApiUnavailable` when a retry may succeed."""

    def modified_aftersales(self, start: datetime, end: datetime) -> list[str]:
        """Ids of after-sales modified in [start, end] (the poller's path where pushes are not available)."""

    def agree_refund(self, record: ChannelAfterSale, amount: int) -> str | None:
        """Agree to refund `amount` (fen) at the record's version; the channel's refund reference when it gives
        one. Agreeing what the channel already shows agreed or refunded is a success (idempotent)."""

    def agree_return(self, record: ChannelAfterSale, address: ReturnAddress) -> None:
        """Agree the buyer sends the goods back, to `address`."""

    def refuse(self, record: ChannelAfterSale, reason_code: str, message: str) -> None:
        """Refuse the after-sale with the channel's reason code and a message for the buyer."""


class AfterSaleAdapter(NamedTuple):
    """A channel's after-sale side: which of its pushes are about an after-sale, and its after-sale API client."""

    channel: str
    signal: Callable[[str | None, dict[str, Any]], AfterSaleSignal | None]
    client: Callable[[ApiConfig], AfterSaleApi]

    def aftersale_signal(self, topic: str | None, document: dict[str, Any]) -> AfterSaleSignal | None:
        """The after-sale a pushed message is about; None for a message about an order."""
        return self.signal(topic, document)

    def aftersale_api(self, config: ApiConfig) -> AfterSaleApi:
        return self.client(config)
