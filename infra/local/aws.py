"""Embedded AWS: moto's server on 127.0.0.1 and a free port, one per process.

The handlers build their boto3 clients lazily and cache them for the life of the process, exactly as a
Lambda container does. A client keeps the endpoint it was built with, so the embedded AWS outlives any
one `LocalPlatform`: a platform started later in the same process resets moto's state and provisions the
same names on the same endpoint, and every cached client stays valid.

moto's Step Functions executions call Lambda (and any `aws-sdk` task's service) over HTTP at
`http://localhost:$MOTO_PORT`, so while the server runs `MOTO_PORT` is its port. moto's reset forgets resources but
keeps its options (`moto.core.config.default_user_config`); provisioning sets the execution options again anyway
(`stepfunctions.enable_execution`).
"""

from __future__ import annotations

import logging
import os
import threading
import urllib.request

from moto.server import ThreadedMotoServer

from infra.local import moto_patches

_HOST = "127.0.0.1"
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class EmbeddedAws:
    def __init__(self) -> None:
        self._server = ThreadedMotoServer(ip_address=_HOST, port=0, verbose=False)
        self._endpoint: str | None = None
        self._moto_port_before: str | None = None

    @property
    def endpoint_url(self) -> str:
        if self._endpoint is None:
            raise RuntimeError("the embedded AWS is not running")
        return self._endpoint

    def start(self) -> str:
        # werkzeug logs every request moto serves at INFO: far too chatty for a developer's console.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        moto_patches.install()
        self._server.start()
        host, port = self._server.get_host_and_port()
        self._endpoint = f"http://{host}:{port}"
        # Where moto's SFN executions send their Lambda calls (moto.settings.moto_server_port): back to this server.
        self._moto_port_before = os.environ.get("MOTO_PORT")
        os.environ["MOTO_PORT"] = str(port)
        return self._endpoint

    def reset(self) -> None:
        """Forget every resource: the next provisioning starts from an empty account."""
        request = urllib.request.Request(f"{self.endpoint_url}/moto-api/reset", method="POST", data=b"")
        with _NO_PROXY.open(request, timeout=10) as response:
            response.read()

    def stop(self) -> None:
        if self._endpoint is not None:
            self._server.stop()
            self._endpoint = None
            if self._moto_port_before is None:
                os.environ.pop("MOTO_PORT", None)
            else:
                os.environ["MOTO_PORT"] = self._moto_port_before


_shared: EmbeddedAws | None = None
_shared_lock = threading.Lock()


def shared_aws() -> EmbeddedAws:
    """The process's embedded AWS, started on first use."""
    global _shared
    with _shared_lock:
        if _shared is None:
            aws = EmbeddedAws()
            aws.start()
            _shared = aws
        return _shared


def stop_shared_aws() -> None:
    """Stop the process's embedded AWS (the CLI does this on exit; tests may leave it to the process)."""
    global _shared
    with _shared_lock:
        if _shared is not None:
            _shared.stop()
            _shared = None
