"""Local settings: the fake AWS identity, the channel credentials and the API key the local runtime uses.

Demo defaults, used only when the variable is unset (set any of them to override):

| variable | default |
|---|---|
| `OCP_API_KEY` | `local-dev-key` |
| `OCP_CHANNEL_SECRET_SHOPIFY` | `local-shopify-secret` |
| `OCP_CHANNEL_SECRET_DOUYIN` | `local-douyin-secret` |
| `OCP_CHANNEL_SECRET_TAOBAO` | `local-taobao-secret` |
| `OCP_CHANNEL_SECRET_JD` | `local-jd-secret` |
| `OCP_CHANNEL_APP_KEY_<CH>` | `local-<ch>-app-key` (same four channels) |

The same credentials are also stored in the local `channel-secrets` secret as
`{"<channel>": {"secret": ..., "app_key": ...}}`, the shape the functions read in AWS.
Locally, observability is kept off the network: `POWERTOOLS_TRACE_DISABLED=true`, metrics namespace `OCP`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"
"""moto's default account: every ARN the embedded AWS hands out carries it."""

CHANNELS: tuple[str, ...] = ("shopify", "douyin", "taobao", "jd")
DEFAULT_API_KEY = "local-dev-key"
STAGE = "local"

FAKE_AWS_ENV: dict[str, str] = {
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
}
"""Set in the process while the platform runs; `AWS_ENDPOINT_URL` is added once moto listens."""

OBSERVABILITY_ENV: dict[str, str] = {
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_NAMESPACE": "OCP",
}

RETURNS_ENV: dict[str, str] = {
    # Web-store return pickups are booked with the local carrier (deterministic waybills); a deployed stack books
    # none until a carrier is configured, and the buyer sends the goods back.
    "RETURNS_CARRIER": "local",
    # An intercept (a warehouse asked to stop a parcel) is looked at every 5 s instead of every minute.
    "RETURNS_POLL_S": "5",
}
"""Defaults of the returns workflow in the local runtime; the environment wins where it sets them."""

REPLAY_ENV: dict[str, str] = {
    # The embedded SQS (moto 5.2) has no message move tasks: `POST /dlq:redrive` moves the dead letters itself
    # (receive, send, delete). A deployed stack uses SQS `StartMessageMoveTask`.
    "DLQ_REDRIVE": "copy",
}

AWS_ENV_TO_CLEAR: tuple[str, ...] = ("AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_SECURITY_TOKEN")
"""Real credentials or profiles must never reach the embedded AWS (or leak the real one into it)."""


def secret_var(channel: str) -> str:
    return f"OCP_CHANNEL_SECRET_{channel.upper()}"


def app_key_var(channel: str) -> str:
    return f"OCP_CHANNEL_APP_KEY_{channel.upper()}"


def credential_defaults() -> dict[str, str]:
    """Every demo default, keyed by variable name."""
    defaults = {"OCP_API_KEY": DEFAULT_API_KEY}
    for channel in CHANNELS:
        defaults[secret_var(channel)] = f"local-{channel}-secret"
        defaults[app_key_var(channel)] = f"local-{channel}-app-key"
    return defaults


def credentials_env(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The credentials in force: what `environ` sets, else the demo default."""
    source = os.environ if environ is None else environ
    return {name: source.get(name) or default for name, default in credential_defaults().items()}


def channel_secret_document(credentials: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """The `channel-secrets` JSON value: `{"<channel>": {"secret": ..., "app_key": ...}}`."""
    return {
        channel: {"secret": credentials[secret_var(channel)], "app_key": credentials[app_key_var(channel)]}
        for channel in CHANNELS
    }


BOOTSTRAP_PRINCIPAL = "local"


def bootstrap_secret_document(credentials: Mapping[str, str]) -> dict[str, str]:
    """The `bootstrap-api-key` JSON value: `OCP_API_KEY` is the principal `local`, with every scope (no usage key:
    nothing throttles locally)."""
    return {"api_key": credentials["OCP_API_KEY"], "principal": BOOTSTRAP_PRINCIPAL}


def api_key(environ: Mapping[str, str] | None = None) -> str:
    source = os.environ if environ is None else environ
    return source.get("OCP_API_KEY") or DEFAULT_API_KEY
