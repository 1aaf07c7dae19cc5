"""End-to-end orders/s through `ocp local` on this machine (`make bench`, or `python -m benchmarks.local_runtime`).

The runtime runs as `ocp local` does, in its own process (so the load generator's threads do not share its
interpreter); this process sets stock for one hot SKU, posts N signed Shopify `orders/create` webhooks with
bounded concurrency over keep-alive connections, and polls `GET /inventory/{sku}` until every order is
reserved; then does it again (`--rounds`), since a runtime that slows down as its tables fill shows it only in
the later rounds. Printed per round: orders/s from the first post until the last reservation, webhook latency
p50/p99, and the same figures for a baseline run of an earlier revision (`--baseline REV`, extracted with
`git archive` and run from the same venv), so both come from the same machine and moment.

    python -m benchmarks.local_runtime [--orders 200] [--rounds 2] [--concurrency 16] [--baseline c700c1b]
    python -m benchmarks.local_runtime --url http://127.0.0.1:3000     # against a runtime already running
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import http.client
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from benchmarks.revisions import REPO, revision_tree
from infra.local import config
from infra.local.demo import demo_orders, shopify_headers

SKU = "BENCH-LOCAL-1"
WAREHOUSE = "WH-GZ"
_TEMPLATE_PHONE = "+86 138 0013 8000"
_BANNER = re.compile(r"OCP is running at (http://\S+)")


@dataclass(frozen=True)
class RunResult:
    label: str
    orders: int
    seconds: float
    latencies_ms: list[float]
    failed_posts: int
    reserved: int

    @property
    def orders_per_s(self) -> float:
        return self.reserved / self.seconds if self.seconds else 0.0

    def percentile_ms(self, fraction: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else 0.0


# ---- the runtime under test -------------------------------------------------------------------------------

@contextlib.contextmanager
def local_runtime(source: Path, log_path: Path, startup_timeout_s: float = 120) -> Iterator[tuple[str, int]]:
    """`ocp local --port 0` from the tree at `source`; yields (base URL, pid) and stops it after."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(source / "shared"), str(source)])}
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "infra.cli", "local", "--port", "0"], cwd=source, env=env,
            stdout=subprocess.PIPE, stderr=log,
        )
        try:
            yield _wait_for_banner(process, startup_timeout_s), process.pid
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def _wait_for_banner(process: subprocess.Popen[bytes], timeout_s: float) -> str:
    assert process.stdout is not None
    found: list[str] = []

    def read() -> None:
        assert process.stdout is not None
        for raw in process.stdout:  # keeps draining after the banner, so the runtime never blocks on stdout
            match = _BANNER.search(raw.decode(errors="replace"))
            if match and not found:
                found.append(match.group(1))

    threading.Thread(target=read, daemon=True).start()
    deadline = time.monotonic() + timeout_s
    while not found:
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"ocp local did not start (exit code {process.poll()})")
        time.sleep(0.1)
    return found[0]


# ---- the load -------------------------------------------------------------------------------------------

class _Client:
    """One keep-alive connection per thread: the load generator's own cost stays small beside the runtime's."""

    def __init__(self, base_url: str) -> None:
        parts = urlsplit(base_url)
        self._host, self._port = parts.hostname or "127.0.0.1", parts.port or 80
        self._local = threading.local()

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        for attempt in (1, 2):
            connection = self._connection()
            try:
                connection.request(method, path, body=body, headers=headers or {})
                response = connection.getresponse()
                return response.status, response.read()
            except (ConnectionError, http.client.HTTPException):
                connection.close()
                self._local.connection = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _connection(self) -> http.client.HTTPConnection:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._local.connection = http.client.HTTPConnection(self._host, self._port, timeout=60)
        return connection


def order_bodies(count: int, run_tag: int) -> list[bytes]:
    """`count` one-unit orders for the hot SKU, each with its own ids (the first demo order as the template)."""
    template = json.loads(demo_orders()[0].body)
    bodies = []
    for n in range(count):
        doc = copy.deepcopy(template)
        order_id = 7_000_000_000_000_000_000 + run_tag * 100_000 + n
        doc.update(id=order_id, admin_graphql_api_id=f"gid://shopify/Order/{order_id}", name=f"#B{n}")
        customer = dict(doc.get("customer") or {})
        customer_id = 9_000_000_000_000 + run_tag * 100_000 + n  # a buyer of its own, in this run and across runs
        customer.update(id=customer_id, admin_graphql_api_id=f"gid://shopify/Customer/{customer_id}")
        doc["customer"] = customer
        doc["line_items"] = [doc["line_items"][0] | {"sku": SKU, "quantity": 1,
                                                      "id": 14_000_000 + n,
                                                      "admin_graphql_api_id": f"gid://shopify/LineItem/{n}"}]
        # A phone of its own (in this run and across runs): the anomaly rules hold same-phone, same-address
        # orders as suspected duplicates.
        phone = f"+86 13{run_tag % 1000:03d}{n % 1_000_000:06d}"
        text = json.dumps(doc, ensure_ascii=False).replace(_TEMPLATE_PHONE, phone)
        bodies.append(text.encode())
    return bodies


