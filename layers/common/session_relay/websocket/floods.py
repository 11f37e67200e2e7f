"""Per-connection frame rate on the ``$default`` route (PROTOCOL.md section 2, "too many frames"): a token
bucket per connection, timed by when the gateway received each frame. A reply the server accepts never
takes a token. Kept per execution environment (``frames.Kept``, held by the ``$default`` function's entry
module); why, and what that means on AWS: docs/design.md, "Floods".
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

ADMIT, EMPTY, CLOSED = "admit", "empty", "closed"
FLOOD = "flood"  # ``admit``'s answer for a frame that found the bucket empty (and closed the connection)


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

    def take(self, connection_id: str, arrived_s: float | None = None) -> str:
        """``ADMIT`` (a token taken), ``EMPTY`` (no token left: nothing changes, the caller decides
        whether to ``close``) or ``CLOSED`` (this container closed it already: drop the frame).

        ``arrived_s`` is when the gateway received the frame (the event's ``requestTimeEpoch``):
        the rate is the client's sending rate, however long frames wait to be handled."""
        now = self.clock() if arrived_s is None else arrived_s
        with self._lock:
            if connection_id in self._closed:
                return CLOSED
            tokens, last = self._buckets.pop(connection_id, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + max(0.0, now - last) * self.rate)
            now = max(now, last)  # frames handled out of order never refill the bucket twice
            taken = tokens >= 1
            self._buckets[connection_id] = (tokens - 1 if taken else tokens, now)
            _bound(self._buckets)
            return ADMIT if taken else EMPTY

    def close(self, connection_id: str) -> bool:
        """Mark the connection closed for flooding; True for the one call that did (it tells the client)."""
        with self._lock:
            if connection_id in self._closed:
                return False
            self._buckets.pop(connection_id, None)
            self._closed[connection_id] = None
            _bound(self._closed)
            return True

    def admit(self, connection_id: str, arrived_s: float | None = None) -> str:
        """``take``, closing the connection when the bucket is empty: ``ADMIT``, ``FLOOD`` or ``CLOSED``."""
        verdict = self.take(connection_id, arrived_s)
        if verdict != EMPTY:
            return verdict
        return FLOOD if self.close(connection_id) else CLOSED

    def is_closed(self, connection_id: str) -> bool:
        with self._lock:
            return connection_id in self._closed

    def retry_close(self, connection_id: str) -> None:
        """The close failed: the next frame finds the bucket empty again and tries once more."""
        with self._lock:
            self._closed.pop(connection_id, None)
            self._buckets[connection_id] = (0.0, self.clock())


def _bound(table: OrderedDict) -> None:
    while len(table) > _TRACKED:
        table.popitem(last=False)
