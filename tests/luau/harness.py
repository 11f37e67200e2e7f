"""The executor stand-in of ``session_relay_tools.luau`` with what only tests need: a *virtual clock*
that ``advance()`` moves forward (so pings, backoff and the 2-hour rotation are tested without
waiting), half-open sockets (``mute``), and the frames of one socket as JSON."""

from typing import Any

from session_relay import FRAME_LIMIT_BYTES

from session_relay_tools.luau.executor import CLIENT_PATH, WEBSOCKET_STYLES, LuauExecutor

__all__ = ["CLIENT_PATH", "FRAME_LIMIT_BYTES", "WEBSOCKET_STYLES", "LuauHarness"]


class LuauHarness(LuauExecutor):
    """One Luau VM playing a Roblox executor, for tests. Use from one thread; ``close()`` when done."""

    def advance(self, seconds: float) -> None:
        """Move the virtual clock forward and run whatever became due."""
        self._offset += seconds
        self.pump()

    def mute(self, handle: int) -> None:
        """Stop delivering this socket's frames to Luau (a half-open connection)."""
        self.sockets[handle].muted = True

    def frames_sent(self, handle: int | None = None) -> list[Any]:
        return [frame.json() for frame in self.sent if handle is None or frame.handle == handle]

    def frames_received(self, handle: int | None = None) -> list[Any]:
        return [frame.json() for frame in self.received if handle is None or frame.handle == handle]