def run_load(base_url: str, label: str, orders: int, concurrency: int, timeout_s: float) -> RunResult:
    client, api_key = _Client(base_url), config.api_key()
    secret = config.credentials_env()[config.secret_var("shopify")]
    run_tag = int(time.time()) % 100_000
    sku_path = f"/inventory/{WAREHOUSE}/{SKU}"
    status, body = client.request("PUT", sku_path, json.dumps({"on_hand": orders * 10, "version": run_tag}).encode(),
                                  {"x-api-key": api_key, "Content-Type": "application/json"})
    if status != 200:
        raise RuntimeError(f"setting stock failed: {status} {body[:200]!r}")
    reserved_before = _reserved(client, api_key)
    deliveries = [(b, shopify_headers(b, secret)) for b in order_bodies(orders, run_tag)]

    def post(delivery: tuple[bytes, dict[str, str]]) -> tuple[int, float]:
        started = time.perf_counter()
        status, _ = client.request("POST", "/webhooks/shopify", delivery[0], delivery[1])
        return status, (time.perf_counter() - started) * 1000

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        posted = list(pool.map(post, deliveries))
    accepted = sum(1 for status, _ in posted if status == 200)
    reserved = _wait_reserved(client, api_key, reserved_before + accepted, started + timeout_s) - reserved_before
    seconds = time.perf_counter() - started
    return RunResult(label=label, orders=orders, seconds=seconds, latencies_ms=[ms for _, ms in posted],
                     failed_posts=orders - accepted, reserved=reserved)


def _reserved(client: _Client, api_key: str) -> int:
    status, body = client.request("GET", f"/inventory/{SKU}", headers={"x-api-key": api_key})
    return int(json.loads(body)["totals"]["reserved"]) if status == 200 else 0


def _wait_reserved(client: _Client, api_key: str, target: int, deadline: float) -> int:
    """Polled 4 times a second: each poll is an API invocation, and polling faster would load the runtime
    being measured."""
    reserved = _reserved(client, api_key)
    while reserved < target and time.perf_counter() < deadline:
        time.sleep(0.25)
        reserved = _reserved(client, api_key)
    return reserved


# ---- the table ------------------------------------------------------------------------------------------

def format_table(results: list[RunResult], concurrency: int) -> str:
    lines = [
        f"### Local runtime (`ocp local`, {os.cpu_count()} cores): one hot SKU, signed Shopify webhooks, "
        f"{concurrency} concurrent posts",
        "",
        "| runtime | orders | reserved | failed posts | seconds | orders/s | webhook p50 ms | webhook p99 ms |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(f"| {r.label} | {r.orders} | {r.reserved} | {r.failed_posts} | {r.seconds:.1f} | "
                     f"{r.orders_per_s:.1f} | {r.percentile_ms(0.5):.0f} | {r.percentile_ms(0.99):.0f} |")
    lines += ["", "orders/s: reserved orders ÷ seconds from the first post until the last reservation is visible "
                  "through `GET /inventory/{sku}` (the order processor's decision)."]
    return "\n".join(lines)


def measure(source: Path, label: str, args: argparse.Namespace, log_dir: Path) -> list[RunResult]:
    """`rounds` loads of `orders` one after the other on one runtime: a later round shows what the data the
    earlier ones left behind costs each order."""
    with local_runtime(source, log_dir / f"{label.split()[0]}.log") as (base_url, pid):
        print(f"{label}: ocp local pid {pid} at {base_url}", file=sys.stderr, flush=True)
        if args.warmup:
            run_load(base_url, label, args.warmup, args.concurrency, args.timeout)
        results = []
        for n in range(args.rounds):
            first, last = n * args.orders + 1, (n + 1) * args.orders
            results.append(run_load(base_url, f"{label}, orders {first}–{last}", args.orders, args.concurrency,
                                    args.timeout))
        return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=2, help="loads of --orders, one after the other")
    parser.add_argument("--warmup", type=int, default=20, help="orders posted first and not counted")
    parser.add_argument("--timeout", type=float, default=600, help="seconds to wait for the reservations")
    parser.add_argument("--baseline", default=None, help="also measure this git revision (e.g. c700c1b)")
    parser.add_argument("--url", default=None, help="measure a runtime already running here instead")
    args = parser.parse_args(argv)
    if args.url:
        result = run_load(args.url, args.url, args.orders, args.concurrency, args.timeout)
        print(format_table([result], args.concurrency))
        return 0 if result.reserved == args.orders else 1
    results = []
    with tempfile.TemporaryDirectory(prefix="ocp-bench-logs-") as logs:
        if args.baseline:
            with revision_tree(args.baseline) as tree:
                results += measure(tree, f"{args.baseline} (baseline)", args, Path(logs))
        results += measure(REPO, "working tree", args, Path(logs))
    print(format_table(results, args.concurrency))
    return 0 if all(r.reserved == r.orders for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
