"""The whole system on one machine: REST API, WebSocket API (+ Management API) and DynamoDB.

``session-relay dev`` (what ``make dev`` runs) starts it in the foreground; SIGINT or SIGTERM
stops every part. Ports and the development credentials come from the environment
(PROTOCOL.md section 3).
"""

import asyncio
import contextlib
import logging
import os
import secrets
import signal
import socket
import sys
from typing import Any

import boto3
import uvicorn
from botocore.exceptions import BotoCoreError, ClientError
from session_relay import FRAME_LIMIT_BYTES

from session_relay_tools.local import logs, poll_lever
from session_relay_tools.local.calls import CallCounter
from session_relay_tools.local.config import StackConfig
from session_relay_tools.local.draining import Draining
from session_relay_tools.local.dynamodb import use_patient_dynamodb_client
from session_relay_tools.local.functions import FunctionHost
from session_relay_tools.local.limits import connect_rate, request_rate, stage_throttle
from session_relay_tools.local.management_client import use_in_process_management
from session_relay_tools.local.mappings import LocalMappings
from session_relay_tools.local.rest_gateway import RestGateway
from session_relay_tools.local.upgrade_limits import UpgradeLimits
from session_relay_tools.local.websocket_gateway import STAGE, WebSocketGateway
from session_relay_tools.open_files import allow_many_open_files
from session_relay_tools.template import create_tables, load_template

HOST = "127.0.0.1"
TABLE_PREFIX = "session-relay-local-"
# How long a stop waits for closing connections' $disconnect handlers: an external DynamoDB keeps
# what they would delete (below process.py's 20 s before SIGKILL); the embedded one goes with the stack.
DRAIN_TIMEOUT_S = {"external": 15.0, "embedded": 2.0}


class _RefusalIsNotAnError(logging.Filter):
    """uvicorn's sans-I/O WebSocket protocol sends a refused handshake's response correctly but then
    logs it as an error; a refusal is an answer, not a fault."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "returned without completing handshake" not in record.getMessage()


logging.getLogger("uvicorn.error").addFilter(_RefusalIsNotAnError())


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: the stack stops all servers together."""

    @contextlib.contextmanager
    def capture_signals(self):  # type: ignore[override]
        yield


def _integration_timeout_ms() -> int:
    parameter = load_template()["Parameters"]["IntegrationTimeoutMs"]
    return int(os.environ.get("INTEGRATION_TIMEOUT_MS") or parameter["Default"])


def _max_calls_in_flight() -> str:
    parameter = load_template()["Parameters"]["MaxCallsInFlightPerKey"]
    return os.environ.get("MAX_CALLS_IN_FLIGHT") or str(parameter["Default"])


