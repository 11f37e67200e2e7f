"""An executor simulator speaking PROTOCOL.md section 2, for people, tests and benchmarks.

    python -m session_relay_tools.simulate --script-id SCRIPT --sessions 10

Each simulated client connects, says hello, pings, and answers messages with its demo functions:
``echo`` (returns ``data``), ``sleep`` (waits ``data`` seconds, then returns it), ``error`` (raises
with ``data`` as the message) and ``invalid`` (returns NaN, which cannot be sent as JSON).
Any other key is answered ``function doesnt exist``.
"""

import argparse
import asyncio
import contextlib
import itertools
import json
import math
import os
import signal
import sys
import threading
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlencode

import websockets

FRAME_LIMIT_BYTES = 32_768
# PROTOCOL.md section 2: a ping at most every 540 s (API Gateway answers it; 10 minutes idle closes),
# with 10 s to spare like the Luau client.
PING_INTERVAL_S = 530.0
Function = Callable[[Any], Awaitable[Any] | Any]


class FunctionError(Exception):
    """Raised by a demo function; its text becomes the ``function errored`` reason."""


async def _sleep(data: Any) -> Any:
    await asyncio.sleep(float(data) if isinstance(data, int | float) else 1.0)
    return data


def _error(data: Any) -> Any:
    raise FunctionError(data if isinstance(data, str) else "demo error")


DEMO_FUNCTIONS: dict[str, Function] = {
    "echo": lambda data: data,
    "sleep": _sleep,
    "error": _error,
    "invalid": lambda _data: math.nan,
}


def reply_for(message_id: str, function: Function | None, result: Any, error: Exception | None) -> dict:
    """The reply frame a well-behaved client sends (PROTOCOL.md section 2)."""
    if function is None:
        return {"action": "reply", "id": message_id, "processed": False, "reason": "function doesnt exist"}
    if error is not None:
        reason = f"function errored, message: {error}"
        return {"action": "reply", "id": message_id, "processed": False, "reason": reason}
    frame = {"action": "reply", "id": message_id, "processed": True, "response": result}
    try:
        text = json.dumps(frame, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError):
        text = None
    if text is None or len(text.encode()) > FRAME_LIMIT_BYTES:
        return {"action": "reply", "id": message_id, "processed": False, "reason": "invalid return data"}
    return frame


class SimulatedClient:
    """One executor session. ``run()`` until ``stop()``; ``session_id`` is set after hello."""

    def __init__(
        self,
        url: str,
        identity: dict[str, Any],
        functions: dict[str, Function] | None = None,
        ping_interval_s: float = PING_INTERVAL_S,
    ) -> None:
        self.url = f"{url.rstrip('/')}?{urlencode(identity)}"
        self.identity = identity
        self.functions = DEMO_FUNCTIONS if functions is None else functions
        self.ping_interval_s = ping_interval_s
        self.session: dict[str, Any] | None = None
        self.hello = asyncio.Event()
        self.closed = asyncio.Event()
        self.received: list[dict[str, Any]] = []
        self.handled = 0
        self._socket: Any = None

    @property
    def session_id(self) -> str | None:
        return None if self.session is None else self.session["id"]

    async def run(self) -> None:
        try:
            async with websockets.connect(self.url, max_size=None, ping_interval=None) as socket:
                self._socket = socket
                await socket.send(json.dumps({"action": "hello"}))
                pinger = asyncio.create_task(self._ping(socket))
                try:
                    async for text in socket:
                        await self._on_frame(socket, json.loads(text))
                finally:
                    pinger.cancel()
        finally:
            self.closed.set()
            self.hello.set()  # never leave a waiter hanging on a refused or dropped connection

    async def _ping(self, socket: Any) -> None:
        while True:
            await asyncio.sleep(self.ping_interval_s)
            await socket.send(json.dumps({"action": "ping"}))

    async def _on_frame(self, socket: Any, frame: dict[str, Any]) -> None:
        self.received.append(frame)
        if frame.get("type") == "hello":
            self.session = frame["session"]
            self.hello.set()
        elif frame.get("type") == "message":
            asyncio.create_task(self._answer(socket, frame))  # noqa: RUF006 - runs until replied
        elif frame.get("type") == "disconnect":
            await socket.close()

    async def _answer(self, socket: Any, frame: dict[str, Any]) -> None:
        function = self.functions.get(frame.get("key"))
        result, error = None, None
        if function is not None:
            try:
                result = function(frame.get("data"))
                if asyncio.iscoroutine(result):
                    result = await result
            except Exception as exc:
                error = exc
        self.handled += 1
        with contextlib.suppress(websockets.ConnectionClosed):
            await socket.send(json.dumps(reply_for(frame["id"], function, result, error), ensure_ascii=False))

    async def stop(self) -> None:
        if self._socket is not None:
            await self._socket.close()


