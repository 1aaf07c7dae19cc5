"""Order intake: webhooks, their replays, and the channel poller."""

import os

from ocp.settings.base import _Settings, dlq_url_env, queue_url_env


class IntakeSettings(_Settings):
    raw_bucket: str
    inbox_queue_url: str
    quarantine_table: str
    channel_secrets_arn: str | None = None
    aftersales_queue_url: str | None = None
    """The channels' after-sale pushes; unset: they go to the orders inbox like any message."""


class ReplaySettings(IntakeSettings):
    """`replay_ops`: intake's resources, and the queues whose dead letters may be redriven."""

    redrive_queues: str = ""
    """Comma-separated queue ids; each queue's URL in `queue_url_env(id)`, its DLQ's in `dlq_url_env(id)`."""
    dlq_redrive: str = "move_task"
    """`move_task`: SQS `StartMessageMoveTask`; `copy`: receive, send, delete (the local runtime's SQS has no move
    tasks)."""

    def redrive_pairs(self) -> dict[str, tuple[str, str]]:
        """Queue id → (queue URL, DLQ URL)."""
        ids = [q.strip() for q in self.redrive_queues.split(",") if q.strip()]
        missing = [v for q in ids for v in (queue_url_env(q), dlq_url_env(q)) if v not in os.environ]
        if missing:
            raise KeyError(f"queue URL not set: {', '.join(missing)}")
        return {q: (os.environ[queue_url_env(q)], os.environ[dlq_url_env(q)]) for q in ids}


class PollerSettings(_Settings):
    """The channel poller: cursors, where polled documents go, and the channels' credentials."""

    cursor_table: str
    inbox_queue_url: str
    raw_bucket: str
    channel_secrets_arn: str | None = None
    aftersales_queue_url: str | None = None
    """Where polled after-sales go; unset: after-sales are not polled."""
