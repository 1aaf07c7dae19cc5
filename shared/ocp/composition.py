"""Builds the adapters each function needs, once per process; the only reader of settings."""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3

from ocp.adapters.aws import ChannelCredentialsSource, DynamoQuarantine, S3RawArchive, SqsInbox
from ocp.adapters.dynamodb_orders import DynamoOrderStore
from ocp.domain.clock import utc_now
from ocp.services.intake import IntakeDeps
from ocp.services.processing import ProcessingDeps
from ocp.settings import IntakeSettings, OperatorSettings, ProcessorSettings, load


@cache
def _dynamodb() -> Any:
    return boto3.resource("dynamodb")


@cache
def _client(service: str) -> Any:
    return boto3.client(service)  # type: ignore[call-overload]


@cache
def intake_deps() -> IntakeDeps:
    settings = load(IntakeSettings)
    return IntakeDeps(
        credentials=ChannelCredentialsSource(settings.channel_secrets_arn),
        archive=S3RawArchive(_client("s3"), settings.raw_bucket),
        inbox=SqsInbox(_client("sqs"), settings.inbox_queue_url),
        quarantine=DynamoQuarantine(_dynamodb().Table(settings.quarantine_table)),
    )


@cache
def processing_deps() -> ProcessingDeps:
    settings = load(ProcessorSettings)
    return ProcessingDeps(
        orders=DynamoOrderStore(_dynamodb().Table(settings.orders_table)),
        archive=S3RawArchive(_client("s3"), settings.raw_bucket),
        quarantine=DynamoQuarantine(_dynamodb().Table(settings.quarantine_table)),
        now=utc_now,
    )


@cache
def order_store() -> DynamoOrderStore:
    return DynamoOrderStore(_dynamodb().Table(load(OperatorSettings).orders_table))


def reset() -> None:
    """Forget every cached client and adapter (tests switch environments between cases)."""
    for cached in (_dynamodb, _client, intake_deps, processing_deps, order_store):
        cached.cache_clear()
