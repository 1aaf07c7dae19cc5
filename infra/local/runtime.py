"""`LocalPlatform`: the whole of OCP on one machine, no AWS account needed.

    with LocalPlatform(port=3000) as platform:
        print(platform.base_url)        # the API, served like API Gateway would
        ...
        platform.wait_idle(timeout=30)  # every inbox drained, no invocation under way

Starting it: the embedded AWS (moto, see `aws.py`) is reset and provisioned from `infra/wiring.py`,
the process environment gets the fake AWS identity, the endpoint, the channel credentials (see
`config.py` for the demo defaults) and the union of every function's resolved environment; then the
HTTP front and one poller per queue trigger start. State machines run on moto, their Lambda tasks in-process
(`stepfunctions.py`). Stopping undoes the environment. Only one platform
runs per process at a time, since all of them would share `os.environ`.
"""

from __future__ import annotations

import dataclasses
import os
import threading
import time
from types import TracebackType
from typing import Any

from infra import wiring
from infra.local import config, lambdas
from infra.local.aws import shared_aws
from infra.local.environment import EnvPatch
from infra.local.http_front import ApiGateway, HttpFront
from infra.local.provision import Resources, aws_client, function_env, provision, stream_id
from infra.local.scheduler import ScheduleRunner
from infra.local.sqs_poller import InFlight, QueuePoller
from infra.local.stepfunctions import wait_for_execution
from infra.local.stream_poller import StreamPoller
from ocp import composition

_active: LocalPlatform | None = None
_active_lock = threading.Lock()


