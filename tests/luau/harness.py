"""A Roblox-executor stand-in around a real Luau VM (pluau), for testing ``clients/luau``.

What the client sees, and what it is made of:
- ``task`` (spawn, defer, delay, wait, cancel): Luau coroutines driven by this harness's loop on a
  *virtual clock* — real elapsed time plus an offset that ``advance()`` moves forward, so a test can
  jump 5 minutes or 2 hours at once. ``task.wait()`` waits at least one 60 Hz frame, as in Roblox.
- ``WebSocket.connect(url)`` (UNC) — or ``syn.websocket.connect``, ``Krnl.WebSocket.connect``,
  ``WebSocket.new``, a lowercase-method variant, or one without ``OnClose`` — bridged to a real socket:
  the ``websockets`` library on an asyncio loop in a background thread. Connecting yields the calling
  coroutine until the handshake ends (an error on failure, like executors). Incoming frames and closes
  are queued by that thread and delivered to ``OnMessage``/``OnClose`` handlers, each in its own
  coroutine, from the harness loop: Luau only ever runs on the test's thread.
- ``game``: ``PlaceId``, ``JobId``, ``Players.LocalPlayer.UserId``, ``GetService("HttpService" |
  "Players")``, ``HttpGet(url)`` (serves what ``serve()`` registered), ``ReplicatedStorage`` holding a
  ModuleScript for ``require``.
- ``HttpService:JSONEncode/JSONDecode`` follow Roblox's documented rules, faults included:
  an empty table encodes as ``[]``; a table with number keys is an array that takes priority (string
  keys are silently dropped) and, like Roblox, stops at the first hole; NaN and infinities come out as
  ``nan``/``inf`` (invalid JSON); cyclic tables, functions, userdata, threads, buffers, vectors and
  keys of other types raise. JSONDecode rejects invalid JSON, gives 1-based arrays, and ``null`` is nil.
- ``print``/``warn`` are recorded in ``output``; an error that escapes any coroutine is recorded in
  ``errors`` (tests assert there are none); every frame sent and received is recorded.
"""

import asyncio
import contextlib
import json
import math
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pluau
import websockets
from websockets.asyncio.client import connect as websocket_connect

CLIENT_PATH = Path(__file__).resolve().parents[2] / "clients" / "luau" / "SessionRelay.lua"
FRAME_LIMIT_BYTES = 32_768
WEBSOCKET_STYLES = ("unc", "syn", "krnl", "new", "lowercase", "no_onclose")

