"""Scheduled channel poller: orders modified since each channel's high-water mark → the orders inbox, and the
channel's after-sales modified since their own mark → the after-sales inbox (JD's only path; elsewhere the net for a
lost push).

A scheduled tick (EventBridge "Scheduled Event") polls every channel whose API is configured, one after
the other, each on its own cursor; `{"channel": "jd"}` polls just that channel (replays, drills). One
channel failing never stops the others, and its cursor stays where its last complete window ended.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from ocp import composition
from ocp.channels.wire.registry import known_channels, wire_for
from ocp.domain.clock import iso
from ocp.domain.errors import ChannelNotConfigured, DomainError
from ocp.observability import instruments
from ocp.services.order.polling import poll_channel
from ocp.services.returns.polling import poll_aftersales

logger, tracer, metrics = instruments("channel_poller")
_RESERVE_MS = 20_000
"""Stop starting new windows this close to the function's timeout."""


@tracer.capture_method(capture_response=False)
def poll(channel: str, context: LambdaContext) -> dict[str, Any]:
    try:
        result = poll_channel(
            channel, wire_for(channel), composition.polling_deps(),
            out_of_time=lambda: context.get_remaining_time_in_millis() < _RESERVE_MS,
        )
    except ChannelNotConfigured:
        return {"channel": channel, "skipped": "not configured"}
    except DomainError as exc:
        metrics.add_metric(name=f"PollFailed_{channel}", unit=MetricUnit.Count, value=1)
        logger.warning("poll failed", extra={"channel": channel, "code": exc.code, "reason": exc.message})
        return {"channel": channel, "error": exc.code}
    metrics.add_metric(name=f"Polled_{channel}", unit=MetricUnit.Count, value=result.enqueued)
    logger.info("polled", extra={"channel": channel, "windows": result.windows, "enqueued": result.enqueued})
    return {
        "channel": channel, "windows": result.windows, "pages": result.pages, "enqueued": result.enqueued,
        "high_water_mark": iso(result.high_water_mark) if result.high_water_mark else None,
        "aftersales": poll_after_sales(channel, context),
    }


@tracer.capture_method(capture_response=False)
def poll_after_sales(channel: str, context: LambdaContext) -> dict[str, Any]:
    """The channel's after-sales modified since its after-sale mark → the after-sales inbox (signals)."""
    deps = composition.aftersale_poll_deps()
    if deps is None:
        return {"skipped": "no after-sales inbox"}
    try:
        result = poll_aftersales(channel, deps,
                                 out_of_time=lambda: context.get_remaining_time_in_millis() < _RESERVE_MS)
    except ChannelNotConfigured:
        return {"skipped": "not configured"}
    except DomainError as exc:
        metrics.add_metric(name=f"AfterSalePollFailed_{channel}", unit=MetricUnit.Count, value=1)
        logger.warning("after-sale poll failed", extra={"channel": channel, "code": exc.code, "reason": exc.message})
        return {"error": exc.code}
    metrics.add_metric(name=f"AfterSalesPolled_{channel}", unit=MetricUnit.Count, value=result.enqueued)
    return {"windows": result.windows, "enqueued": result.enqueued,
            "high_water_mark": iso(result.high_water_mark) if result.high_water_mark else None}


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    requested = event.get("channel") if isinstance(event, dict) else None
    channels = [wire_for(str(requested)).channel.value] if requested else known_channels()
    return {"results": [poll(channel, context) for channel in channels]}
