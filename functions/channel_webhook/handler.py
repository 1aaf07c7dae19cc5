"""POST /webhooks/{channel}: verify the channel's signature, archive the raw delivery, enqueue, ack."""


import base64
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from ocp import composition
from ocp.api.cors import console_cors
from ocp.api.errors import register_error_handlers
from ocp.api.responses import documented
from ocp.channels.base import Delivery
from ocp.channels.wire.registry import wire_for
from ocp.domain.clock import utc_now
from ocp.domain.errors import DomainError
from ocp.observability import instruments
from ocp.services.order.intake import accept_delivery

logger, tracer, metrics = instruments("channel_webhook")
app = APIGatewayRestResolver(cors=console_cors())
register_error_handlers(app, json_bodies=False)


@app.post("/webhooks/<channel>", responses=documented(400, 401, 404, 422, 503, descriptions={
    200: "Accepted: the channel's own acknowledgement", 400: "Unreadable body (archived and quarantined)",
    401: "Signature invalid", 404: "Unknown channel", 503: "The channel's secret is not configured (kept for replay)"}))
@tracer.capture_method(capture_response=False)
def receive(channel: str) -> Response[dict[str, Any]]:
    adapter = wire_for(channel)
    event = app.current_event
    delivery = Delivery(
        channel=adapter.channel,
        headers={k.lower(): v for k, v in (event.headers or {}).items()},
        query=dict(event.query_string_parameters or {}),
        body=_raw_body(event.body, event.is_base64_encoded),
        received_at=utc_now(),
    )
    metrics.add_dimension(name="channel", value=channel)
    try:
        accepted = accept_delivery(delivery, adapter, composition.intake_deps())
    except DomainError as exc:
        metrics.add_metric(name=f"Deliveries_{exc.code}", unit=MetricUnit.Count, value=1)
        logger.warning("delivery refused", extra={"channel": channel, "code": exc.code})
        raise
    metrics.add_metric(name="DeliveriesAccepted", unit=MetricUnit.Count, value=1)
    if accepted.quarantined:
        metrics.add_metric(name="MessagesQuarantined", unit=MetricUnit.Count, value=accepted.quarantined)
    logger.info("delivery accepted", extra={
        "delivery_id": accepted.delivery_id, "messages": accepted.messages, "quarantined": accepted.quarantined,
    })
    return Response(status_code=accepted.ack.status_code, content_type="application/json",
                    body=accepted.ack.body)


def _raw_body(body: str | None, is_base64: bool | None) -> bytes:
    # Signatures are over the exact bytes the channel sent: never re-serialise.
    return base64.b64decode(body or "") if is_base64 else (body or "").encode("utf-8")


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
