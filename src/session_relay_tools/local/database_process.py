"""The embedded database in a process of its own, so that moto's work has a core of its own.

In the stack's process, moto's work (about a third of a wave's time) and the handlers', gateways' and
mappings' work took turns on one interpreter lock while the machine's second core stood idle. Here a
child process holds moto's backends (``InProcessDatabase``: the port for every client, one lock making
each request atomic) and answers the handlers' DynamoDB client (and the event source mappings' SQS
and DynamoDB Streams clients) over a Unix socket: the request
botocore prepared (method, URL, headers, body: serialized as for HTTP; unsigned, see ``serve``) goes
in, moto's status, headers and body come back, and the client parses them as it parses an HTTP answer.
No HTTP stack on either side: one message each way, on a connection kept open.

The socket lives in a folder only this user can enter. The child dies with the stack, even on SIGKILL
(Linux parent-death signal), and a request it cannot answer any more fails as a connection error, as
it would over HTTP.
"""

import argparse
import contextlib
import functools
import os
import queue
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
from multiprocessing.connection import Client, Connection, Listener
from typing import Any

from session_relay_tools.local.dynamodb import die_with_parent, stop_child
from session_relay_tools.signals import take_signals

# Where the stack puts the database's socket (benchmarks time the handlers' own path through it);
# unset: a folder of its own.
DATABASE_SOCKET_VARIABLE = "SESSION_RELAY_DATABASE_SOCKET"
IN_FLIGHT = 16  # requests waiting at the child at once; the rest wait here (moto answers one at a time)
_SOCKET_NAME = "database.sock"


class DatabaseClient:
    """Requests to a database process's socket at ``address``: ``serve(client)`` has it answer a
    botocore client's requests; a few connections kept open, ``IN_FLIGHT`` requests at most at once."""

    def __init__(self, address: str) -> None:
        self.address = address
        self._idle: queue.SimpleQueue[Connection] = queue.SimpleQueue()
        self._slots = threading.BoundedSemaphore(IN_FLIGHT)

    def serve(self, client: Any) -> None:
        """Have the child answer ``client``'s requests (botocore ``before-send``), unsigned.

        moto checks no signature: of the ``Authorization`` header it reads only the access key (the
        account) and the Region, so a stand-in header names the client's, and the client skips
        SigV4's hashing and HMACs (``choose-signer``: a quarter of its own work per request)."""
        import botocore

        name = client.meta.service_model.service_id.hyphenize()
        client.meta.events.register(f"choose-signer.{name}", lambda **_: botocore.UNSIGNED)
        answer = functools.partial(self.answer, authorization=_stand_in(client))
        client.meta.events.register(f"before-send.{name}", answer)

    def answer_as_json(self, client: Any, operation: str) -> None:
        """Have ``client``'s successful ``operation`` calls return moto's JSON answer as it was sent
        (botocore ``before-call``), not parsed member by member against the operation's output shape:
        for ``GetRecords``, a page of a thousand stream records, the parse is most of what reading it
        costs, and the local stack's mappings want the wire's typed JSON anyway (it is Lambda's event
        format). A call the child fails or cannot answer returns nothing here, so botocore asks again
        the usual way (``serve``) and raises what it parses: only idempotent reads belong here."""
        import json

        from botocore.awsrequest import AWSResponse

        authorization = _stand_in(client)

        def call(params: dict[str, Any], **_: Any) -> Any:
            url = params["url"]  # botocore's join of the endpoint, the path and any query string
            headers = [*params["headers"].items(), ("Authorization", authorization)]
            try:
                status, answered_headers, body = self.exchange(
                    ("request", (params["method"], url, headers, params["body"]))
                )
            except (_Unreachable, OSError, EOFError):
                return None
            if status != 200:
                return None
            return AWSResponse(url, status, answered_headers, _Raw(body)), json.loads(body)

        name = client.meta.service_model.service_id.hyphenize()
        client.meta.events.register(f"before-call.{name}.{operation}", call)

    def answer(self, request: Any, authorization: str | None = None, **_: Any) -> Any:
        """botocore ``before-send``: moto's answer to ``request``, from the child (``authorization``: the
        header an unsigned request carries instead of a signature)."""
        from botocore.awsrequest import AWSResponse
        from botocore.exceptions import ConnectionClosedError, EndpointConnectionError

        headers = list(request.headers.items())
        if authorization is not None and "Authorization" not in request.headers:
            headers.append(("Authorization", authorization))
        message = ("request", (request.method, request.url, headers, request.body))
        try:
            status, answered_headers, body = self.exchange(message)
        except _Unreachable as exc:
            raise EndpointConnectionError(endpoint_url=request.url, error=exc.__cause__) from exc
        except (OSError, EOFError) as exc:  # the child ended with the request: it may have been applied
            raise ConnectionClosedError(endpoint_url=request.url, request=request) from exc
        return AWSResponse(request.url, status, answered_headers, _Raw(body))

    def exchange(self, message: tuple[str, Any]) -> Any:
        """Send ``message`` on an idle connection (a new one if none is idle) and return the reply."""
        with self._slots:
            try:
                connection = self._idle.get_nowait()
            except queue.Empty:
                try:
                    connection = Client(self.address, family="AF_UNIX")
                except OSError as exc:
                    raise _Unreachable from exc
            try:
                connection.send(message)
                reply = connection.recv()
            except BaseException:
                connection.close()
                raise
            self._idle.put(connection)
        return reply

    def close(self) -> None:
        while not self._idle.empty():
            self._idle.get_nowait().close()


