"""A quiet, complete stop for the local stack's ASGI apps.

``Draining(app)`` counts the calls in progress. When the stack stops, ``drain()`` refuses new
WebSocket handshakes and waits for the calls still running (each closing connection's
``$disconnect``) to finish, so every session of a closed connection is forgotten. A call that is
still running when the servers give up (a REST call waiting for a reply) ends without a traceback:
during a stop, its cancellation is the expected outcome, not an error.
"""

import asyncio
import contextlib
import logging
from typing import Any

from session_relay_tools.local.rest_gateway import Receive, Send


class _AbandonedCallsAreExpected(logging.Filter):
    """uvicorn reports the calls it cancels at the end of a stop as an error; here they are expected."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "timeout graceful shutdown exceeded" not in record.getMessage()


class Draining:
    """Wraps an ASGI app; see the module docstring."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.running = 0
        self.stopping = False
        self._idle = asyncio.Event()
        self._idle.set()

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if self.stopping and scope["type"] == "websocket":
            await receive()  # the connect event; then refuse the handshake (a 403, as uvicorn sends it)
            await send({"type": "websocket.close", "code": 1001})
            return
        self.running += 1
        self._idle.clear()
        try:
            await self.app(scope, receive, send)
        except asyncio.CancelledError:
            if not self.stopping:
                raise
        finally:
            self.running -= 1
            if not self.running:
                self._idle.set()

    def stop(self) -> None:
        """From now on, refuse new WebSocket handshakes and end abandoned calls quietly."""
        if not self.stopping:
            logging.getLogger("uvicorn.error").addFilter(_AbandonedCallsAreExpected())
        self.stopping = True

    async def drain(self, timeout_s: float) -> int:
        """Stop, then wait up to ``timeout_s`` for the calls in progress; returns how many are left."""
        self.stop()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), timeout_s)
        return self.running