class LocalStack:
    """Start with ``await stack.start()``, stop with ``await stack.stop()``."""

    def __init__(self, config: StackConfig) -> None:
        self.config = config
        self.rest_url = f"http://{HOST}:{config.rest_port}"
        self.ws_url = f"ws://{HOST}:{config.ws_port}"
        self.dynamodb_endpoint = config.dynamodb_endpoint or f"http://{HOST}:{config.dynamodb_port}"
        self.script_id = config.script_id or "script_" + secrets.token_hex(6)
        self.api_key = config.api_key
        self.tables: dict[str, str] = {}
        self._moto: Any = None
        self._servers: list[_Server] = []
        self._apps: list[Draining] = []
        self._tasks: list[asyncio.Task[Any]] = []
        self.websocket: WebSocketGateway | None = None
        self.mappings: LocalMappings | None = None

    async def start(self) -> None:
        _environment_defaults()
        # The WebSocket stage's throttle (SESSION_RELAY_WS_RATE/_BURST) and the account's rates (one request
        # bucket for both APIs): checked before anything starts, so a bad value stops it with its sentence.
        throttle, connections, requests = stage_throttle(load_template()), connect_rate(), request_rate()
        ports = [self.config.rest_port, self.config.ws_port]
        if self.config.dynamodb_endpoint is None:
            ports.append(self.config.dynamodb_port)
        for port in ports:
            _require_free(port)
        calls = None
        if os.environ.get("SESSION_RELAY_COUNT_CALLS") == "1":
            calls = CallCounter()
            calls.install()  # before any client exists: every client then reports its calls
        if self.config.dynamodb_endpoint is None:
            # read and write units, items read: at a price, so only when asked for
            self._start_moto(meter=calls is not None and os.environ.get("SESSION_RELAY_METER") == "1")
            if calls is not None:
                calls.meter = self._moto.meter
        integration_timeout_ms = self._prepare_resources()
        use_patient_dynamodb_client(self.dynamodb_endpoint, embedded=self._moto)
        # Imported only now: the handlers read their settings from the environment set above.
        from session_relay_tools.local.devdata import forget_dead_sessions, register_dev_credentials

        forget_dead_sessions()
        poll_lever.apply()
        self.api_key = register_dev_credentials(self.script_id, self.api_key)
        host = FunctionHost()
        logs.install()  # after the handlers created their Powertools Logger
        for name, value in host.environment_defaults().items():
            os.environ.setdefault(name, value)
        domain = f"{HOST}:{self.config.ws_port}"
        self.websocket = WebSocketGateway(host, domain, calls, throttle, connections, requests)
        use_in_process_management(self.websocket, asyncio.get_running_loop())
        rest = RestGateway(host, integration_timeout_ms / 1000, requests)
        self._host = host
        self.mappings.start(host)
        self._apps = [Draining(rest), Draining(self.websocket)]
        await self._serve()

    def _prepare_resources(self) -> int:
        """The template's tables and queues on the database, and the handlers' environment; the
        integration timeout (ms)."""
        client = boto3.client("dynamodb", endpoint_url=self.dynamodb_endpoint)
        try:
            self.tables = create_tables(client, TABLE_PREFIX)
        except (BotoCoreError, ClientError) as exc:  # the tables this start made are deleted again
            raise SystemExit(f"the tables could not be set up on {self.dynamodb_endpoint}: {exc}") from exc
        integration_timeout_ms = _integration_timeout_ms()
        os.environ.update(self.tables)
        # queues here, mappings below
        self.mappings = LocalMappings(self.dynamodb_endpoint, TABLE_PREFIX, database=self._moto)
        os.environ.update(self.mappings.prepare())
        os.environ.update(
            DYNAMODB_ENDPOINT_URL=self.dynamodb_endpoint,
            MANAGEMENT_API_URL=f"http://{HOST}:{self.config.ws_port}/{STAGE}",
            INTEGRATION_TIMEOUT_MS=str(integration_timeout_ms),
            MAX_CALLS_IN_FLIGHT=_max_calls_in_flight(),
            # Webhook URLs may be http://127.0.0.1:<port> here only (session_relay.service.webhooks_rules).
            WEBHOOK_LOOPBACK_URLS="allowed",
        )
        return integration_timeout_ms

    async def _serve(self) -> None:
        self._servers = [
            _Server(_config(self._apps[0], self.config.rest_port)),
            _Server(_config(self._apps[1], self.config.ws_port, websocket=True)),
        ]
        for server in self._servers:
            self._tasks.append(asyncio.create_task(server.serve()))
        self._tasks.append(asyncio.create_task(self.websocket.enforce_limits()))
        while not all(server.started for server in self._servers):
            if any(task.done() for task in self._tasks):
                await self.stop()
                raise SystemExit("the local stack could not start (is a port already in use?)")
            await asyncio.sleep(0.02)

    def _start_moto(self, meter: bool) -> None:
        # In a process of its own, on the second core: the handlers' DynamoDB requests and the
        # mappings' reach it over a Unix socket, without HTTP (docs/benchmarks.md, "The local stack's
        # pace"); every other client reaches the same backends on the port.
        from session_relay_tools.local.database_process import DATABASE_SOCKET_VARIABLE, DatabaseProcess

        try:
            socket_path = os.environ.get(DATABASE_SOCKET_VARIABLE) or None
            self._moto = DatabaseProcess(HOST, self.config.dynamodb_port, socket_path)
            self._moto.start(meter=meter)
        except OSError as exc:
            raise SystemExit(
                f"the embedded DynamoDB could not listen on {self.dynamodb_endpoint}: {exc}"
            ) from exc

    async def stop(self) -> None:
        for app in self._apps:
            app.stop()
        if self.websocket is not None and self._apps:
            await self.websocket.close_all()
            dynamodb = "embedded" if self.config.dynamodb_endpoint is None else "external"
            left = await self._apps[1].drain(DRAIN_TIMEOUT_S[dynamodb])  # each closed one's $disconnect
            if left and dynamodb == "external":
                print(f"{left} connections still closing: their sessions are removed at the next start")
        for server in self._servers:
            server.should_exit = True
        for task in self._tasks:
            if task.get_coro().__qualname__.endswith("enforce_limits"):
                task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.mappings is not None:
            await self.mappings.stop()
        if self._moto is not None:
            self._moto.stop()
            self._moto = None
        if getattr(self, "_host", None) is not None:
            self._host.close()

    def banner(self) -> str:
        dynamodb = "embedded moto server" if self.config.dynamodb_endpoint is None else "external"
        return "\n".join(
            [
                "Session Relay local stack",
                f"  REST API        {self.rest_url}",
                f"  WebSocket API   {self.ws_url}",
                f"  DynamoDB        {self.dynamodb_endpoint}  ({dynamodb})",
                f"  script id       {self.script_id}",
                f"  API key         {self.api_key}",
                "",
                f"  try: curl -H 'Authorization: Bearer {self.api_key}' {self.rest_url}/sessions",
            ]
        )


