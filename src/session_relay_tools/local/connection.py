"""One client connection of the local WebSocket API: its id (as API Gateway makes them), when it opened
and was last active, and sending to or closing it (safe against a peer that already left)."""

import asyncio
import contextlib
import secrets
import time
from dataclasses import dataclass, field

from session_relay_tools.local.rest_gateway import Send


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
