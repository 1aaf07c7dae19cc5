"""`ocp drill`: the CLI wiring — options, stock first, send and watch with a live progress line, then the report.

    ocp drill [--url URL] [--api-key K] [--duration S] [--peak N] [--skus N] [--stock UNITS] [--duplicates F]
              [--out-of-order F] [--out DIR] [--max-orders N] [--concurrency N] [--settle S] [--allow-remote]
    ocp drill --simulate-sync [--skus N]       only the sync-versus-real-time table (no stack needed)
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the drill's modules load when it runs: `ocp` itself starts fast for every other command
    from infra.drill.observer import Observer
    from infra.drill.payloads import DrillOrder
    from infra.drill.sender import Scheduled, Sender, Sent
    from infra.drill.simulation import SimulationConfig

MAX_DURATION_S = 3600
MAX_ORDERS = 200_000
DEFAULT_URL = "http://127.0.0.1:3000"
REFRESH_BOUND_S = 60
"""The final read of every order (for the report) stops after this long; what it missed keeps its last view."""


def add_parser(commands: Any) -> None:
    drill = commands.add_parser("drill", help="rehearse a live-stream peak against a stack: progress, report, chart")
    drill.add_argument("--url", default=DEFAULT_URL, help="the API's base URL (loopback unless --allow-remote)")
    drill.add_argument("--api-key", default=None, help="x-api-key (default: $OCP_API_KEY or the local key)")
    drill.add_argument("--duration", type=float, default=60, help=f"seconds of traffic (≤ {MAX_DURATION_S})")
    drill.add_argument("--peak", type=float, default=10, help="orders per second at the spike")
    drill.add_argument("--skus", type=int, default=3, help="hot SKUs the orders share")
    drill.add_argument("--stock", type=int, default=80, help="units pushed per hot SKU before the first order")
    drill.add_argument("--duplicates", type=float, default=0.1, help="share of orders delivered twice (0-1)")
    drill.add_argument("--out-of-order", type=float, default=0.05,
                       help="share of orders followed by an older view of themselves (0-1)")
    drill.add_argument("--out", default="drill-report", help="folder for report.json and drill.png")
    drill.add_argument("--max-orders", type=int, default=5000, help=f"at most this many orders (≤ {MAX_ORDERS})")
    drill.add_argument("--concurrency", type=int, default=16, help="webhooks in flight at most")
    drill.add_argument("--settle", type=float, default=30, help="seconds to wait after the last webhook for "
                                                                 "decisions")
    drill.add_argument("--channels", default="shopify,taobao,jd,douyin", help="comma-separated channels")
    drill.add_argument("--warehouses", default="WH-GZ,WH-SH", help="warehouses the stock is split over")
    drill.add_argument("--allow-remote", action="store_true", help="allow a URL that is not this machine")
    drill.add_argument("--simulate-sync", action="store_true",
                       help="print only the sync-versus-real-time table (a seeded simulation; no stack needed)")
    drill.set_defaults(command=run)


def run(args: argparse.Namespace, douyin_source: Callable[[dict[str, Any]], object] | None = None) -> int:
    """The `ocp drill` command. `douyin_source` is handed each Douyin order's full document before its push goes
    out (Douyin pushes are thin: a stack pulls the order from doudian, which must know it)."""
    from infra.drill.simulation import SimulationConfig, format_sync_table, sync_table

    problem = _invalid(args)
    if problem:
        print(f"ocp drill: {problem}", file=sys.stderr)
        return 2
    sim_config = SimulationConfig(skus=args.skus)
    if args.simulate_sync:
        print(format_sync_table(sync_table(sim_config), sim_config), flush=True)
        return 0
    from infra.drill.sender import RemoteRefused, check_target
    try:
        base_url = check_target(args.url, args.allow_remote)
    except RemoteRefused as exc:
        print(f"ocp drill: {exc}", file=sys.stderr)
        return 2
    return _drill(args, base_url, douyin_source, sim_config)


def _invalid(args: argparse.Namespace) -> str | None:
    channels = [c for c in args.channels.split(",") if c]
    checks = [
        (0 < args.duration <= MAX_DURATION_S, f"--duration must be in (0, {MAX_DURATION_S}]"),
        (args.peak > 0, "--peak must be above 0"),
        (1 <= args.skus <= 100, "--skus must be 1-100"),
        (args.stock >= 0, "--stock must be 0 or more"),
        (0 <= args.duplicates <= 1 and 0 <= args.out_of_order <= 1, "--duplicates/--out-of-order must be 0-1"),
        (1 <= args.max_orders <= MAX_ORDERS, f"--max-orders must be 1-{MAX_ORDERS}"),
        (1 <= args.concurrency <= 256, "--concurrency must be 1-256"),
        (args.settle >= 0, "--settle must be 0 or more"),
        (bool(channels) and set(channels) <= {"shopify", "taobao", "jd", "douyin"},
         "--channels takes shopify, taobao, jd, douyin"),
        (bool([w for w in args.warehouses.split(",") if w]), "--warehouses needs at least one warehouse"),
    ]
    return next((message for ok, message in checks if not ok), None)


@dataclass
class _Live:
    sent: int = 0
    accepted: int = 0
    errors: int = 0


@dataclass
class _Run:
    """One drill's moving parts: what it sends, who sends it and who watches the orders."""

    args: argparse.Namespace
    run_id: str
    orders: list[DrillOrder]
    schedule: list[Scheduled]
    sender: Sender
    observer: Observer
    pushed: dict[tuple[str, str], int]
    live: _Live = field(default_factory=_Live)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def on_sent(self, sent: Sent) -> None:
        with self.lock:
            self.live.sent += 1
            self.live.accepted += sent.accepted
            self.live.errors += not sent.accepted
        if sent.accepted:
            self.observer.expect(sent.delivery.order, sent.started_s)


