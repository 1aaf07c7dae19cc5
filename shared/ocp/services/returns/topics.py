"""The inbox topic of a polled after-sale: written by the poller, read by the intake (neither loads the other)."""

from __future__ import annotations

POLL_TOPIC = "aftersale_poll"
"""The topic of a polled after-sale's signal (its document: `{"aftersale_id"}`)."""
