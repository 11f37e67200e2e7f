"""A Roblox-executor stand-in around a real Luau VM (pluau), to run ``clients/luau/SessionRelay.lua``
outside Roblox: against ``make dev`` by hand (``session_relay_tools.luau``) and in the tests.

What a script sees, and what it is made of:
- ``task`` (spawn, defer, delay, wait, cancel): Luau coroutines driven by this loop on the executor's
  clock: real elapsed time plus an offset that tests may move forward. ``task.wait()`` waits at least
  one 60 Hz frame, as in Roblox.
- ``WebSocket.connect(url)`` (UNC), or ``syn.websocket.connect``, ``Krnl.WebSocket.connect``,
  ``WebSocket.new``, a lowercase-method variant, or one without ``OnClose``, bridged to a real socket
  (``sockets.py``). Connecting yields the calling coroutine until the handshake ends (an error on
  failure, like executors); frames and closes reach ``OnMessage``/``OnClose`` handlers, each in its
  own coroutine.
- ``game``: ``PlaceId``, ``JobId``, ``Players.LocalPlayer.UserId``, ``GetService("HttpService" |
  "Players")``, ``HttpGet(url)`` (serves what ``serve()`` registered), ``ReplicatedStorage`` holding
  the client as a ModuleScript for ``require``.
- ``HttpService:JSONEncode/JSONDecode`` with Roblox's rules (``values.py``).
- ``print``/``warn`` are recorded in ``output`` (and passed to ``on_output``); an error that escapes
  any coroutine is recorded in ``errors``; every frame sent and received is recorded.
"""

import contextlib
import queue
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pluau

from session_relay_tools.luau.sockets import Frame, SocketBridge, SocketRecord
from session_relay_tools.luau.values import LuauError, LuauValues

HERE = Path(__file__).resolve().parent
CLIENT_PATH = HERE.parents[2] / "clients" / "luau" / "SessionRelay.lua"
WEBSOCKET_STYLES = ("unc", "syn", "krnl", "new", "lowercase", "no_onclose")


def prelude() -> str:
    """The Luau side of the executor: the ``task`` scheduler, then the executor's globals."""
    return "\n".join((HERE / name).read_text() for name in ("scheduler.lua", "executor.lua"))