PRELUDE = r"""
local py = ...
local now = py.now
local FRAME = 1 / 60

-- ------------------------------------------------------------ scheduler (task library)
local timers = {}      -- sorted by (at, seq)
local deferred = {}
local pending = {}     -- thread -> the timer entry allowed to resume it
local ioWaiters = {}   -- socket handle -> thread waiting in WebSocket.connect
local seq = 0

local function resume(thread, ...)
	if coroutine.status(thread) ~= "suspended" then
		return
	end
	local ok, err = coroutine.resume(thread, ...)
	if not ok then
		py.report_error(tostring(err), debug.traceback(thread))
	end
end

local function schedule(at, thread, args)
	seq += 1
	local entry = { at = at, seq = seq, thread = thread, args = args }
	local lo, hi = 1, #timers
	while lo <= hi do
		local mid = (lo + hi) // 2
		if timers[mid].at <= at then
			lo = mid + 1
		else
			hi = mid - 1
		end
	end
	table.insert(timers, lo, entry)
	pending[thread] = entry
	return entry
end

local function asThread(fn)
	if type(fn) == "thread" then
		return fn
	elseif type(fn) == "function" then
		return coroutine.create(fn)
	end
	error("task: expected a function or a thread, got " .. typeof(fn), 3)
end

task = {}

function task.spawn(fn, ...)
	local thread = asThread(fn)
	pending[thread] = nil
	resume(thread, ...)
	return thread
end

function task.defer(fn, ...)
	local thread = asThread(fn)
	table.insert(deferred, { thread = thread, args = table.pack(...) })
	return thread
end

function task.delay(seconds, fn, ...)
	local thread = asThread(fn)
	schedule(now() + math.max(tonumber(seconds) or 0, 0), thread, table.pack(...))
	return thread
end

function task.wait(seconds)
	local started = now()
	schedule(started + math.max(tonumber(seconds) or 0, FRAME), coroutine.running(), { n = 0 })
	coroutine.yield()
	return now() - started
end

function task.cancel(thread)
	pending[thread] = nil
	if coroutine.status(thread) == "suspended" then
		coroutine.close(thread)
	elseif coroutine.status(thread) ~= "dead" then
		error("cannot cancel a running thread", 2)
	end
end

wait = task.wait
spawn = task.defer
delay = task.delay

local harness = {}

-- Runs deferred threads and timers due now; returns the next timer's time and whether work is queued.
function harness.step()
	local batch = deferred
	deferred = {}
	for _, entry in ipairs(batch) do
		resume(entry.thread, table.unpack(entry.args, 1, entry.args.n))
	end
	local t = now()
	local due = {}
	while #timers > 0 and timers[1].at <= t do
		table.insert(due, table.remove(timers, 1))
	end
	for _, entry in ipairs(due) do
		if pending[entry.thread] == entry then
			pending[entry.thread] = nil
			resume(entry.thread, table.unpack(entry.args, 1, entry.args.n))
		end
	end
	return if #timers > 0 then timers[1].at else nil, #deferred > 0
end

function harness.spawn(fn, ...)
	return task.spawn(fn, ...)
end

-- ------------------------------------------------------------ executor events and WebSocket
local function newEvent(lowercase)
	local handlers = {}
	local event = {}
	local function connect(_, fn)
		local connection = { Connected = true }
		table.insert(handlers, connection)
		connection.fn = fn
		local function disconnect()
			connection.Connected = false
		end
		if lowercase then
			connection.disconnect = disconnect
		else
			connection.Disconnect = disconnect
		end
		return connection
	end
	if lowercase then
		event.connect = connect
	else
		event.Connect = connect
	end
	local function fire(...)
		for _, connection in ipairs(table.clone(handlers)) do
			if connection.Connected then
				task.spawn(connection.fn, ...)
			end
		end
	end
	return event, fire
end

-- Executor objects are strict like Roblox userdata: reading an unknown member raises.
local function strict(object, kind)
	return setmetatable(object, {
		__index = function(_, key)
			error(tostring(key) .. " is not a valid member of " .. kind, 2)
		end,
	})
end

local sockets = {}
local style = py.style

local function makeSocket(handle)
	local lowercase = style == "lowercase"
	local onMessage, fireMessage = newEvent(lowercase)
	local onClose, fireClose = newEvent(lowercase)
	local socket = {}
	local function send(_, text)
		py.ws_send(handle, text)
	end
	local function close(_)
		py.ws_close(handle)
	end
	if lowercase then
		socket.send, socket.close = send, close
	else
		socket.Send, socket.Close = send, close
	end
	socket.OnMessage = onMessage
	if style ~= "no_onclose" then
		socket.OnClose = onClose
	end
	sockets[handle] = { fireMessage = fireMessage, fireClose = fireClose, closed = false }
	return strict(socket, "WebSocket")
end

local function connectSocket(url)
	if type(url) ~= "string" then
		error("WebSocket.connect: url must be a string", 2)
	end
	local handle = py.ws_open(url)
	ioWaiters[handle] = coroutine.running()
	local ok, err = coroutine.yield()
	if not ok then
		error(err, 2)
	end
	return makeSocket(handle)
end

function harness.io_open(handle, ok, err)
	local thread = ioWaiters[handle]
	ioWaiters[handle] = nil
	if thread ~= nil then
		resume(thread, ok, err)
	end
end

function harness.io_message(handle, text)
	local socket = sockets[handle]
	if socket ~= nil and not socket.closed then
		socket.fireMessage(text)
	end
end

function harness.io_close(handle)
	local socket = sockets[handle]
	if socket ~= nil and not socket.closed then
		socket.closed = true
		socket.fireClose()
	end
end

local library = { connect = connectSocket }
if style == "unc" or style == "no_onclose" then
	WebSocket = library
elseif style == "syn" then
	syn = { websocket = library }
elseif style == "krnl" then
	Krnl = { WebSocket = library }
elseif style == "new" then
	WebSocket = { new = connectSocket }
elseif style == "lowercase" then
	websocket = library
end

-- ------------------------------------------------------------ game, services, require
local HttpService = {}
function HttpService:JSONEncode(value)
	return py.json_encode(value)
end
function HttpService:JSONDecode(text)
	return py.json_decode(text)
end
HttpService = strict(HttpService, "HttpService")

local Players = strict({ LocalPlayer = { UserId = py.user_id, Name = "Player1" } }, "Players")
local ReplicatedStorage = {
	SessionRelay = { ClassName = "ModuleScript", Name = "SessionRelay" },
}

game = {
	PlaceId = py.place_id,
	JobId = py.job_id,
	Players = Players,
	ReplicatedStorage = ReplicatedStorage,
}
function game:GetService(name)
	if name == "HttpService" then
		return HttpService
	elseif name == "Players" then
		return Players
	elseif name == "ReplicatedStorage" then
		return ReplicatedStorage
	end
	error(tostring(name) .. " is not a valid Service name", 2)
end
function game:HttpGet(url)
	return py.http_get(url)
end
game.HttpGetAsync = game.HttpGet
game = strict(game, "DataModel")

local modules = {}
function require(module)
	if type(module) ~= "table" or module.ClassName ~= "ModuleScript" then
		error("Attempted to call require with invalid argument(s).", 2)
	end
	if modules[module] == nil then
		local chunk = assert(loadstring(py.module_source(module.Name), "=" .. module.Name))
		local result = chunk()
		if result == nil then
			error("Module code did not return exactly one value", 2)
		end
		modules[module] = result
	end
	return modules[module]
end

local function joined(...)
	local parts = table.pack(...)
	for index = 1, parts.n do
		parts[index] = tostring(parts[index])
	end
	return table.concat(parts, "\t", 1, parts.n)
end
function print(...)
	py.output("print", joined(...))
end
function warn(...)
	py.output("warn", joined(...))
end

return harness
"""