class DatabaseProcess(DatabaseClient):
    """``start()`` launches the child and waits until it serves; ``serve``/``answer`` reach it;
    ``stop()`` ends it. ``socket_path``: where its socket goes (``SESSION_RELAY_DATABASE_SOCKET`` for
    the stack), a folder of its own otherwise."""

    def __init__(self, host: str, port: int, socket_path: str | None = None) -> None:
        self._folder = None if socket_path else tempfile.mkdtemp(prefix="session-relay-db-")  # mode 0700
        super().__init__(socket_path or os.path.join(self._folder, _SOCKET_NAME))
        self.host, self.port = host, port
        self._process: subprocess.Popen | None = None
        self.meter: RemoteMeter | None = None

    def start(self, timeout_s: float = 30, meter: bool = False) -> None:
        """Start the child; ``meter``: it meters the handlers' requests (``RemoteMeter`` reads it)."""
        _remove_stale_socket(self.address)  # a killed stack's: the child could not bind, nor be awaited
        command = [sys.executable, "-m", __name__, "--host", self.host, "--port", str(self.port)]
        command += ["--socket", self.address] + (["--meter"] if meter else [])
        command += ["--remove-folder"] if self._folder is not None else []
        self._process = subprocess.Popen(command, stdin=subprocess.DEVNULL, preexec_fn=die_with_parent)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise OSError(f"the embedded database exited with status {self._process.returncode}")
            if os.path.exists(self.address) and _accepts(self.host, self.port):
                self.meter = RemoteMeter(self) if meter else None
                return
            time.sleep(0.05)
        self.stop()
        raise OSError(f"the embedded database did not listen on {self.host}:{self.port} in {timeout_s} s")

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    def stop(self) -> None:
        self.close()
        stop_child(self._process)
        self._process = None
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)


class _Unreachable(Exception):
    """No connection to the child could be made: the request was not sent."""


class RemoteMeter:
    """The child's ``Meter``, read and reset over the socket (for the call counter)."""

    def __init__(self, database: DatabaseClient) -> None:
        self._database = database

    def snapshot(self) -> dict[str, dict[str, int]]:
        return self._database.exchange(("meter", None))

    def reset(self) -> None:
        self._database.exchange(("meter-reset", None))


def _stand_in(client: Any) -> str:
    """The ``Authorization`` header an unsigned request of ``client`` carries: its access key (the
    account) and Region, all moto reads of a signature."""
    import boto3

    credentials = boto3.session.Session().get_credentials()
    key = credentials.access_key if credentials is not None else "local"
    service = client.meta.service_model
    scope = f"{key}/{time.strftime('%Y%m%d')}/{client.meta.region_name}/{service.signing_name}"
    return f"AWS4-HMAC-SHA256 Credential={scope}/aws4_request, SignedHeaders=host, Signature=0"


