"""The embedded DynamoDB: moto's server speaking the real DynamoDB wire protocol.

It runs in a child process of the local stack, so that the database and the handlers do not
share one interpreter lock (on two cores this roughly halves message latency). The child dies
with its parent, even on SIGKILL (Linux parent-death signal).

moto's backend is not safe under concurrent requests (a transaction deep-copies tables that other
threads are changing), so the child serves one request at a time, as a single DynamoDB Local would.
"""

import argparse
import contextlib
import ctypes
import logging
import signal
import socket
import subprocess
import sys
import threading
import time
from typing import Any

from session_relay_tools.signals import take_signals

_PR_SET_PDEATHSIG = 1
LOCAL_DYNAMODB_READ_TIMEOUT_S = 60
EMBEDDED_DYNAMODB_IN_FLIGHT = 4


def serve(host: str, port: int) -> None:
    """Serve moto's DynamoDB, DynamoDB Streams and SQS on ``host:port`` until SIGTERM/SIGINT (runs in
    the child)."""
    from moto.moto_server.werkzeug_app import MotoRequestHandler
    from werkzeug.serving import make_server

    from session_relay_tools.local.embedded_services import EmbeddedServices

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    app = EmbeddedServices()
    server = make_server(host, port, app, threaded=True, request_handler=MotoRequestHandler)
    # Taken by a thread of its own, never a handler: a second SIGTERM (the parent's, then its death
    # signal) could run a handler inside itself and deadlock.
    take_signals({signal.SIGTERM}, server.shutdown, "sigterm")
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    server.server_close()


def die_with_parent() -> None:
    """``preexec_fn`` of a child process that must end with this one, even on SIGKILL."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class EmbeddedDynamoDB:
    """``start()`` launches the child and waits until it accepts connections; ``stop()`` ends it."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self._process: subprocess.Popen | None = None

    def start(self, timeout_s: float = 30) -> None:
        self._process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "session_relay_tools.local.dynamodb",
                "--host",
                self.host,
                "--port",
                str(self.port),
            ],
            stdin=subprocess.DEVNULL,
            preexec_fn=die_with_parent,
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise OSError(f"the embedded DynamoDB exited with status {self._process.returncode}")
            with socket.socket() as probe:
                if probe.connect_ex((self.host, self.port)) == 0:
                    return
            time.sleep(0.05)
        self.stop()
        raise OSError(f"the embedded DynamoDB did not start within {timeout_s:.0f} s")

    def stop(self) -> None:
        stop_child(self._process)
        self._process = None


def stop_child(process: subprocess.Popen | None, grace_s: float = 10) -> None:
    """SIGTERM ``process`` if it still runs, and wait; SIGKILL if it does not end within ``grace_s``."""
    if process is not None and process.poll() is None:
        process.terminate()
        try:
            process.wait(grace_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


class QueuedSend:
    """A ``before-send`` handler (botocore's hook that may answer a request itself) that sends the
    request on its own HTTP session, letting only ``slots`` requests reach the server at once: the
    rest wait here, before the read timeout starts. The client's own session is then never used (nor
    should another ``before-send`` handler of the client answer: this one sends every request)."""

    def __init__(self, client: Any, slots: int) -> None:
        from botocore.httpsession import URLLib3Session
        from botocore.utils import get_environ_proxies

        config = client.meta.config
        self._session = URLLib3Session(
            timeout=(config.connect_timeout, config.read_timeout),
            max_pool_connections=config.max_pool_connections,
            proxies=get_environ_proxies(client.meta.endpoint_url),
            socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)],  # as botocore's own
        )
        self._slots = threading.BoundedSemaphore(slots)

    def __call__(self, request: Any, **_: Any) -> Any:
        with self._slots:
            return self._session.send(request)


def patient_dynamodb_client(endpoint_url: str, embedded: Any = None) -> Any:
    """The handlers' DynamoDB client, made for a local DynamoDB that is slow under load.

    DynamoDB answers in milliseconds however many executions call it at once; a local one may not,
    and requests queued behind hundreds of others must not fail the product's 5 s read timeout: the
    read timeout is longer (the product's ``DYNAMODB_CONFIG`` otherwise).

    ``embedded`` is the stack's own database when it serves the endpoint: a ``DatabaseProcess`` (the
    stack's) or an ``InProcessDatabase`` answers the client's requests without HTTP (``serve``);
    ``True`` (moto's server in a child process, ``EmbeddedDynamoDB``) queues them here, a few at a time
    reaching the server (``EMBEDDED_DYNAMODB_IN_FLIGHT``), before the read timeout starts.
    """
    import boto3
    from botocore.config import Config
    from session_relay.aws import DYNAMODB_CONFIG

    config = DYNAMODB_CONFIG.merge(Config(read_timeout=LOCAL_DYNAMODB_READ_TIMEOUT_S))
    client = boto3.client("dynamodb", endpoint_url=endpoint_url, config=config)
    if embedded is True:
        client.meta.events.register("before-send.dynamodb", QueuedSend(client, EMBEDDED_DYNAMODB_IN_FLIGHT))
    elif embedded:
        embedded.serve(client)
    return client


def use_patient_dynamodb_client(endpoint_url: str, embedded: Any = None) -> Any:
    """Make the handlers share one ``patient_dynamodb_client`` (through ``session_relay.aws``)."""
    from session_relay import aws

    client = patient_dynamodb_client(endpoint_url, embedded)
    aws.use_dynamodb_client(lambda: client)
    return client


def main() -> None:
    parser = argparse.ArgumentParser(
        description="Serve moto's DynamoDB (the local stack's embedded database)."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    serve(args.host, args.port)


if __name__ == "__main__":
    main()