class LuauExecutor:
    """One Luau VM playing a Roblox executor. Use from one thread; ``close()`` when done."""

    def __init__(
        self,
        *,
        websocket_style: str = "unc",
        user_id: int = 10234711811,
        place_id: int = 606849621,
        job_id: str = "job-luau",
        client_path: Path = CLIENT_PATH,
        on_output: Callable[[str, str], None] | None = None,
    ) -> None:
        if websocket_style not in WEBSOCKET_STYLES:
            raise ValueError(f"unknown websocket style {websocket_style!r}")
        self.lua = pluau.Lua()
        self.values = LuauValues(self.lua)
        self.client_path = client_path
        self.on_output = on_output
        self._t0 = time.monotonic()
        self._offset = 0.0
        self._pages: dict[str, str] = {}
        self.http_gets: list[str] = []
        self.errors: list[str] = []
        self.output: list[tuple[str, str]] = []
        self.bridge = SocketBridge(self.now)
        self._workers = ThreadPoolExecutor(max_workers=8, thread_name_prefix="luau-calls")
        bindings = self._table(
            {
                "now": self._fn(lambda: self.now()),
                "report_error": self._fn(self._report_error),
                "output": self._fn(self._output),
                "ws_open": self._fn(lambda url: self.bridge.open(self.values.text(url))),
                "ws_send": self._fn(lambda handle, text: self.bridge.send(handle, self.values.text(text))),
                "ws_close": self._fn(self.bridge.close),
                "json_encode": self._fn(self.values.json_encode),
                "json_decode": self._fn(self.values.json_decode),
                "http_get": self._fn(self._http_get),
                "module_source": self._fn(lambda _name: self.client_path.read_text()),
                "style": websocket_style,
                "user_id": user_id,
                "place_id": place_id,
                "job_id": job_id,
            }
        )
        (self._harness,) = self.lua.load_chunk(prelude(), name="=executor")(bindings)

    @property
    def sockets(self) -> dict[int, SocketRecord]:
        return self.bridge.sockets

    @property
    def sent(self) -> list[Frame]:
        return self.bridge.sent

    @property
    def received(self) -> list[Frame]:
        return self.bridge.received

    # ------------------------------------------------------------ clock and loop

    def now(self) -> float:
        """The executor's clock: seconds since it started (plus any offset a test added)."""
        return time.monotonic() - self._t0 + self._offset

    def pump(self) -> float | None:
        """Deliver queued socket events, then run deferred threads and due timers.

        Returns the time of the next timer, if any."""
        next_at = None
        for _ in range(100):
            self._drain_events()
            next_at, busy = self._harness.get("step")()
            if not busy and self.bridge.events.empty():
                break
        return next_at

    def wait_until(self, predicate: Callable[[], Any], timeout: float = 15, what: str = "condition") -> Any:
        """Run the loop until ``predicate()`` is truthy (returned) or ``timeout`` real seconds pass."""
        deadline = time.monotonic() + timeout
        while True:
            next_at = self.pump()
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                raise TimeoutError(f"timed out waiting for {what}; Luau errors: {self.errors}")
            block = 0.01 if next_at is None else min(0.01, max(0.0, next_at - self.now()))
            with contextlib.suppress(queue.Empty):
                self._handle_event(self.bridge.events.get(timeout=block))

    def settle(self, seconds: float) -> None:
        """Run the loop for ``seconds`` of real time."""
        deadline = time.monotonic() + seconds
        with contextlib.suppress(TimeoutError):
            self.wait_until(lambda: time.monotonic() > deadline, timeout=seconds + 5)

    def run(self, call: Callable[[], Any], timeout: float = 75) -> Any:
        """Run a blocking call (a REST request) in a worker while the Luau loop keeps going."""
        future = self.submit(call)
        return self.result(future, timeout)

    def submit(self, call: Callable[[], Any]) -> Future:
        return self._workers.submit(call)

    def result(self, future: Future, timeout: float = 75) -> Any:
        self.wait_until(future.done, timeout, what="a background call")
        return future.result()

    # ------------------------------------------------------------ running Luau

    def serve(self, url: str, text: str) -> None:
        """What ``game:HttpGet(url)`` returns."""
        self._pages[url] = text

    def set_globals(self, **values: Any) -> None:
        globals_ = self.lua.globals()
        for name, value in values.items():
            globals_.set(name, self.to_lua(value))

    def exec(self, source: str, name: str = "script", **values: Any) -> None:
        """Run a chunk as a new coroutine (it may yield); returns once it finishes or yields."""
        self.set_globals(**values)
        chunk = self.lua.load_chunk(source, name=f"={name}")
        self._harness.get("spawn")(chunk)
        self.pump()

    def eval(self, source: str, **values: Any) -> Any:
        """Run a chunk that must not yield; returns its first result as Python data."""
        self.set_globals(**values)
        results = self.lua.load_chunk(source, name="=eval")()
        return self.to_python(results[0]) if results else None

    def to_lua(self, value: Any) -> Any:
        return self.values.to_lua(value)

    def to_python(self, value: Any) -> Any:
        return self.values.to_python(value)

    def _table(self, values: dict[str, Any]) -> pluau.Table:
        table = self.lua.create_table()
        for key, value in values.items():
            table.raw_set(key, value)
        return table

    def _fn(self, function: Callable[..., Any]) -> pluau.Function:
        def call(_lua: Any, args: tuple) -> list:
            result = function(*args)
            return list(result) if isinstance(result, tuple) else [result]

        return self.lua.create_function(call)

    def _http_get(self, url: Any) -> str:
        url = self.values.text(url)
        self.http_gets.append(url)
        if url not in self._pages:
            raise LuauError(f"HttpGet: 404 Not Found ({url})")
        return self._pages[url]

    # ------------------------------------------------------------ socket events, output, errors

    def _drain_events(self) -> None:
        while True:
            try:
                event = self.bridge.events.get_nowait()
            except queue.Empty:
                return
            self._handle_event(event)

    def _handle_event(self, event: tuple) -> None:
        kind, handle, *rest = event
        record = self.sockets[handle]
        if kind == "open":
            ok, error = rest
            record.state = "open" if ok else "failed"
            record.error = error
            self._harness.get("io_open")(handle, ok, error)
        elif kind == "message":
            (text,) = rest
            if isinstance(text, bytes):
                text = text.decode("utf-8", errors="replace")
            self.received.append(Frame(handle, self.now(), text))
            if not record.muted:
                self._harness.get("io_message")(handle, text)
        elif kind == "close":
            record.state = "closed"
            record.close_code = rest[0]
            self._harness.get("io_close")(handle)

    def _output(self, kind: Any, text: Any) -> None:
        line = (self.to_python(kind), self.to_python(text))
        self.output.append(line)
        if self.on_output is not None:
            self.on_output(*line)

    def _report_error(self, message: Any, traceback: Any) -> None:
        self.errors.append(f"{self.to_python(message)}\n{self.to_python(traceback)}")

    def logs(self) -> list[str]:
        return [text for _kind, text in self.output]

    def open_sockets(self) -> list[SocketRecord]:
        return [record for record in self.sockets.values() if record.state == "open"]

    def close(self) -> None:
        """Close every socket and stop the background thread."""
        self.bridge.shutdown()
        self._workers.shutdown(wait=False, cancel_futures=True)