class _Raw:
    """What ``AWSResponse`` reads a body from (``stream()`` for a streamed answer, ``read()``)."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Any:
        yield self._body

    def read(self, *_: Any, **__: Any) -> bytes:
        body, self._body = self._body, b""
        return body


def _remove_stale_socket(address: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        if stat.S_ISSOCK(os.lstat(address).st_mode):
            os.unlink(address)


def _accepts(host: str, port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex((host, port)) == 0


def serve(host: str, port: int, address: str, meter: bool, remove_folder: bool = False) -> None:
    """The child: moto on ``host:port`` and on the socket at ``address``, until SIGTERM (or its
    parent's death)."""
    from session_relay_tools.local.embedded_database import InProcessDatabase
    from session_relay_tools.local.metering import Meter

    database = InProcessDatabase(host, port)
    if meter:
        database.meter = Meter()
    listener = Listener(address, family="AF_UNIX", backlog=IN_FLIGHT * 4)
    stopping = threading.Event()

    def converse(connection: Connection) -> None:
        with connection:
            while True:
                try:
                    kind, payload = connection.recv()
                except (EOFError, OSError):
                    return
                if kind == "request":
                    connection.send(_respond(database, *payload))
                elif kind == "meter":
                    connection.send(database.meter.snapshot() if database.meter else {})
                elif kind == "meter-reset":
                    if database.meter is not None:
                        database.meter.reset()
                    connection.send(None)

    def accept() -> None:
        while not stopping.is_set():
            try:
                connection = listener.accept()
            except OSError:
                return
            threading.Thread(target=converse, args=(connection,), daemon=True).start()

    # Taken by a thread of its own before any other starts, never a handler: a second SIGTERM (the
    # stack's own, then its death signal when it dies too) ran a handler inside itself while the first
    # held the stopping event's lock, and the child deadlocked with no parent left to stop it.
    take_signals({signal.SIGTERM}, stopping.set, "sigterm")
    # Ctrl-C reaches the terminal's whole process group: the stack still needs its database while it
    # drains (each closed connection's $disconnect), then stops it with SIGTERM.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    database.start()
    threading.Thread(target=accept, name="database-socket", daemon=True).start()
    stopping.wait()
    with contextlib.suppress(OSError):
        listener.close()
    database.stop()
    if remove_folder:  # its parent's, made for this socket alone: gone even when the parent was killed
        shutil.rmtree(os.path.dirname(address), ignore_errors=True)


def _respond(database: Any, method: str, url: str, headers: list[tuple[str, Any]], body: Any) -> Any:
    """moto's ``(status, headers, body)`` for a request botocore prepared, sent over the socket."""
    from botocore.awsrequest import AWSPreparedRequest, HeadersDict

    prepared = AWSPreparedRequest(method, url, HeadersDict(headers), body, stream_output=False)
    try:
        status, answered_headers, answered = database.respond(prepared)
    except Exception as exc:  # a fault inside moto: DynamoDB's answer to its own faults
        status, answered_headers = 500, {"Content-Type": "application/x-amz-json-1.0"}
        answered = f'{{"__type":"InternalServerError","message":"{type(exc).__name__}"}}'
    if isinstance(answered, str):
        answered = answered.encode()
    return status, dict(answered_headers), answered


def main() -> None:
    parser = argparse.ArgumentParser(description="The local stack's embedded database (a child process).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--socket", required=True, help="the Unix socket the stack's handlers use")
    parser.add_argument("--meter", action="store_true", help="meter the requests (SESSION_RELAY_METER)")
    parser.add_argument(
        "--remove-folder", action="store_true", help="remove the socket's folder at the end (made for it)"
    )
    args = parser.parse_args()
    serve(args.host, args.port, args.socket, args.meter, args.remove_folder)


if __name__ == "__main__":
    main()
