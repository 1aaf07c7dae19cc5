"""Channel API clients built from configuration: base URL + credentials + the urllib transport."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING

from ocp.channels.aftersales.registry import aftersale_adapter_for
from ocp.channels.base import ApiConfig, ChannelApi, HttpTransport
from ocp.channels.wire.registry import wire_for
from ocp.domain.errors import ChannelNotConfigured

if TYPE_CHECKING:
    from ocp.channels.aftersales.base import AfterSaleApi
    from ocp.ports import CredentialsProvider


def api_url_var(channel: str) -> str:
    return f"OCP_CHANNEL_API_URL_{channel.upper()}"


class ConfiguredChannelApis:
    """`api(channel)`: the base URL from `OCP_CHANNEL_API_URL_<CH>` (else the `api_url` stored with the
    channel's credentials), read on every call so a changed setting applies without a restart."""

    def __init__(
        self,
        credentials: CredentialsProvider,
        transport: HttpTransport,
        now: Callable[[], datetime],
        environ: Mapping[str, str],
    ) -> None:
        self._credentials = credentials
        self._transport = transport
        self._now = now
        self._environ = environ

    def api(self, channel: str) -> ChannelApi:
        return wire_for(channel).api(self._config(channel))

    def aftersale_api(self, channel: str) -> AfterSaleApi:
        """The channel's after-sale client, on the same base URL and credentials as its order client."""
        return aftersale_adapter_for(channel).aftersale_api(self._config(channel))

    def _config(self, channel: str) -> ApiConfig:
        credentials = self._credentials.credentials(channel)
        base_url = self._environ.get(api_url_var(channel)) or credentials.api_url
        if not base_url:
            raise ChannelNotConfigured(f"no API URL configured for channel {channel!r} ({api_url_var(channel)})")
        return ApiConfig(base_url=base_url, credentials=credentials, transport=self._transport, now=self._now)