def identity_for(script_id: str, index: int, place_id: int = 606849621, job_id: str = "job-local") -> dict:
    return {
        "script_id": script_id,
        "user_key": f"user-{index}",
        "roblox_id": 10_000_000 + index,
        "place_id": place_id,
        "job_id": job_id,
    }


class Fleet:
    """Many simulated clients on a background event loop, for synchronous tests and benchmarks."""

    def __init__(self, url: str, script_id: str, **client_options: Any) -> None:
        self.url = url
        self.script_id = script_id
        self.client_options = client_options
        self.clients: list[SimulatedClient] = []
        self._counter = itertools.count()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True, name="fleet")
        self._thread.start()

    def _call(self, coroutine: Awaitable[Any], timeout: float = 60) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    def connect(
        self, count: int, identity: dict[str, Any] | None = None, **options: Any
    ) -> list[SimulatedClient]:
        """Connect ``count`` clients and wait for each hello; returns them."""

        async def start() -> list[SimulatedClient]:
            new = []
            for _ in range(count):
                index = next(self._counter)
                client = SimulatedClient(
                    self.url,
                    identity or identity_for(self.script_id, index),
                    **{**self.client_options, **options},
                )
                client.task = asyncio.create_task(client.run())
                new.append(client)
            await asyncio.gather(*(client.hello.wait() for client in new))
            refused = [client for client in new if client.session_id is None]
            if refused:
                await asyncio.gather(*(client.stop() for client in new), return_exceptions=True)
                errors = await asyncio.gather(*(client.task for client in new), return_exceptions=True)
                first = next((error for error in errors if isinstance(error, BaseException)), None)
                raise ConnectionError(
                    f"{len(refused)} of {count} simulated clients did not connect: {first!r}"
                )
            return new

        clients = self._call(start())
        self.clients.extend(clients)
        return clients

    def close(self, client: SimulatedClient) -> None:
        async def stop() -> None:
            await client.stop()
            await client.closed.wait()

        self._call(stop())

    def stop(self) -> None:
        async def stop_all() -> None:
            await asyncio.gather(*(client.stop() for client in self.clients), return_exceptions=True)
            await asyncio.gather(*(client.task for client in self.clients), return_exceptions=True)

        self._call(stop_all())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="session-relay simulate",
        description="Connect simulated executor sessions (demo functions: echo, sleep, error, invalid).",
    )
    parser.add_argument("--sessions", type=int, default=1, help="how many sessions to connect (default 1)")
    parser.add_argument(
        "--url",
        default=os.environ.get("SESSION_RELAY_WS_URL")
        or f"ws://127.0.0.1:{os.environ.get('SESSION_RELAY_WS_PORT', '3001')}",
        help="WebSocket API URL (default $SESSION_RELAY_WS_URL or ws://127.0.0.1:$SESSION_RELAY_WS_PORT)",
    )
    parser.add_argument(
        "--script-id",
        default=os.environ.get("SESSION_RELAY_DEV_SCRIPT_ID"),
        help="script id to connect as (default $SESSION_RELAY_DEV_SCRIPT_ID)",
    )
    parser.add_argument("--place-id", type=int, default=606849621, help="place id of every session")
    parser.add_argument("--job-id", default="job-local", help="job id of every session")
    parser.add_argument(
        "--ping-interval",
        type=float,
        default=PING_INTERVAL_S,
        help=f"seconds between pings (default {PING_INTERVAL_S:g}, the contract's longest)",
    )
    return parser


