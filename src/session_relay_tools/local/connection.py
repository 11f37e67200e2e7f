"""One client connection of the local WebSocket API: its id (as API Gateway makes them), when it opened
and was last active, and sending to or closing it (safe against a peer that already left)."""

import asyncio
import contextlib
import secrets
import time
from dataclasses import dataclass, field

from session_relay_tools.local.rest_gateway import Send

# Longer than any route's function may run (the template's timeouts): a bound, never reached in practice.
FRAMES_BEFORE_DISCONNECT_S = 30.0


def new_connection_id() -> str:
    # API Gateway ids are short, opaque and URL-unfriendly ("L0SM9cOFvHcCIhw="); ours end in "=" too.
    return secrets.token_urlsafe(10) + "="


@dataclass
class Connection:
    connection_id: str
    send: Send
    source_ip: str
    user_agent: str | None
    connected_at: float = field(default_factory=time.time)
    last_active: float = field(default_factory=time.time)
    open: bool = True
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    frames: set[asyncio.Task] = field(default_factory=set)

    def track(self, frame: asyncio.Task) -> None:
        """A route invocation of one of this connection's frames, until it ends."""
        self.frames.add(frame)
        frame.add_done_callback(self.frames.discard)

    async def frames_done(self, timeout_s: float = FRAMES_BEFORE_DISCONNECT_S) -> None:
        """Wait until the frames the client sent before it closed have been handled (at most
        ``timeout_s``): API Gateway received them before the close, so their routes run before
        ``$disconnect`` (a reply sent just before a close still reaches its caller)."""
        if self.frames:
            await asyncio.wait(set(self.frames), timeout=timeout_s)

    async def send_text(self, text: str) -> bool:
        async with self.lock:
            if not self.open:
                return False
            try:
                await self.send({"type": "websocket.send", "text": text})
            except Exception:
                self.open = False
                return False
            return True

    async def close(self, code: int = 1000) -> None:
        async with self.lock:
            if self.open:
                self.open = False
                with contextlib.suppress(Exception):  # already closed by the peer
                    await self.send({"type": "websocket.close", "code": code})
