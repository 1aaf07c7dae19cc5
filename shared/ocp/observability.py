"""Logger, tracer and metrics for a function: JSON logs with the order id as correlation id, never PII."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer

NAMESPACE = "OCP"


def instruments(service: str) -> tuple[Logger, Tracer, Metrics]:
    return Logger(service=service), Tracer(service=service), Metrics(namespace=NAMESPACE, service=service)