class LuauError(Exception):
    """An error raised by the JSON functions, surfaced in Luau as an error value."""


@dataclass
class Frame:
    handle: int
    at: float  # virtual seconds
    text: str

    def json(self) -> Any:
        return json.loads(self.text)


@dataclass
class SocketRecord:
    handle: int
    url: str
    opened_at: float
    state: str = "connecting"  # connecting -> open -> closing -> closed, or failed
    error: str | None = None
    close_code: int | None = None
    muted: bool = False
    outbox: asyncio.Queue = field(default_factory=asyncio.Queue)
    socket: Any = None


class LuauHarness:
    """One Luau VM playing a Roblox executor. Use from one thread; ``close()`` when done."""

    def __init__(
        self,
        *,
        websocket_style: str = "unc",
        user_id: int = 10234711811,
        place_id: int = 606849621,
        job_id: str = "job-luau",
    ) -> None:
        if websocket_style not in WEBSOCKET_STYLES:
            raise ValueError(f"unknown websocket style {websocket_style!r}")
        self.lua = pluau.Lua()
        self._t0 = time.monotonic()
        self._offset = 0.0
        self._events: queue.SimpleQueue = queue.SimpleQueue()
        self._pages: dict[str, str] = {}
        self.http_gets: list[str] = []
        self._next_handle = 0
        self.sockets: dict[int, SocketRecord] = {}
        self.errors: list[str] = []
        self.output: list[tuple[str, str]] = []
        self.sent: list[Frame] = []
        self.received: list[Frame] = []
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True, name="luau-sockets")
        self._thread.start()
        self._workers = ThreadPoolExecutor(max_workers=8, thread_name_prefix="luau-rest")
        bindings = self._table(
            {
                "now": self._fn(lambda: self.now()),
                "report_error": self._fn(self._report_error),
                "output": self._fn(self._output),
                "ws_open": self._fn(self._ws_open),
                "ws_send": self._fn(self._ws_send),
                "ws_close": self._fn(self._ws_close),
                "json_encode": self._fn(self._json_encode),
                "json_decode": self._fn(self._json_decode),
                "http_get": self._fn(self._http_get),
                "module_source": self._fn(lambda _name: CLIENT_PATH.read_text()),
                "style": websocket_style,
                "user_id": user_id,
                "place_id": place_id,
                "job_id": job_id,
            }
        )
        (self._harness,) = self.lua.load_chunk(PRELUDE, name="=harness")(bindings)

    # ------------------------------------------------------------ clock and loop

    def now(self) -> float:
        """Virtual seconds since the harness started."""
        return time.monotonic() - self._t0 + self._offset

    def advance(self, seconds: float) -> None:
        """Move the virtual clock forward and run whatever became due."""
        self._offset += seconds
        self.pump()

    def pump(self) -> float | None:
        """Deliver queued socket events, then run deferred threads and due timers.

        Returns the virtual time of the next timer, if any."""
        next_at = None
        for _ in range(100):
            self._drain_events()
            next_at, busy = self._harness.get("step")()
            if not busy and self._events.empty():
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
                self._handle_event(self._events.get(timeout=block))

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

    def exec(self, source: str, name: str = "test", **values: Any) -> None:
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

    # ------------------------------------------------------------ conversions

    def to_lua(self, value: Any) -> Any:
        if isinstance(value, dict):
            table = self.lua.create_table()
            for key, item in value.items():
                table.raw_set(self.to_lua(key), self.to_lua(item))
            return table
        if isinstance(value, list | tuple):
            table = self.lua.create_table()
            for index, item in enumerate(value, start=1):
                if item is not None:
                    table.raw_set(index, self.to_lua(item))
            return table
        if isinstance(value, int) and not isinstance(value, bool) and not -(2**63) <= value < 2**63:
            return float(value)
        return value

    def to_python(self, value: Any) -> Any:
        if isinstance(value, pluau.String):
            return value.as_bytes().decode("utf-8", errors="surrogateescape")
        if isinstance(value, pluau.Table):
            pairs = [(self.to_python(k), self.to_python(v)) for k, v in value]
            keys = [k for k, _ in pairs]
            if (
                keys
                and all(isinstance(k, int) for k in keys)
                and sorted(keys) == list(range(1, len(keys) + 1))
            ):
                return [v for _, v in sorted(pairs)]
            return dict(pairs)
        return value

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

    def _text(self, value: Any) -> str:
        if isinstance(value, pluau.String):
            try:
                return value.as_bytes().decode("utf-8")
            except UnicodeDecodeError as exc:
                raise LuauError("text is not valid UTF-8") from exc
        if isinstance(value, str):
            return value
        raise LuauError(f"expected a string, got {type(value).__name__}")

    # ------------------------------------------------------------ HttpService JSON (Roblox's rules)

    def _json_encode(self, value: Any) -> str:
        return self._encode(value, set())

    def _encode(self, value: Any, stack: set[int]) -> str:
        if value is None:
            return "null"
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int):
            return str(value)
        if isinstance(value, float):
            if math.isnan(value):
                return "nan"  # Roblox emits these as they are: not JSON
            if math.isinf(value):
                return "inf" if value > 0 else "-inf"
            if value.is_integer() and abs(value) < 1e16:
                return str(int(value))
            return repr(value)
        if isinstance(value, pluau.String | str):
            try:
                text = self._text(value)
            except LuauError as exc:
                raise LuauError("Can't convert to JSON: " + str(exc)) from exc
            return json.dumps(text, ensure_ascii=False)
        if isinstance(value, pluau.Table):
            if value.pointer in stack:
                raise LuauError("Can't convert to JSON: tables cannot be cyclic")
            stack.add(value.pointer)
            try:
                return self._encode_table(value, stack)
            finally:
                stack.discard(value.pointer)
        raise LuauError(f"Can't convert to JSON: {type(value).__name__} values are not supported")

    def _encode_table(self, table: pluau.Table, stack: set[int]) -> str:
        pairs = list(table)
        if not pairs:
            return "[]"
        keys = [key for key, _ in pairs]
        if any(not isinstance(key, int | float | pluau.String) or isinstance(key, bool) for key in keys):
            raise LuauError("Can't convert to JSON: keys must be strings or numbers")
        if any(isinstance(key, int | float) for key in keys):
            # Documented: an array takes priority and string keys are ignored. Like Roblox, the
            # array ends at the first nil.
            items = []
            index = 1
            while (item := table.raw_get(index)) is not None:
                items.append(self._encode(item, stack))
                index += 1
            return "[" + ",".join(items) + "]"
        members = [f"{self._encode(key, stack)}:{self._encode(item, stack)}" for key, item in pairs]
        return "{" + ",".join(members) + "}"

    def _json_decode(self, text: Any) -> Any:
        def reject(name: str) -> Any:
            raise LuauError(f"Can't parse JSON: {name}")

        try:
            document = json.loads(self._text(text), parse_constant=reject)
        except ValueError as exc:
            raise LuauError("Can't parse JSON") from exc
        return self.to_lua(document)

    # ------------------------------------------------------------ game:HttpGet

    def _http_get(self, url: Any) -> str:
        url = self._text(url)
        self.http_gets.append(url)
        if url not in self._pages:
            raise LuauError(f"HttpGet: 404 Not Found ({url})")
        return self._pages[url]

    # ------------------------------------------------------------ sockets

    def _ws_open(self, url: Any) -> int:
        self._next_handle += 1
        handle = self._next_handle
        record = SocketRecord(handle=handle, url=self._text(url), opened_at=self.now())
        self.sockets[handle] = record
        asyncio.run_coroutine_threadsafe(self._socket_main(record), self._loop)
        return handle

    def _ws_send(self, handle: int, text: Any) -> None:
        record = self.sockets[handle]
        if record.state != "open":
            raise LuauError("WebSocket is not open")
        text = self._text(text)
        self.sent.append(Frame(handle, self.now(), text))
        self._loop.call_soon_threadsafe(record.outbox.put_nowait, text)

    def _ws_close(self, handle: int) -> None:
        record = self.sockets[handle]
        if record.state == "open":
            record.state = "closing"
            self._loop.call_soon_threadsafe(record.outbox.put_nowait, None)

    async def _socket_main(self, record: SocketRecord) -> None:
        try:
            socket = await websocket_connect(
                record.url, max_size=None, ping_interval=None, open_timeout=10, close_timeout=2
            )
        except Exception as exc:
            self._events.put(("open", record.handle, False, f"WebSocket connection failed: {exc}"))
            return
        record.socket = socket
        self._events.put(("open", record.handle, True, None))
        writer = asyncio.create_task(self._socket_writer(record))
        try:
            async for message in socket:
                self._events.put(("message", record.handle, message))
        except websockets.ConnectionClosed:
            pass
        finally:
            writer.cancel()
            self._events.put(("close", record.handle, socket.close_code, None))

    async def _socket_writer(self, record: SocketRecord) -> None:
        while True:
            text = await record.outbox.get()
            try:
                if text is None:
                    await record.socket.close()
                    return
                await record.socket.send(text)
            except websockets.ConnectionClosed:
                return

    def _drain_events(self) -> None:
        while True:
            try:
                event = self._events.get_nowait()
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

    def mute(self, handle: int) -> None:
        """Stop delivering this socket's frames to Luau (a half-open connection)."""
        self.sockets[handle].muted = True

    def _output(self, kind: Any, text: Any) -> None:
        self.output.append((self.to_python(kind), self.to_python(text)))

    def _report_error(self, message: Any, traceback: Any) -> None:
        self.errors.append(f"{self.to_python(message)}\n{self.to_python(traceback)}")

    # ------------------------------------------------------------ what happened

    def frames_sent(self, handle: int | None = None) -> list[Any]:
        return [frame.json() for frame in self.sent if handle is None or frame.handle == handle]

    def frames_received(self, handle: int | None = None) -> list[Any]:
        return [frame.json() for frame in self.received if handle is None or frame.handle == handle]

    def open_sockets(self) -> list[SocketRecord]:
        return [record for record in self.sockets.values() if record.state == "open"]

    def logs(self) -> list[str]:
        return [text for _kind, text in self.output]

    def close(self) -> None:
        """Close every socket and stop the background thread."""

        async def close_all() -> None:
            sockets = [record.socket for record in self.sockets.values() if record.socket is not None]
            await asyncio.gather(*(socket.close() for socket in sockets), return_exceptions=True)
            others = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
            for task in others:
                task.cancel()
            await asyncio.gather(*others, return_exceptions=True)

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(close_all(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._workers.shutdown(wait=False, cancel_futures=True)
