"""The live-stream peak: a ramp as viewers arrive, a spike when the host opens the offer, then a plateau.

Rates are fractions of the peak; the schedule is deterministic (no randomness), so two drills with the same
options send their orders at the same offsets.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Phase:
    name: str
    start: float
    """Where the phase begins, as a fraction of the drill's duration."""
    end: float
    start_rate: float
    """Orders per second at `start`, as a fraction of the peak (linear to `end_rate`)."""
    end_rate: float


LIVE_STREAM: tuple[Phase, ...] = (
    Phase("ramp", 0.0, 0.3, 0.1, 0.6),
    Phase("spike", 0.3, 0.45, 1.0, 1.0),
    Phase("plateau", 0.45, 1.0, 0.5, 0.5),
)

_STEPS = 20_000
"""Integration steps over the whole duration: fine enough that rounding moves an order by < 0.01 % of it."""


def phase_at(offset_s: float, duration_s: float, shape: tuple[Phase, ...] = LIVE_STREAM) -> Phase:
    fraction = min(max(offset_s / duration_s, 0.0), 1.0)
    return next((p for p in shape if p.start <= fraction < p.end), shape[-1])


def rate_at(offset_s: float, duration_s: float, peak_per_s: float, shape: tuple[Phase, ...] = LIVE_STREAM) -> float:
    """Orders per second the shape asks for `offset_s` into the drill."""
    if not 0 <= offset_s <= duration_s:
        return 0.0
    phase = phase_at(offset_s, duration_s, shape)
    within = (offset_s / duration_s - phase.start) / (phase.end - phase.start)
    return peak_per_s * (phase.start_rate + (phase.end_rate - phase.start_rate) * within)


def send_offsets(duration_s: float, peak_per_s: float, max_orders: int | None = None,
                 shape: tuple[Phase, ...] = LIVE_STREAM) -> list[float]:
    """When each order is sent, in seconds from the start: the k-th order goes when the shape's cumulative
    count reaches k - 0.5 (so a rate of 1/s sends at 0.5, 1.5, …). At most `max_orders`."""
    if duration_s <= 0 or peak_per_s <= 0:
        return []
    step = duration_s / _STEPS
    offsets: list[float] = []
    cumulative, next_due = 0.0, 0.5
    for i in range(_STEPS):
        t = i * step
        cumulative += (rate_at(t, duration_s, peak_per_s, shape) + rate_at(t + step, duration_s, peak_per_s, shape)) \
            * step / 2
        while cumulative >= next_due:
            offsets.append(round(t + step, 6))
            next_due += 1
            if max_orders is not None and len(offsets) >= max_orders:
                return offsets
    return offsets


def expected_orders(duration_s: float, peak_per_s: float, shape: tuple[Phase, ...] = LIVE_STREAM) -> float:
    """The shape's integral: orders a drill of this duration and peak sends (before any `max_orders` cap)."""
    return sum(duration_s * (p.end - p.start) * peak_per_s * (p.start_rate + p.end_rate) / 2 for p in shape)