class LocalPlatform:
    def __init__(
        self,
        port: int = 0,
        visibility_timeout_s: int | None = None,
        poll_wait_s: int = 1,
        schedule_interval_s: float | None = None,
    ) -> None:
        """`visibility_timeout_s` overrides every queue's (tests use a short one to see redrives quickly);
        `schedule_interval_s` overrides every schedule's rate (None: each `Schedule.rate_minutes`)."""
        self._port = port
        self._schedule_interval_s = schedule_interval_s
        self._schedules: dict[str, ScheduleRunner] = {}
        self._stream_pollers: list[StreamPoller] = []
        self._visibility_timeout_s = visibility_timeout_s
        self._poll_wait_s = poll_wait_s
        self._env = EnvPatch()
        self._in_flight = InFlight()
        self._front: HttpFront | None = None
        self._pollers: list[QueuePoller] = []
        self.resources = Resources()
        self.base_url = ""
        self.api_key = ""
        self.credentials: dict[str, str] = {}
        """The API key and channel credentials in force (`config.credentials_env`)."""
        self.aws_endpoint_url = ""

    def __enter__(self) -> LocalPlatform:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def start(self, port: int | None = None) -> str:
        """Provision, serve and poll; the API's base URL (`port` 0 picks a free one)."""
        _claim(self)
        try:
            self._provision()
            self._front = HttpFront(self._gateway(), port=self._port if port is None else port)
            self.base_url = self._front.start()
            self._start_pollers()
            self._start_stream_pollers()
            self._start_schedules()
        except BaseException:
            self.stop()
            raise
        return self.base_url

    def stop(self) -> None:
        for runner in self._schedules.values():
            runner.stop()
        self._schedules.clear()
        for stream_poller in self._stream_pollers:
            stream_poller.stop()
        self._stream_pollers.clear()
        for poller in self._pollers:
            poller.stop()
        self._pollers.clear()
        if self._front is not None:
            self._front.stop()
            self._front = None
        self._env.restore()
        _forget_function_caches()
        _release(self)

    def queue_url(self, queue_id: str) -> str:
        return self.resources.resolve(wiring.Ref(queue_id, "url"))

    def state_machine_arn(self, state_machine_id: str) -> str:
        """The local ARN of a `wiring.STATE_MACHINES` machine; moto executes it, its Lambda tasks run in-process."""
        return self.resources.resolve(wiring.Ref(state_machine_id, "arn"))

    def wait_for_execution(self, execution_arn: str, timeout: float = 10) -> dict[str, Any]:
        """`DescribeExecution` once the execution has stopped running (success, failure, timeout or abort)."""
        return wait_for_execution(self.client("stepfunctions"), execution_arn, timeout=timeout)

    def run_schedule(self, schedule_id: str) -> Any:
        """Fire one tick of a declared schedule now (on the caller's thread); the handler's result."""
        return self._schedules[schedule_id].run_once()

    def client(self, service: str) -> Any:
        """A boto3 client for the embedded AWS (for tests and tools)."""
        return aws_client(service, self.aws_endpoint_url)

    def wait_idle(self, timeout: float = 30) -> None:
        """Block until every triggered queue is empty, every stream has been read empty and no invocation is
        under way, twice in a row."""
        deadline, quiet_checks = time.monotonic() + timeout, 0
        quiet_from: float | None = None
        while quiet_checks < 2:
            backlog = self._backlog()
            if backlog or self._in_flight.count:
                quiet_checks, quiet_from = 0, None
            elif quiet_from is None:
                quiet_from = time.monotonic()  # a stream read that starts after this sees every write so far
            elif all(p.quiet_since is not None and p.quiet_since >= quiet_from for p in self._stream_pollers):
                quiet_checks += 1
            if time.monotonic() > deadline:
                raise TimeoutError(f"not idle after {timeout} s: {backlog or 'an invocation is under way'}")
            time.sleep(0.05)

    def _backlog(self) -> dict[str, int]:
        sqs, backlog = self.client("sqs"), {}
        names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
                 "ApproximateNumberOfMessagesDelayed"]
        for queue_id in {trigger.queue for trigger in wiring.QUEUE_TRIGGERS}:
            attributes = sqs.get_queue_attributes(QueueUrl=self.queue_url(queue_id), AttributeNames=names)
            count = sum(int(attributes["Attributes"].get(name, 0)) for name in names)
            if count:
                backlog[queue_id] = count
        return backlog

    def _provision(self) -> None:
        _forget_function_caches()
        aws = shared_aws()
        aws.reset()
        self.aws_endpoint_url = aws.endpoint_url
        self._env.remove([*config.AWS_ENV_TO_CLEAR, *(n for n in os.environ if n.startswith("AWS_ENDPOINT_URL_"))])
        self._env.set({**config.FAKE_AWS_ENV, "AWS_ENDPOINT_URL": aws.endpoint_url, **_no_proxy_env()})
        self.credentials = credentials = config.credentials_env()
        self.api_key = credentials["OCP_API_KEY"]
        secrets = {wiring.CHANNEL_SECRETS.id: config.channel_secret_document(credentials),
                   wiring.BOOTSTRAP_KEY.id: config.bootstrap_secret_document(credentials)}
        self.resources = provision(aws.endpoint_url, secrets, self._queue_overrides())
        self._env.set({**credentials, **config.OBSERVABILITY_ENV})
        self._env.set({name: os.environ.get(name, value) for name, value in config.RETURNS_ENV.items()})
        self._env.set(config.REPLAY_ENV)
        self._env.set(function_env(wiring.FUNCTIONS, self.resources))

    def _queue_overrides(self) -> dict[str, wiring.Queue]:
        if self._visibility_timeout_s is None:
            return {}
        return {q.id: dataclasses.replace(q, visibility_timeout_s=self._visibility_timeout_s) for q in wiring.QUEUES}

    def _gateway(self) -> ApiGateway:
        return ApiGateway(wiring.ROUTES, wiring.FUNCTIONS, invoke=lambdas.invoke)

    def _start_pollers(self) -> None:
        for trigger in wiring.QUEUE_TRIGGERS:
            poller = QueuePoller(
                trigger,
                wiring.function(trigger.function),
                queue_url=self.queue_url(trigger.queue),
                queue_arn=self.resources.resolve(wiring.Ref(trigger.queue, "arn")),
                sqs=self.client("sqs"),
                invoke=lambdas.invoke,
                in_flight=self._in_flight,
                wait_s=self._poll_wait_s,
            )
            poller.start()
            self._pollers.append(poller)


    def _start_stream_pollers(self) -> None:
        for trigger in wiring.STREAM_TRIGGERS:
            poller = StreamPoller(
                trigger,
                wiring.function(trigger.function),
                stream_arn=self.resources.resolve(wiring.Ref(stream_id(trigger.table), "arn")),
                streams=self.client("dynamodbstreams"),
                invoke=lambdas.invoke,
                in_flight=self._in_flight,
            )
            poller.start()
            self._stream_pollers.append(poller)

    def _start_schedules(self) -> None:
        for schedule in wiring.SCHEDULES:
            runner = ScheduleRunner(
                schedule,
                wiring.function(schedule.function),
                invoke=lambdas.invoke,
                in_flight=self._in_flight,
                interval_s=self._schedule_interval_s,
            )
            runner.start()
            self._schedules[schedule.id] = runner


def _forget_function_caches() -> None:
    """The functions cache clients and settings per process; the environment they came from changes here."""
    composition.reset()


def _no_proxy_env() -> dict[str, str]:
    """Keep any configured HTTP proxy away from the loopback services."""
    existing = os.environ.get("NO_PROXY") or os.environ.get("no_proxy") or ""
    value = ",".join(p for p in (existing, "127.0.0.1", "localhost") if p)
    return {"NO_PROXY": value, "no_proxy": value}


def _claim(platform: LocalPlatform) -> None:
    global _active
    with _active_lock:
        if _active is not None and _active is not platform:
            raise RuntimeError("a LocalPlatform is already running in this process; stop it first")
        _active = platform


def _release(platform: LocalPlatform) -> None:
    global _active
    with _active_lock:
        if _active is platform:
            _active = None
