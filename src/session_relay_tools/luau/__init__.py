"""``clients/luau/SessionRelay.lua`` in a real Luau VM outside Roblox, with what an executor gives a
script (``task``, ``WebSocket``, ``HttpService``, ``game``).

    python -m session_relay_tools.luau --script-id demo   (against make dev; Ctrl-C stops it)
"""

from session_relay_tools.luau.executor import (
    CLIENT_PATH,
    FRAME_LIMIT_BYTES,
    WEBSOCKET_STYLES,
    LuauExecutor,
    prelude,
)
from session_relay_tools.luau.sockets import Frame, SocketRecord
from session_relay_tools.luau.values import LuauError

__all__ = [
    "CLIENT_PATH",
    "FRAME_LIMIT_BYTES",
    "WEBSOCKET_STYLES",
    "Frame",
    "LuauError",
    "LuauExecutor",
    "SocketRecord",
    "prelude",
]