def _drill(args: argparse.Namespace, base_url: str, douyin_source: Callable[[dict[str, Any]], object] | None,
           sim_config: SimulationConfig) -> int:
    from infra.drill.observer import Observer
    from infra.drill.payloads import drill_orders, sku_names
    from infra.drill.sender import Sender, plan
    from infra.drill.shape import send_offsets
    from infra.local import config

    api_key = args.api_key or config.api_key()
    credentials = _credentials(config)
    run_id = uuid.uuid4().hex[:6]
    skus = sku_names(run_id, args.skus)
    offsets = send_offsets(args.duration, args.peak, args.max_orders)
    orders = drill_orders(run_id, len(offsets), skus, [c for c in args.channels.split(",") if c],
                          datetime.now(UTC))
    print(f"ocp drill {run_id}: {len(orders)} orders over {args.duration:g} s (peak {args.peak:g}/s) on "
          f"{len(skus)} hot SKUs against {base_url}", flush=True)
    pushed = _push_stock(base_url, api_key, skus, args.stock, [w for w in args.warehouses.split(",") if w])
    if pushed is None:
        return 1
    for order in orders:
        if order.channel == "douyin" and douyin_source is not None:
            douyin_source(order.document)
    run = _Run(args, run_id, orders, plan(orders, offsets, credentials, args.duplicates, args.out_of_order),
               Sender(base_url, credentials, concurrency=args.concurrency), Observer(base_url, api_key), pushed)
    elapsed = _send_and_watch(run)
    return _report(run, elapsed, sim_config)


def _send_and_watch(run: _Run) -> float:
    """Send on schedule and watch the orders, showing progress, until both are done or bounded; seconds taken."""
    started = time.monotonic()
    sending_done = threading.Event()
    send_deadline = started + run.args.duration + 5
    watch_deadline = send_deadline + run.args.settle

    def send() -> None:
        try:
            run.sender.run(run.schedule, started, send_deadline, run.on_sent)
        finally:
            sending_done.set()

    threads = [threading.Thread(target=send, name="drill-sender", daemon=True),
               threading.Thread(target=run.observer.watch, args=(started, sending_done, watch_deadline),
                                name="drill-observer", daemon=True)]
    for thread in threads:
        thread.start()
    try:
        _progress(lambda: any(t.is_alive() for t in threads), run.live, run.observer, run.lock, len(run.orders))
    except KeyboardInterrupt:
        run.sender.stop.set()
        run.observer.stop.set()
        print("\nstopping: the report covers what was sent", file=sys.stderr, flush=True)
    for thread in threads:
        thread.join(timeout=max(0.0, watch_deadline - time.monotonic()) + 5)
    elapsed = time.monotonic() - started
    run.observer.stop.clear()  # one last read of every order, bounded, even after Ctrl-C
    run.observer.refresh(started, time.monotonic() + REFRESH_BOUND_S)
    return elapsed


