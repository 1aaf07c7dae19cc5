"""Each function's configuration, validated from the environment on first use — never at import."""

from __future__ import annotations

import os
from typing import TypeVar

from pydantic import BaseModel, ConfigDict


class _Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class IntakeSettings(_Settings):
    raw_bucket: str
    inbox_queue_url: str
    quarantine_table: str
    channel_secrets_arn: str | None = None


class ProcessorSettings(_Settings):
    orders_table: str
    quarantine_table: str
    raw_bucket: str


class OperatorSettings(_Settings):
    orders_table: str


S = TypeVar("S", bound=_Settings)


def load(model: type[S]) -> S:
    """Read the model's fields from upper-case env vars; a missing one fails loudly, naming the variable."""
    return model.model_validate({name: os.environ[name.upper()] for name in model.model_fields
                                 if name.upper() in os.environ})
