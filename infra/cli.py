"""`ocp`: run the platform locally, replay demo traffic against it, normalise a channel document.

    ocp local [--port 3000] [--demo] [--verbose] [--log-file F]   the whole platform on embedded AWS, until Ctrl-C
    ocp demo [--url URL]                   signed sample Shopify orders → what became of them
    ocp normalize --channel C FILE         the unified order a raw channel document maps to
    ocp replay archive --channel C --since T --until T | --key K ...   archived deliveries through intake again
    ocp replay quarantine [--channel C] [--id ID ...]                  list, then redrive quarantined messages
    ocp replay dlq --queue Q                                           a dead-letter queue back to its queue
    ocp drill [--url URL] [--duration S] [--peak N] ... | --simulate-sync   rehearse a live-stream peak
    ocp keys create NAME --scope S ... | list | revoke NAME [--url URL]     principals and their API keys
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from infra.drill.command import add_parser as add_drill_parser
from infra.keys import add_parser as add_keys_parser
from infra.local import config

if TYPE_CHECKING:
    from infra.local.terminal import FunctionOutput
    from infra.replay import ReplayClient, Summary

DEFAULT_PORT = 3000


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    code: int = args.command(args)
    return code


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ocp", description="OCP, the order control platform")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    local = commands.add_parser("local", help="run the whole platform locally on embedded AWS")
    local.add_argument("--port", type=int, default=DEFAULT_PORT, help="API port on 127.0.0.1 (0: any free)")
    local.add_argument("--demo", action="store_true", help="post the demo orders once it is up")
    local.add_argument("--log-file", type=Path, default=None,
                       help="where the functions' JSON logs and EMF metrics go (default: .ocp/local/functions.log)")
    local.add_argument("--verbose", action="store_true",
                       help="keep the functions' logs and metrics on the terminal instead of the log file")
    local.set_defaults(command=_local)

    demo = commands.add_parser("demo", help="post signed sample Shopify orders, then after-sales of two of them, "
                                            "and report the outcome")
    demo.add_argument("--url", default=f"http://127.0.0.1:{DEFAULT_PORT}", help="the API's base URL")
    demo.add_argument("--api-key", default=None, help="x-api-key (default: $OCP_API_KEY or the local key)")
    demo.add_argument("--secret", default=None, help="Shopify webhook secret (default: as `ocp local` uses)")
    demo.add_argument("--wait", type=float, default=20, help="seconds to wait for the orders to show")
    demo.set_defaults(command=_demo)

    normalize = commands.add_parser("normalize", help="print the unified order a channel document maps to")
    normalize.add_argument("--channel", required=True, help="taobao | jd | douyin | shopify")
    normalize.add_argument(
        "file",
        help="a full channel order document (JSON), bare or in the channel's API envelope "
        "(trade_fullinfo_get_response, jingdong_pop_order_get_responce, order.orderDetail); '-' reads stdin",
    )
    normalize.set_defaults(command=_normalize)
    _replay_parser(commands)
    add_drill_parser(commands)
    add_keys_parser(commands)
    return parser


def _replay_parser(commands: Any) -> None:
    replay = commands.add_parser("replay", help="replay archived deliveries, redrive quarantine and DLQs")
    kinds = replay.add_subparsers(required=True, metavar="WHAT")

    def common(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--url", default=f"http://127.0.0.1:{DEFAULT_PORT}", help="the API's base URL")
        sub.add_argument("--api-key", default=None, help="x-api-key (default: $OCP_API_KEY or the local key)")

    archive = kinds.add_parser("archive", help="verify archived deliveries again and enqueue them like a webhook")
    archive.add_argument("--channel", help="with --since and --until: the channel's deliveries received then")
    archive.add_argument("--since", help="ISO-8601 with offset, e.g. 2026-11-11T00:00:00Z (inclusive)")
    archive.add_argument("--until", help="ISO-8601 with offset (exclusive)")
    archive.add_argument("--key", action="append", dest="keys", help="an archive key (repeatable)")
    archive.add_argument("--limit", type=int, default=50, help="archive keys examined per page (1-100)")
    common(archive)
    archive.set_defaults(command=_replay_archive)

    quarantine = kinds.add_parser("quarantine", help="list open quarantine records, then redrive them")
    quarantine.add_argument("--channel", help="only this channel's records")
    quarantine.add_argument("--id", action="append", dest="ids", help="redrive only this record (repeatable)")
    common(quarantine)
    quarantine.set_defaults(command=_replay_quarantine)

    dlq = kinds.add_parser("dlq", help="move a dead-letter queue's messages back to its queue")
    dlq.add_argument("--queue", required=True, help="the queue id, e.g. orders-inbox")
    common(dlq)
    dlq.set_defaults(command=_replay_dlq)


def _local(args: argparse.Namespace) -> int:
    from infra.local.terminal import DEFAULT_LOG_PATH, FunctionOutput

    logging.getLogger("botocore").setLevel(logging.WARNING)
    log_path = None if args.verbose else (args.log_file or DEFAULT_LOG_PATH)
    with FunctionOutput(sys.stdout, log_path) as output:
        return _run_local(args, output)


def _run_local(args: argparse.Namespace, output: FunctionOutput) -> int:
    from infra.local.aws import stop_shared_aws
    from infra.local.runtime import LocalPlatform

    platform = LocalPlatform(port=args.port)
    try:
        base_url = platform.start()
    except OSError as exc:
        print(f"ocp local: cannot listen on 127.0.0.1:{args.port}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        output.say("\nstopped while starting")  # the platform has undone its own start
        stop_shared_aws()
        return 130
    try:
        output.say(_banner(base_url, platform.api_key, output.log_path))
        if args.demo:
            with output.requests_hidden():
                _print_demo(base_url, _shopify_secret(None), platform.api_key, wait_s=20, say=output.say)
            if output.log_path is not None:
                output.say(f"(the demo's own requests are in {output.log_path})")
        output.say("\nrequests:")
        _serve_until_interrupted()
    except KeyboardInterrupt:
        pass  # Ctrl-C while the demo still runs: stop as quietly as afterwards
    finally:
        output.say("\nstopping…")
        platform.stop()
        stop_shared_aws()
    return 0


def _banner(base_url: str, api_key: str, log_path: Path | None) -> str:
    where_logs = (f"the functions' JSON logs and metrics: {log_path}  (tail -f it, or run with --verbose)"
                  if log_path is not None else "the functions' JSON logs and metrics: on this terminal (--verbose)")
    return "\n".join([
        f"OCP is running at {base_url}  (API key: {api_key}; Ctrl-C stops it)",
        f"  console:  {base_url}/console/   (sign in with the API key)",
        f"  {where_logs}",
        "",
        "Try:",
        f"  curl -s {base_url}/openapi.json | head -c 300",
        f"  curl -s -H 'x-api-key: {api_key}' '{base_url}/orders?channel=shopify&channel_order_id=<id>'",
        f"  curl -s -H 'x-api-key: {api_key}' {base_url}/orders/<order_id>",
        f"  ocp demo --url {base_url}      # post signed sample Shopify orders",
        "",
    ])


def _serve_until_interrupted() -> None:
    stop = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass


def _demo(args: argparse.Namespace) -> int:
    api_key = args.api_key or config.api_key()
    return _print_demo(args.url, _shopify_secret(args.secret), api_key, args.wait)


def _print_demo(base_url: str, secret: str, api_key: str, wait_s: float,
                say: Callable[[str], None] | None = None) -> int:
    """`say` prints for people (`ocp local` passes its terminal: stdout is the functions' log file there)."""
    from infra.local.demo import format_returns, format_table, run_demo, run_returns

    say = say or _say
    say(f"posting the demo orders to {base_url}/webhooks/shopify …")
    try:
        results = run_demo(base_url, secret, api_key, wait_s=wait_s)
        say(format_table(results))
        say("\ndelivering two of them and asking for a return and a refund (POST /returns) …")
        returns = run_returns(base_url, api_key, results, wait_s=wait_s)
    except OSError as exc:
        print(f"ocp demo: cannot reach {base_url}: {exc}", file=sys.stderr)
        return 1
    say(format_returns(returns))
    return 0 if all(r.order_status for r in results) and all(r.return_status for r in returns) else 1


def _replay_archive(args: argparse.Namespace) -> int:
    if not args.keys and not (args.channel and args.since and args.until):
        print("ocp replay archive: give --key K ..., or --channel with --since and --until", file=sys.stderr)
        return 2
    from infra.replay import replay_archive
    return _run_replay(args, "replayed deliveries", lambda client: replay_archive(
        client, _say, keys=args.keys, channel=args.channel, since=args.since, until=args.until, limit=args.limit))


def _replay_quarantine(args: argparse.Namespace) -> int:
    from infra.replay import replay_quarantine
    return _run_replay(args, "redriven", lambda client: replay_quarantine(client, _say, channel=args.channel,
                                                                           ids=args.ids))


def _replay_dlq(args: argparse.Namespace) -> int:
    from infra.replay import redrive_dlq
    return _run_replay(args, "moved back", lambda client: redrive_dlq(client, _say, args.queue))


def _run_replay(args: argparse.Namespace, what: str, run: Callable[[ReplayClient], Summary]) -> int:
    from infra.replay import ReplayClient, ReplayError
    try:
        summary = run(ReplayClient(args.url, args.api_key or config.api_key()))
    except ReplayError as exc:
        print(f"ocp replay: {exc}", file=sys.stderr)
        return 1
    for line in summary.lines(what):
        _say(line)
    return 1 if summary.failing else 0


def _say(line: str) -> None:
    print(line, flush=True)


def _shopify_secret(explicit: str | None) -> str:
    return explicit or config.credentials_env()[config.secret_var("shopify")]


def _normalize(args: argparse.Namespace) -> int:
    from ocp.channels.registry import adapter_for
    from ocp.domain.errors import DomainError, UnmappableDocument

    document = _read_document(args.file)
    if document is None:
        return 1
    try:
        order = adapter_for(args.channel).to_order(document)
    except UnmappableDocument as exc:
        print("\n".join(f"cannot normalise: {reason}" for reason in exc.reasons), file=sys.stderr)
        return 1
    except DomainError as exc:
        print(f"cannot normalise: {exc.message}", file=sys.stderr)
        return 1
    except Exception as exc:  # a mapping bug must still end in a reason, not a traceback
        print(f"cannot normalise: unexpected {type(exc).__name__} while mapping; please report it", file=sys.stderr)
        return 1
    print(json.dumps(order.model_dump(mode="json"), ensure_ascii=False, indent=2))
    return 0


def _read_document(path: str) -> dict[str, Any] | None:
    try:
        raw = sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
        document = json.loads(raw)
    except (OSError, ValueError) as exc:
        print(f"cannot read {path}: {exc}", file=sys.stderr)
        return None
    if not isinstance(document, dict):
        print(f"cannot normalise: {path} holds a JSON {type(document).__name__}, not an object", file=sys.stderr)
        return None
    return document


if __name__ == "__main__":
    sys.exit(main())
