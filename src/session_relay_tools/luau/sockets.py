"""The executor's ``WebSocket`` bridged to real sockets: the ``websockets`` library on an asyncio loop
in a background thread. Incoming frames and closes are queued as events for the executor's loop,
so Luau only ever runs on the executor's own thread."""

import asyncio
import contextlib
import json
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import websockets
from websockets.asyncio.client import connect as websocket_connect

from session_relay_tools.luau.values import LuauError


@dataclass
class Frame:
    handle: int
    at: float  # the executor's clock, in seconds
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


class SocketBridge:
    """Opens, feeds and closes real WebSocket connections; ``events`` says what happened to them:
    ``("open", handle, ok, error)``, ``("message", handle, text)``, ``("close", handle, code, None)``."""

    def __init__(self, now: Callable[[], float]) -> None:
        self.now = now
        self.events: queue.SimpleQueue = queue.SimpleQueue()
        self.sockets: dict[int, SocketRecord] = {}
        self.sent: list[Frame] = []
        self.received: list[Frame] = []
        self._next_handle = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True, name="luau-sockets")
        self._thread.start()

    def open(self, url: str) -> int:
        self._next_handle += 1
        handle = self._next_handle
        record = SocketRecord(handle=handle, url=url, opened_at=self.now())
        self.sockets[handle] = record
        asyncio.run_coroutine_threadsafe(self._socket_main(record), self._loop)
        return handle

    def send(self, handle: int, text: str) -> None:
        record = self.sockets[handle]
        if record.state != "open":
            raise LuauError("WebSocket is not open")
        self.sent.append(Frame(handle, self.now(), text))
        self._loop.call_soon_threadsafe(record.outbox.put_nowait, text)

    def close(self, handle: int) -> None:
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
            self.events.put(("open", record.handle, False, f"WebSocket connection failed: {exc}"))
            return
        record.socket = socket
        self.events.put(("open", record.handle, True, None))
        writer = asyncio.create_task(self._socket_writer(record))
        try:
            async for message in socket:
                self.events.put(("message", record.handle, message))
        except websockets.ConnectionClosed:
            pass
        finally:
            writer.cancel()
            self.events.put(("close", record.handle, socket.close_code, None))

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

    def shutdown(self) -> None:
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
