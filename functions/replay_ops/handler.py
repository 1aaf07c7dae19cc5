"""Operators on what did not land: `POST /deliveries:replay` (archived deliveries through intake again),
`GET /quarantine` and `POST /quarantine/{quarantine_id}/redrive`, `POST /dlq:redrive`. Each action is logged with its
actor (`x-ocp-actor`, else the API key)."""
# No `from __future__ import annotations`: powertools reads the route signatures at runtime.

from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import unquote

from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ConfigDict, Field

from ocp import composition
from ocp.api.cors import console_cors
from ocp.api.errors import register_error_handlers
from ocp.api.operators import caller_of
from ocp.api.paths import with_literal_colons
from ocp.api.responses import documented
from ocp.base_model import OcpModel
from ocp.domain.errors import InvalidQuery
from ocp.domain.order.replay import MAX_PAGE, DeadLetterRedrive
from ocp.observability import instruments
from ocp.services.order import replay
from ocp.services.order.replay import QuarantinePage, RedriveAnswer, ReplayAnswer

logger, tracer, metrics = instruments("replay_ops")
app = APIGatewayRestResolver(enable_validation=True, cors=console_cors())
register_error_handlers(app)


class ReplayBody(OcpModel):
    """Either `keys`, or `channel` with `since` and `until` (one page of `limit` archive keys, `next_token` on)."""

    model_config = ConfigDict(extra="forbid")
    keys: list[Annotated[str, Field(min_length=1, max_length=512)]] | None = Field(default=None, max_length=MAX_PAGE)
    channel: str | None = Field(default=None, max_length=32)
    since: datetime | None = None
    until: datetime | None = None
    limit: int = Field(default=50, ge=1, le=MAX_PAGE)
    next_token: str | None = Field(default=None, max_length=2048)


class DlqRedriveBody(OcpModel):
    model_config = ConfigDict(extra="forbid")
    queue: str = Field(min_length=1, max_length=80, description="a queue id, e.g. `orders-inbox`")


@app.post("/deliveries:replay", responses=documented(400))
@tracer.capture_method(capture_response=False)
def replay_deliveries(body: Annotated[ReplayBody, Body()]) -> ReplayAnswer:
    if body.keys is not None and (body.channel or body.since or body.until or body.next_token):
        raise InvalidQuery('give either "keys" or "channel", "since" and "until"', details={"field": "keys"})
    if body.keys is not None:
        answer = replay.replay_keys(composition.replay_deps(), body.keys)
    elif body.channel and body.since and body.until:
        answer = replay.replay_range(composition.replay_deps(), body.channel, _utc(body.since), _utc(body.until),
                                     body.limit, body.next_token)
    else:
        raise InvalidQuery('give "keys", or "channel" with "since" and "until"', details={"field": "channel"})
    metrics.add_metric(name="DeliveriesReplayed", unit=MetricUnit.Count, value=answer.replayed)
    logger.info("deliveries replayed", extra={**caller_of(app.current_event).log_fields(), "replayed": answer.replayed,
                                              "failed": len(answer.failed), "examined": answer.examined})
    return answer


@app.get("/quarantine", responses=documented(400, 404))
@tracer.capture_method(capture_response=False)
def get_quarantine(
    channel: Annotated[str | None, Query(max_length=32)] = None,
    state: Annotated[Literal["open", "redriven", "all"], Query()] = "open",
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    next_token: Annotated[str | None, Query(max_length=2048)] = None,
) -> QuarantinePage:
    return replay.list_quarantine(composition.replay_deps(), channel, state, limit, next_token)


@app.post("/quarantine/<quarantine_id>/redrive", responses=documented(400, 404, 409))
@tracer.capture_method(capture_response=False)
def redrive_quarantined(quarantine_id: Annotated[str, Path(min_length=1, max_length=600)]) -> RedriveAnswer:
    # The id is `<delivery id>#<message id>`: clients percent-encode it, and the path arrives as sent.
    answer = replay.redrive_quarantined(composition.replay_deps(), unquote(quarantine_id))
    metrics.add_metric(name=f"QuarantineRedrive_{answer.outcome}", unit=MetricUnit.Count, value=1)
    logger.info("quarantine redrive", extra={**caller_of(app.current_event).log_fields(),
                                             "quarantine_id": answer.quarantine_id, "outcome": answer.outcome})
    return answer


@app.post("/dlq:redrive", responses=documented(400, 404, 409))
@tracer.capture_method(capture_response=False)
def redrive_dlq(body: Annotated[DlqRedriveBody, Body()]) -> DeadLetterRedrive:
    answer = replay.redrive_dlq(composition.replay_deps(), body.queue)
    logger.info("dlq redrive", extra={**caller_of(app.current_event).log_fields(), "queue": answer.queue,
                                      "task": answer.task, "moved": answer.moved, "waiting": answer.waiting})
    return answer


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise InvalidQuery("since and until need a UTC offset (e.g. 2026-11-11T00:00:00Z)", details={"field": "since"})
    return moment


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # `/deliveries:replay`, `/dlq:redrive` and a quarantine id's `#`: as the routes are written.
    event = with_literal_colons(event, encode_hash=True)
    return app.resolve(event, context)