async def simulate(args: argparse.Namespace) -> int:
    clients = [
        SimulatedClient(
            args.url,
            identity_for(args.script_id, index, args.place_id, args.job_id),
            ping_interval_s=args.ping_interval,
        )
        for index in range(args.sessions)
    ]
    tasks = [asyncio.create_task(client.run()) for client in clients]
    await asyncio.gather(*(client.hello.wait() for client in clients))
    live = [client for client in clients if client.session_id]
    for client in live:
        print(f"session {client.session_id}  user_key={client.identity['user_key']}", flush=True)
    failed = len(clients) - len(live)
    print(
        f"{len(live)} sessions connected{f', {failed} refused' if failed else ''}; Ctrl-C disconnects",
        flush=True,
    )
    if not live:
        for task in tasks:
            with contextlib.suppress(Exception):
                await task
        return 1
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    waiter = asyncio.create_task(stop.wait())
    await asyncio.wait([waiter, *tasks], return_when=asyncio.FIRST_COMPLETED)
    await asyncio.gather(*(client.stop() for client in clients), return_exceptions=True)
    await asyncio.gather(*tasks, return_exceptions=True)
    return 0


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    if not args.script_id:
        raise SystemExit("--script-id is required (or set SESSION_RELAY_DEV_SCRIPT_ID)")
    if args.sessions < 1:
        raise SystemExit("--sessions must be at least 1")
    sys.exit(asyncio.run(simulate(args)))


if __name__ == "__main__":
    main()


def raw_identity(script_id: str, **overrides: Any) -> dict[str, Any]:
    """A valid handshake identity for ``script_id``; ``overrides`` replace or add query fields."""
    return {
        "script_id": script_id,
        "user_key": "raw-user",
        "roblox_id": 10234711811,
        "place_id": 606849621,
        "job_id": "raw-job",
        **overrides,
    }


class RawClient:
    """A hand-driven executor connection (synchronous): send any frame, read frames one by one.

    For probing the protocol by hand or in tests; open it with ``RawClient.open(url, query)``.
    """

    def __init__(self, socket: Any) -> None:
        self.socket = socket

    @classmethod
    def open(cls, ws_url: str, query: str, open_timeout: float = 10) -> "RawClient":
        from websockets.sync.client import connect

        connection = connect(f"{ws_url.rstrip('/')}/?{query}", open_timeout=open_timeout, max_size=None)
        return cls(connection.__enter__())  # as a context manager, which websockets requires; close() exits

    def send(self, frame: Any) -> None:
        self.socket.send(frame if isinstance(frame, str | bytes) else json.dumps(frame))

    def receive(self, timeout: float = 10) -> dict[str, Any]:
        return json.loads(self.socket.recv(timeout))

    def receive_type(self, frame_type: str, timeout: float = 10) -> dict[str, Any]:
        """The next frame of this type (frames of other types before it are skipped)."""
        while True:
            frame = self.receive(timeout)
            if frame.get("type") == frame_type:
                return frame

    def nothing_within(self, seconds: float) -> bool:
        """True when no frame arrives within ``seconds``."""
        try:
            self.socket.recv(seconds)
        except TimeoutError:
            return True
        return False

    def hello(self) -> dict[str, Any]:
        self.send({"action": "hello"})
        return self.receive_type("hello")["session"]

    def ping(self) -> dict[str, Any]:
        self.send({"action": "ping"})
        return self.receive_type("pong")

    def close(self) -> None:
        self.socket.close()
