"""Per-connection frame rate on the ``$default`` route (PROTOCOL.md section 2, "too many frames"): a token
bucket per connection, timed by when the gateway received each frame; a reply the server accepted gives
its token back. Kept per execution environment; why, and what that means on AWS: docs/design.md, "Floods".
"""

import threading
import time
from collections import OrderedDict
from collections.abc import Callable

RATE = 20.0
"""Frames per second a connection may send, sustained (the contract asks room for at least 20).
Replies the server accepted do not count: they answer messages the server sent."""
BURST = 30
"""Frames a connection may send at once beyond the sustained rate."""
FLOOD_REASON = "too many frames"
_TRACKED = 20_000  # connections remembered per container (least recently seen forgotten first)

ADMIT, FLOOD, CLOSED = "admit", "flood", "closed"


class FrameRate:
    """Token buckets by connection id, and the connections this container closed for flooding."""

    def __init__(
        self, rate: float = RATE, burst: int = BURST, clock: Callable[[], float] = time.time
    ) -> None:
        self.rate = rate
        self.burst = burst
        self.clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._closed: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()

    def admit(self, connection_id: str, arrived_s: float | None = None) -> str:
        """``ADMIT`` the frame, or ``FLOOD`` (the bucket is empty: close the connection now), or
        ``CLOSED`` (this container closed it already: drop the frame).

        ``arrived_s`` is when the gateway received the frame (the event's ``requestTimeEpoch``):
        the rate is the client's sending rate, however long frames wait to be handled."""
        now = self.clock() if arrived_s is None else arrived_s
        with self._lock:
            if connection_id in self._closed:
                return CLOSED
            tokens, last = self._buckets.pop(connection_id, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + max(0.0, now - last) * self.rate)
            now = max(now, last)  # frames handled out of order never refill the bucket twice
            if tokens < 1:
                self._closed[connection_id] = None
                _bound(self._closed)
                return FLOOD
            self._buckets[connection_id] = (tokens - 1, now)
            _bound(self._buckets)
            return ADMIT

    def is_closed(self, connection_id: str) -> bool:
        with self._lock:
            return connection_id in self._closed

    def refund(self, connection_id: str) -> None:
        """The frame was a reply the server asked for and accepted: it does not count."""
        with self._lock:
            if connection_id in self._buckets:
                tokens, last = self._buckets[connection_id]
                self._buckets[connection_id] = (min(float(self.burst), tokens + 1), last)

    def retry_close(self, connection_id: str) -> None:
        """The close failed: the next frame finds the bucket empty again and tries once more."""
        with self._lock:
            self._closed.pop(connection_id, None)
            self._buckets[connection_id] = (0.0, self.clock())


def _bound(table: OrderedDict) -> None:
    while len(table) > _TRACKED:
        table.popitem(last=False)


frame_rate = FrameRate()
"""The container's frame rate limiter (one per execution environment)."""
