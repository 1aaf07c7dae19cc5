"""`ocp replay`: replay archived deliveries, redrive quarantined messages and dead-letter queues over the HTTP API
(stdlib only), so it works the same against `ocp local` and a deployed stack. Each prints a line per page and a
summary; the exit status is 1 while anything still fails."""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from infra.local.demo import http

Print = Callable[[str], None]


class ReplayError(Exception):
    """The API answered with an error (or not at all): the message names it."""


@dataclass
class Summary:
    replayed: int = 0
    messages: int = 0
    duplicates: int | None = None
    already: int = 0
    failing: list[tuple[str, str]] = field(default_factory=list)

    def lines(self, what: str) -> list[str]:
        done = f"{what}: {self.replayed}" + (f" ({self.messages} messages)" if self.messages else "")
        if self.already:
            done += f", {self.already} already redriven (nothing changed)"
        if self.duplicates is not None:
            done += f", {self.duplicates} duplicates"
        lines = [done, f"still failing: {len(self.failing)}"]
        lines += [f"  {key}: {reason}" for key, reason in self.failing]
        return lines


class ReplayClient:
    def __init__(self, base_url: str, api_key: str, actor: str = "ocp-cli") -> None:
        self._base = base_url.rstrip("/")
        self._headers = {"x-api-key": api_key, "x-ocp-actor": actor, "content-type": "application/json"}

    def call(self, method: str, path: str, body: Any = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        try:
            status, answer = http(method, f"{self._base}{path}", data, self._headers, timeout_s=90)
        except OSError as exc:
            raise ReplayError(f"cannot reach {self._base}: {exc}") from None
        if status >= 400:
            error = answer.get("error", {}) if isinstance(answer, dict) else {}
            raise ReplayError(f"{method} {path}: {status} {error.get('code', '')} {error.get('message', '')}".strip())
        return answer


def replay_archive(client: ReplayClient, out: Print, *, keys: list[str] | None = None, channel: str | None = None,
                   since: str | None = None, until: str | None = None, limit: int = 50) -> Summary:
    summary = Summary()
    if keys:
        pages: Iterator[dict[str, Any]] = iter([client.call("POST", "/deliveries:replay", {"keys": keys})])
    else:
        pages = _pages(lambda token: client.call("POST", "/deliveries:replay", {
            "channel": channel, "since": since, "until": until, "limit": limit,
            **({"next_token": token} if token else {})}))
    for number, page in enumerate(pages, 1):
        summary.replayed += page["replayed"]
        summary.messages += page["messages"]
        summary.failing += [(f["key"], f"{f['code']}: {f['reason']}") for f in page["failed"]]
        out(f"page {number}: examined {page['examined']}, replayed {page['replayed']}, failed {len(page['failed'])}")
    return summary


def replay_quarantine(client: ReplayClient, out: Print, *, channel: str | None = None,
                      ids: list[str] | None = None, limit: int = 50) -> Summary:
    summary = Summary()
    if not ids:
        ids = []
        query = {"limit": str(limit), **({"channel": channel} if channel else {})}
        for number, page in enumerate(_pages(lambda token: client.call(
                "GET", "/quarantine?" + urllib.parse.urlencode({**query, **({"next_token": token} if token else {})})
        )), 1):
            out(f"page {number}: {len(page['records'])} open records")
            for record in page["records"]:
                out(f"  {record['quarantine_id']}  [{record['stage']}] {record['reason']}")
                ids.append(record["quarantine_id"])
    for quarantine_id in ids:
        answer = client.call("POST", f"/quarantine/{urllib.parse.quote(quarantine_id, safe='')}/redrive")
        out(f"{quarantine_id}: {answer['outcome']}" + (f" ({answer['reason']})" if answer.get("reason") else ""))
        if answer["outcome"] == "redriven":
            summary.replayed += 1
            summary.messages += answer["messages"]
        elif answer["outcome"] == "already_redriven":
            summary.already += 1
        else:
            summary.failing.append((quarantine_id, answer.get("reason") or "still failing"))
    return summary


def redrive_dlq(client: ReplayClient, out: Print, queue: str) -> Summary:
    answer = client.call("POST", "/dlq:redrive", {"queue": queue})
    if answer.get("task"):
        out(f"{answer['dlq']} → {queue}: SQS move task {answer['task']} started "
            f"({answer.get('waiting', '?')} messages waiting)")
        return Summary(replayed=int(answer.get("waiting") or 0))
    out(f"{answer['dlq']} → {queue}: moved {answer['moved']}")
    return Summary(replayed=int(answer.get("moved") or 0))


def _pages(fetch: Callable[[str | None], dict[str, Any]]) -> Iterator[dict[str, Any]]:
    token: str | None = None
    while True:
        page = fetch(token)
        yield page
        token = page.get("next_token")
        if not token:
            return
