"""What every channel adapter does: verify a delivery, split it into messages, tell thin messages from full
documents, talk to the channel's API (`ChannelWire`), and map documents to orders (`ChannelAdapter`).

Adding a channel is a wire module (`ocp.channels.wire.<channel>`) implementing `ChannelWire` and a module mapping
its documents (`ocp.channels.<channel>`) implementing `ChannelAdapter`, named as `ocp.channels.wire.registry` says,
plus its line there. The wire side builds no order model: intake, replay and the poller never map. Adapters are
pure: they never import boto3 or an HTTP library; API calls go through the `HttpTransport` they are given.
"""

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from pydantic import ConfigDict

from ocp.api.bodies import JsonTooDeep
from ocp.api.bodies import loads as json_loads
from ocp.base_model import OcpModel
from ocp.domain.errors import MalformedDelivery
from ocp.domain.order.enums import Channel

if TYPE_CHECKING:
    from ocp.domain.order.model import Order


class ChannelCredentials(OcpModel):
    model_config = ConfigDict(frozen=True)

    secret: str
    app_key: str | None = None
    access_token: str | None = None
    """The seller's API token (Taobao `session`, JD/Douyin `access_token`, Shopify admin token)."""
    api_url: str | None = None
    """The channel API's base URL when it comes with the credentials (`OCP_CHANNEL_API_URL_<CH>` overrides it)."""

    def __repr__(self) -> str:  # never let a secret reach a log line through a repr
        token = "***" if self.access_token else None
        return f"ChannelCredentials(app_key={self.app_key!r}, secret=***, access_token={token})"

    __str__ = __repr__


class Delivery(OcpModel):
    """One HTTP delivery from a channel, exactly as received. Header names are lower-cased."""

    model_config = ConfigDict(frozen=True)

    channel: Channel
    headers: dict[str, str]
    query: dict[str, str] = {}
    body: bytes
    received_at: datetime
    """When OCP received it; signature schemes with a timestamp check their skew against this time."""

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


class ChannelMessage(OcpModel):
    """One unit of work inside a delivery: a full order document, or a thin event naming an order to pull."""

    model_config = ConfigDict(frozen=True)

    message_id: str
    topic: str | None = None
    document: dict[str, Any] = {}
    problem: str | None = None
    """Set when this one message is unusable; intake quarantines it and still takes the rest of the delivery."""


class Ack(OcpModel):
    """The response body a channel expects when a delivery was accepted."""

    status_code: int = 200
    body: dict[str, Any] = {}


# ---- talking to a channel's API -------------------------------------------------------------------------
# Immutable records without a mutable default are NamedTuples: each costs a fifth of a frozen dataclass to define,
# and every function that talks to a channel imports them.


@dataclass(frozen=True)
class HttpRequest:
    method: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes | None = None


@dataclass(frozen=True)
class HttpResponse:
    status: int
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)
    """Header names lower-cased."""


class HttpTransport(Protocol):
    def send(self, request: HttpRequest) -> HttpResponse:
        """Any HTTP status comes back as a response; raise `ChannelApiUnavailable` when no response came."""


class ApiConfig(NamedTuple):
    """Everything a channel API client needs, built by the shell (`ocp.adapters.channels.apis`)."""

    base_url: str
    credentials: ChannelCredentials
    transport: HttpTransport
    now: Callable[[], datetime]


class OrderPage(NamedTuple):
    """One page of orders modified in a window: full order documents `to_order` accepts."""

    documents: list[dict[str, Any]]
    next_page: str | None = None


class ShippedItem(NamedTuple):
    line_id: str
    """The channel's own line id (OCP keeps it as `OrderLine.line_id`)."""
    quantity: int
    ordered: int
    """The line's quantity on the order: a parcel may hold part of it."""


class ShipmentNotice(NamedTuple):
    """One parcel to confirm on the channel (the write-back): the carrier and tracking number the
    warehouse reported and the channel's lines it holds."""

    channel_order_id: str
    tracking_no: str
    carrier: str
    """OCP's carrier code as the warehouse reported it (e.g. `SF`); each channel maps it to its own code."""
    items: tuple[ShippedItem, ...]
    whole_order: bool
    """The parcel holds every channel line in full: the channel's whole-order ship call applies."""


class ChannelApi(Protocol):
    def fetch_order(self, channel_order_id: str) -> dict[str, Any]:
        """The full order document; `ChannelApiRejected` when the channel refuses for good,
        `ChannelApiUnavailable` when a retry may succeed."""

    def modified_orders(self, start: datetime, end: datetime, page: str | None = None) -> OrderPage:
        """Orders whose channel modification time lies in [start, end]; `page` continues a previous page."""

    def confirm_shipment(self, notice: ShipmentNotice) -> None:
        """Tell the channel the parcel left (carrier, tracking number, its lines). Return once acknowledged; a
        parcel the channel already shows as shipped counts as acknowledged. `ChannelApiUnavailable` when a retry
        may succeed, `ChannelApiRejected` when it will not (the order is closed there, a carrier it refuses)."""


# ---- the adapter ----------------------------------------------------------------------------------------


class ChannelWire(Protocol):
    """A channel on the wire (`ocp.channels.wire`): all intake, replay and the poller use."""

    channel: Channel

    def verify(self, delivery: Delivery, credentials: ChannelCredentials) -> None:
        """Raise `SignatureInvalid` unless the delivery is signed exactly as the channel signs."""

    def delivery_id(self, delivery: Delivery) -> str:
        """A stable id for the delivery: a retry of the same delivery gets the same id."""

    def messages(self, delivery: Delivery) -> list[ChannelMessage]:
        """Split a verified delivery into messages; raise `MalformedDelivery` when the body is unreadable.
        Control messages (a URL check) yield no message; one broken message yields one with `problem` set."""

    def ack(self) -> Ack:
        """What to answer the channel once the delivery is durably stored."""

    def is_thin(self, document: dict[str, Any]) -> bool:
        """True when the document is an event that only names an order: the full order must be pulled."""

    def order_ref(self, document: dict[str, Any]) -> str:
        """The channel order id a document is about: the one a thin message names, or a full order's own."""

    def api(self, config: ApiConfig) -> ChannelApi:
        """The channel's API client (pulls of thin messages, the poller)."""


class ChannelAdapter(ChannelWire, Protocol):
    """The wire side and the channel's order documents mapped to orders: the order processor's."""

    def to_order(self, document: dict[str, Any]) -> "Order":
        """Map a full channel order document; raise `UnmappableDocument` with every reason."""


def body_digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def parse_json_object(body: bytes) -> dict[str, Any]:
    document = parse_json(body)
    if not isinstance(document, dict):
        raise MalformedDelivery(f"body is JSON {type(document).__name__}, expected an object")
    return document


def parse_json(body: bytes) -> Any:
    """The delivery's JSON; `MalformedDelivery` (kept and quarantined with the reason) when the body is not UTF-8,
    not JSON, or nested deeper than `ocp.api.bodies.MAX_DEPTH` (checked without recursion)."""
    try:
        return json_loads(body)
    except JsonTooDeep as exc:
        raise MalformedDelivery(f"body is {exc}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MalformedDelivery(f"body is not JSON: {exc}") from exc