def _report(run: _Run, elapsed: float, sim_config: SimulationConfig) -> int:
    """Print the table, write report.json and drill.png; exit 1 on any oversold unit or when nothing got in."""
    from infra.drill.report import build_report, format_summary, write_chart, write_json
    from infra.drill.simulation import format_sync_table, sync_table

    report = build_report(run.sender.results, list(run.observer.orders.values()), run.pushed,
                          _options(run.args, run.run_id), elapsed, run.observer.errors)
    sims = sync_table(sim_config)
    report["sync_versus_real_time"] = [o.as_json() for o in sims]
    out = Path(run.args.out)
    out.mkdir(parents=True, exist_ok=True)
    json_path, png_path = write_json(report, out), write_chart(report, out)
    print("\n" + format_summary(report), flush=True)
    print("\n" + format_sync_table(sims, sim_config), flush=True)
    print(f"\nwrote {json_path} and {png_path}", flush=True)
    return 1 if report["oversold"] or not report["accepted"] else 0


def _credentials(config: Any) -> dict[str, Any]:
    from infra.drill.payloads import CHANNELS, Credentials

    env = config.credentials_env()
    return {c: Credentials(env[config.secret_var(c)], env.get(config.app_key_var(c))) for c in CHANNELS}


def _push_stock(base_url: str, api_key: str, skus: list[str], units: int,
                warehouses: list[str]) -> dict[tuple[str, str], int] | None:
    """PUT each hot SKU's units, split over the warehouses (the first takes the remainder); None on a refusal."""
    import json

    from infra.local.demo import http

    pushed: dict[tuple[str, str], int] = {}
    for sku in skus:
        for index, warehouse in enumerate(warehouses):
            share = units // len(warehouses) + (units % len(warehouses) if index == 0 else 0)
            try:
                status, body = http("PUT", f"{base_url}/inventory/{warehouse}/{sku}",
                                    json.dumps({"on_hand": share, "version": 1}).encode(),
                                    {"x-api-key": api_key, "Content-Type": "application/json"})
            except OSError as exc:
                print(f"ocp drill: cannot reach {base_url}: {exc}", file=sys.stderr)
                return None
            if status != 200:
                print(f"ocp drill: PUT /inventory/{warehouse}/{sku} answered {status}: {body}", file=sys.stderr)
                return None
            pushed[(warehouse, sku)] = share
    return pushed


def _options(args: argparse.Namespace, run_id: str) -> dict[str, Any]:
    keys = ("url", "duration", "peak", "skus", "stock", "duplicates", "out_of_order", "max_orders", "concurrency",
            "settle", "channels", "warehouses")
    return {"run_id": run_id, **{k: getattr(args, k) for k in keys}}


def _progress(running: Callable[[], bool], live: _Live, observer: Any, lock: threading.Lock, total: int) -> None:
    """A live line (rich on a terminal, a plain line a second otherwise) until the drill's threads end."""
    def figures() -> tuple[int, str]:
        decided, reserved, held = observer.counts()
        with lock:
            return decided, (f"sent {live.sent}  accepted {live.accepted}  decided {decided}/{total}  "
                             f"reserved {reserved}  held {held}  errors {live.errors + observer.errors}")

    def line() -> str:
        return figures()[1]

    if sys.stdout.isatty():
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        columns = (BarColumn(), TextColumn("{task.fields[line]}"), TimeElapsedColumn())
        with Progress(*columns, refresh_per_second=4) as bar:
            task = bar.add_task("drill", total=total, line=line())
            while running():
                time.sleep(0.25)
                decided, text = figures()
                bar.update(task, completed=decided, line=text)
            decided, text = figures()
            bar.update(task, completed=decided, line=text)
        return
    shown, shown_at = "", 0.0
    while running():
        time.sleep(1)
        text = line()
        if text != shown or time.monotonic() - shown_at >= 10:  # a log, not a screen: only changes, or a heartbeat
            print(text, flush=True)
            shown, shown_at = text, time.monotonic()
