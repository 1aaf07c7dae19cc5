"""Stock signals: re-read a SKU's stock and publish whatever changed (low stock, coupon suspend/resume, listing
updates), once. Apart from `ocp.services.inventory.stock` so `stock_events` loads none of the board's views."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple

from ocp.domain.inventory.signals import Signal, SignalState, signals_for

if TYPE_CHECKING:
    from ocp.ports import EventPublisher, Notifier, SignalStore, StockStore


class SignalDeps(NamedTuple):
    stock: StockStore
    signals: SignalStore
    events: EventPublisher
    notifier: Notifier


@dataclass
class SignalReport:
    published: list[str] = field(default_factory=list)
    """Detail types published, in order."""
    notified: int = 0


def publish_stock_signals(skus: Iterable[str], deps: SignalDeps) -> SignalReport:
    """Re-read each SKU's stock and publish whatever signal changed since it was last published — once."""
    report = SignalReport()
    for sku in sorted(set(skus)):
        for signal in signals_for(sku, deps.stock.levels(sku)):
            _settle(signal, deps, report)
    return report


def _settle(signal: Signal, deps: SignalDeps, report: SignalReport) -> None:
    stored = deps.signals.get(signal.key)
    if stored is not None and stored.as_of > signal.as_of:
        return  # a newer view was handled already
    if stored is not None and stored.value == signal.value and stored.notified:
        return  # nothing changed that anyone needs to hear about
    if stored is None and signal.quiet_first:
        deps.signals.put(signal.key, SignalState(value=signal.value, as_of=signal.as_of, notified=True))
        return
    pending = SignalState(value=signal.value, as_of=max(signal.as_of, stored.as_of if stored else 0), notified=False)
    if not deps.signals.put(signal.key, pending):
        return  # someone with a newer view got there first
    deps.events.publish(list(signal.events))
    report.published += [event.detail_type for event in signal.events]
    if signal.notification is not None:
        deps.notifier.notify(*signal.notification)
        report.notified += 1
    deps.signals.put(signal.key, pending.model_copy(update={"notified": True}))
