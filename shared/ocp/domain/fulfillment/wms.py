"""Where a warehouse's WMS takes OCP's instructions, registered with the warehouse (API.md "Warehouses"), and how
an HTTP instruction is signed (API.md "Receiving OCP's instructions (HTTP WMS)").

A WMS either takes pushes (`http`: OCP POSTs each instruction, signed with the warehouse's secret) or consumes an
SQS queue (`sqs`). A registered queue must be named `ocp-wms-…`: the functions that send instructions may send to
queues so named in their own account and region, and to nothing else (`infra/wiring.py`).
"""

import hashlib
import hmac
import re
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator

from ocp.base_model import FrozenModel

WMS_QUEUE_PREFIX = "ocp-wms-"
"""The name every registered WMS queue starts with (the IAM grant is `sqs:SendMessage` on `ocp-wms-*`)."""
SIGNATURE_HEADER = "X-OCP-Signature"
_LOCAL_HOSTS = ("127.0.0.1", "localhost")
_SQS_URL = re.compile(
    r"(?:https://(?:sqs\.[a-z0-9-]+|(?:[a-z0-9-]+\.)?queue)\.amazonaws\.com(?:\.cn)?"
    r"|http://(?:127\.0\.0\.1|localhost)(?::\d{1,5})?)"  # the local runtime's embedded SQS
    r"/\d{12}/(?P<name>[A-Za-z0-9_-]{1,80}(?:\.fifo)?)"
)


def _push_url(value: str) -> str:
    parts = urlsplit(value)
    if any(c.isspace() for c in value) or not parts.hostname:
        raise ValueError("a URL such as https://wms.example.com/ocp/instructions")
    if not (parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in _LOCAL_HOSTS)):
        raise ValueError("https:// is required (plain http:// only to 127.0.0.1 or localhost)")
    if parts.username or parts.password:
        raise ValueError("no credentials in the URL: OCP signs every instruction instead")
    return value


def _queue_url(value: str) -> str:
    match = _SQS_URL.fullmatch(value)
    if match is None:
        raise ValueError("an SQS queue URL: https://sqs.<region>.amazonaws.com/<account>/<queue name>")
    name = match["name"]
    if name.endswith(".fifo"):
        raise ValueError("a standard queue: OCP sends without a message group, which a FIFO queue refuses")
    if not name.startswith(WMS_QUEUE_PREFIX):
        raise ValueError(f"the queue's name must start with {WMS_QUEUE_PREFIX!r}: OCP may send only to queues so named")
    return value


class HttpWmsEndpoint(FrozenModel):
    """A WMS that takes pushes: each instruction is POSTed, signed with the warehouse's secret."""

    type: Literal["http"]
    url: str = Field(max_length=2048, description="https:// (plain http:// only to 127.0.0.1 or localhost)")

    @field_validator("url")
    @classmethod
    def _valid_url(cls, value: str) -> str:
        return _push_url(value)


class SqsWmsEndpoint(FrozenModel):
    """A WMS that consumes its own SQS queue, in OCP's account and region, named `ocp-wms-…`."""

    type: Literal["sqs"]
    queue_url: str = Field(max_length=2048, description=f"A standard queue whose name starts with {WMS_QUEUE_PREFIX}")

    @field_validator("queue_url")
    @classmethod
    def _valid_queue_url(cls, value: str) -> str:
        return _queue_url(value)


WmsEndpoint = Annotated[HttpWmsEndpoint | SqsWmsEndpoint, Field(discriminator="type")]


def signature(secret: str, body: bytes) -> str:
    """`X-OCP-Signature`: `sha256=` and the hex HMAC-SHA256 of the exact body bytes, keyed with the secret."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def no_wms(warehouse: str) -> str:
    """Why an instruction for a warehouse with neither a registered nor a configured WMS is refused."""
    return (f"no WMS configured for warehouse {warehouse}: PUT /warehouses/{warehouse} with a wms, "
            "then re-dispatch (POST /orders:redispatch)")