def _require_free(port: int) -> None:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError as exc:
            raise SystemExit(
                f"port {port} on {HOST} is in use ({exc.strerror}); stop what uses it or choose another "
                "port with SESSION_RELAY_REST_PORT / SESSION_RELAY_WS_PORT / SESSION_RELAY_DYNAMODB_PORT"
            ) from exc


def _config(app: Any, port: int, websocket: bool = False) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=HOST,
        port=port,
        lifespan="off",
        log_level="warning",
        access_log=False,
        ws="websockets-sansio" if websocket else "none",
        http=UpgradeLimits if websocket else "auto",
        ws_max_size=FRAME_LIMIT_BYTES,
        ws_ping_interval=None,
        timeout_graceful_shutdown=2,
        backlog=2048,
    )


def _environment_defaults() -> None:
    """What the handlers need that Lambda would provide, without overriding the caller's choices."""
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
    # Lambda sets AWS_LAMBDA_LOG_LEVEL from the template's ApplicationLogLevel (the LogLevel parameter);
    # a level the developer chose (either variable) wins.
    if not os.environ.get("POWERTOOLS_LOG_LEVEL"):
        level = load_template()["Parameters"]["LogLevel"]["Default"]
        os.environ.setdefault("AWS_LAMBDA_LOG_LEVEL", str(level))
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")


async def _run(config: StackConfig) -> None:
    stack = LocalStack(config)
    try:
        await stack.start()
    except BaseException:
        await stack.stop()
        raise
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    print(stack.banner())
    print(
        f"ready: Session Relay is serving on {stack.rest_url} and {stack.ws_url} (Ctrl-C stops it)",
        flush=True,
    )
    await stop.wait()
    print("stopping...", flush=True)
    await stack.stop()
    print("stopped", flush=True)


def main() -> None:
    """Run the local stack in the foreground until SIGINT/SIGTERM."""
    allow_many_open_files()  # a session is a socket, and the embedded database's child inherits this
    config = StackConfig.from_environment()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_run(config))
    sys.exit(0)
