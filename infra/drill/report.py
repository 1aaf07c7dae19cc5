"""The drill's figures: percentiles, a summary table, `report.json` and `drill.png` (matplotlib, Agg)."""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from infra.drill.observer import RESERVED_STATUSES, Observed
from infra.drill.oversell import StockKey, committed_units, oversold
from infra.drill.sender import Sent


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0-100) by linear interpolation between closest ranks (numpy's default); None
    when there is nothing to rank."""
    if not values:
        return None
    ranked = sorted(values)
    position = (len(ranked) - 1) * q / 100
    low, high = math.floor(position), math.ceil(position)
    return ranked[low] + (ranked[high] - ranked[low]) * (position - low)


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value * 1000, 1)


def build_report(sent: Sequence[Sent], observed: Sequence[Observed], pushed: Mapping[StockKey, int],
                 options: Mapping[str, Any], elapsed_s: float, observer_errors: int = 0) -> dict[str, Any]:
    """Every figure of the drill, JSON-ready. Counts are of deliveries (`sent`, `accepted`) or of distinct
    orders (`orders`, `decided`, `reserved`, `held`); `oversold` is in units."""
    latencies = [s.latency_s for s in sent if s.accepted]
    decisions = [o.decision_latency_s for o in observed if o.decision_latency_s is not None]
    resolutions = [o.resolution_s for o in observed if o.resolution_s is not None]
    on_timeline = [o.server_decision_s for o in observed if o.server_decision_s is not None]
    documents = [o.document for o in observed if o.document is not None]
    held = [o for o in observed if o.status == "held"]
    over = oversold(documents, pushed)
    decided_at = [o.decided_s for o in observed if o.decided_s is not None]
    return {
        "options": dict(options),
        "sent": len(sent),
        "accepted": sum(s.accepted for s in sent),
        "errors": sum(not s.accepted for s in sent) + observer_errors,
        "rejected_by_status": dict(sorted(Counter(str(s.status) for s in sent if not s.accepted).items())),
        "deliveries_by_kind": dict(sorted(Counter(s.delivery.kind for s in sent).items())),
        "orders": len({(s.delivery.order.channel, s.delivery.order.channel_order_id) for s in sent}),
        "orders_by_channel": dict(sorted(Counter(o.order.channel for o in observed).items())),
        "decided": len(decided_at),
        "reserved": sum(o.status in RESERVED_STATUSES for o in observed),
        "held": len(held),
        "held_by_reason": dict(sorted(Counter(h["reason"] for o in held for h in (o.document or {}).get("holds") or []
                                              ).items())),
        "orders_by_status": dict(sorted(Counter(str(o.status) for o in observed).items())),
        "undecided_by_status": dict(sorted(Counter(str(o.status) for o in observed if not o.decided).items())),
        "stock_pushed": {f"{w}/{s}": units for (w, s), units in sorted(pushed.items())},
        "committed": sum(committed_units(documents).values()),
        "oversold": sum(over.values()),
        "oversold_by_stock": {f"{w}/{s}": units for (w, s), units in over.items()},
        "webhook_latency_ms": {"p50": _ms(percentile(latencies, 50)), "p99": _ms(percentile(latencies, 99)),
                               "max": _ms(max(latencies, default=None))},
        "webhook_to_decision_ms": {"p50": _ms(percentile(decisions, 50)), "p99": _ms(percentile(decisions, 99)),
                                   "poll_resolution_p50": _ms(percentile(resolutions, 50))},
        "received_to_decision_s": {"p50": percentile(on_timeline, 50), "p99": percentile(on_timeline, 99),
                                   "orders": len(on_timeline)},
        "throughput": {
            "elapsed_s": round(elapsed_s, 2),
            "deliveries_per_s": round(len(sent) / elapsed_s, 2) if elapsed_s > 0 else None,
            "decisions_per_s": round(len(decided_at) / max(decided_at), 2) if decided_at else None,
            "schedule_slip_p99_ms": _ms(percentile([max(0.0, s.started_s - s.offset_s) for s in sent], 99)),
        },
        "series": series(sent, observed),
    }


def series(sent: Sequence[Sent], observed: Sequence[Observed]) -> list[dict[str, Any]]:
    """Per second of the drill: deliveries sent and accepted, orders decided, webhook latency p50/p99."""
    seconds: dict[int, dict[str, Any]] = {}

    def bucket(at: float) -> dict[str, Any]:
        return seconds.setdefault(int(at), {"second": int(at), "sent": 0, "accepted": 0, "decided": 0, "_lat": []})

    for s in sent:
        row = bucket(s.started_s)
        row["sent"] += 1
        row["accepted"] += s.accepted
        if s.accepted:
            row["_lat"].append(s.latency_s)
    for o in observed:
        if o.decided_s is not None:
            bucket(o.decided_s)["decided"] += 1
    rows = []
    for second in range(max(seconds, default=-1) + 1):  # quiet seconds are zeros, not gaps the chart bridges
        row = seconds.get(second) or bucket(second)
        lat = row.pop("_lat")
        rows.append(row | {"latency_p50_ms": _ms(percentile(lat, 50)), "latency_p99_ms": _ms(percentile(lat, 99))})
    return rows


def format_summary(report: Mapping[str, Any]) -> str:
    hook, decision, flow = report["webhook_latency_ms"], report["webhook_to_decision_ms"], report["throughput"]
    timeline = report["received_to_decision_s"]
    rows = [
        ("deliveries sent / accepted / errors", f"{report['sent']} / {report['accepted']} / {report['errors']}"),
        ("deliveries by kind", ", ".join(f"{k} {v}" for k, v in report["deliveries_by_kind"].items())),
        ("orders / decided", f"{report['orders']} / {report['decided']}"),
        ("reserved / held", f"{report['reserved']} / {report['held']}"),
        ("held by reason", ", ".join(f"{k} {v}" for k, v in report["held_by_reason"].items()) or "-"),
        ("oversold units", str(report["oversold"])),
        ("webhook latency p50 / p99", f"{hook['p50']} / {hook['p99']} ms"),
        ("webhook -> decision p50 / p99", f"{decision['p50']} / {decision['p99']} ms "
                                          f"(polls resolve ~{decision['poll_resolution_p50']} ms)"),
        ("received -> decision p50 / p99", f"{timeline['p50']} / {timeline['p99']} s (order timelines, whole "
                                           "seconds)"),
        ("throughput", f"{flow['deliveries_per_s']} deliveries/s, {flow['decisions_per_s']} decisions/s "
                       f"over {flow['elapsed_s']} s"),
    ]
    width = max(len(label) for label, _ in rows)
    return "\n".join(f"{label.ljust(width)}  {value}" for label, value in rows)


def write_json(report: Mapping[str, Any], folder: Path) -> Path:
    path = folder / "report.json"
    path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def write_chart(report: Mapping[str, Any], folder: Path) -> Path:
    """Throughput (deliveries sent, orders decided per second) over latency (webhook p50/p99) against time."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = report["series"]
    t = [r["second"] for r in rows]
    figure, (flow, latency) = plt.subplots(2, 1, figsize=(9, 6), sharex=True)
    flow.plot(t, [r["sent"] for r in rows], label="webhooks sent/s")
    flow.plot(t, [r["decided"] for r in rows], label="orders decided/s")
    flow.set_ylabel("per second")
    flow.legend(loc="upper right")
    flow.set_title(f"ocp drill: {report['orders']} orders, {report['reserved']} reserved, {report['held']} held, "
                   f"{report['oversold']} oversold")
    for key, label in (("latency_p50_ms", "webhook p50"), ("latency_p99_ms", "webhook p99")):
        points = [(r["second"], r[key]) for r in rows if r[key] is not None]
        latency.plot([p[0] for p in points], [p[1] for p in points], label=label)
    latency.set_ylabel("ms")
    latency.set_xlabel("seconds since the drill started")
    latency.legend(loc="upper right")
    figure.tight_layout()
    path = folder / "drill.png"
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path
