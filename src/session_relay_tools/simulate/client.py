"""One simulated executor client speaking PROTOCOL.md section 2, and the demo functions it answers.

``echo`` returns ``data``, ``sleep`` waits ``data`` seconds and returns it, ``error`` raises with
``data`` as the message, ``invalid`` returns NaN (which cannot be sent as JSON); any other key is
answered ``function doesnt exist``. Each client declares the functions it answers (PROTOCOL.md
section 2, ``functions``) right after its ``hello``.
"""

import asyncio
import contextlib
import json
import math
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlencode

import websockets
from session_relay import FRAME_LIMIT_BYTES
from websockets.exceptions import InvalidStatus

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
    """One executor session. ``run()`` until ``stop()``; ``session_id`` is set after hello.

    ``hello`` is set once the server has answered both the hello and the declaration of the
    functions (so a message sent then finds them declared), or once the connection ended."""

    def __init__(
        self,
        url: str,
        identity: dict[str, Any],
        functions: dict[str, Function] | None = None,
        ping_interval_s: float = PING_INTERVAL_S,
        declare: bool = True,
    ) -> None:
        self.url = f"{url.rstrip('/')}?{urlencode(identity)}"
        self.identity = identity
        self.functions = DEMO_FUNCTIONS if functions is None else functions
        self.ping_interval_s = ping_interval_s
        self.declare = declare
        self.declared: int | None = None  # the count the server confirmed
        self._declaration_answered = not declare
        self.session: dict[str, Any] | None = None
        self.hello = asyncio.Event()
        self.closed = asyncio.Event()
        self.received: list[dict[str, Any]] = []
        self.received_at: list[float] = []  # time.monotonic() of each frame of ``received``
        self.last_message_at: float | None = None  # time.monotonic() of the latest message frame
        self.handled = 0
        self.error: BaseException | None = None
        self.disconnect_reason: str | None = None
        self.close_code: int | None = None
        self._socket: Any = None
        self._answers: set[asyncio.Task[None]] = set()

    @property
    def session_id(self) -> str | None:
        return None if self.session is None else self.session["id"]

    async def run(self) -> None:
        """Connect and answer until the connection ends; raises what refused or broke it."""
        try:
            async with websockets.connect(self.url, max_size=None, ping_interval=None) as socket:
                self._socket = socket
                await socket.send(json.dumps({"action": "hello"}))
                if self.declare:
                    names = sorted(self.functions)
                    await socket.send(json.dumps({"action": "functions", "names": names}))
                pinger = asyncio.create_task(self._ping(socket))
                try:
                    async for text in socket:
                        await self._on_frame(socket, json.loads(text))
                finally:
                    pinger.cancel()
                    for answer in list(self._answers):  # a function still running has nobody to answer
                        answer.cancel()
                    self.close_code = socket.close_code
        except BaseException as exc:
            self.error = exc
            raise
        finally:
            self.closed.set()
            self.hello.set()  # never leave a waiter hanging on a refused or dropped connection

    async def _ping(self, socket: Any) -> None:
        while True:
            await asyncio.sleep(self.ping_interval_s)
            await socket.send(json.dumps({"action": "ping"}))

    async def _on_frame(self, socket: Any, frame: dict[str, Any]) -> None:
        self.received_at.append(time.monotonic())
        self.received.append(frame)
        kind = frame.get("type")
        if kind == "message":
            self.last_message_at = time.monotonic()
            answer = asyncio.create_task(self._answer(socket, frame))
            self._answers.add(answer)
            answer.add_done_callback(self._answers.discard)
        elif kind == "disconnect":
            self.disconnect_reason = str(frame.get("reason") or "")
            await socket.close()
        else:
            self._on_handshake_frame(kind, frame)

    def _on_handshake_frame(self, kind: Any, frame: dict[str, Any]) -> None:
        """The hello, the declaration's answer, or an error frame (a server that does not know the
        ``functions`` action answers the declaration with one: nothing more to wait for)."""
        if kind == "hello":
            self.session = frame["session"]
        elif kind == "functions":
            self.declared = frame.get("count")
            self._declaration_answered = True
        elif kind == "error":
            self._declaration_answered = True
        if self.session is not None and self._declaration_answered:
            self.hello.set()

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

    def ending(self) -> str:
        """Why the connection ended (or was never opened), in words."""
        if self.disconnect_reason is not None:
            return f"disconnected by the server: {self.disconnect_reason or 'no reason given'}"
        if self.error is not None and self.session is None:
            return f"refused: {describe_refusal(self.error)}"
        if self.error is not None and not isinstance(self.error, asyncio.CancelledError):
            return f"connection lost: {self.error}"
        return f"connection closed (code {self.close_code})"


def describe_refusal(error: BaseException) -> str:
    """A refused or failed handshake as the user needs it: the HTTP status and the server's reason."""
    if isinstance(error, InvalidStatus):
        response = error.response
        reason = bytes(response.body or b"").decode("utf-8", "replace").strip() or response.reason_phrase
        return f"HTTP {response.status_code}: {reason}"
    if isinstance(error, OSError):
        return f"cannot connect ({error.strerror or error})"
    if isinstance(error, TimeoutError):
        return "the handshake timed out"
    return str(error) or type(error).__name__


def identity_for(script_id: str, index: int, place_id: int = 606849621, job_id: str = "job-local") -> dict:
    return {
        "script_id": script_id,
        "user_key": f"user-{index}",
        "roblox_id": 10_000_000 + index,
        "place_id": place_id,
        "job_id": job_id,
    }
