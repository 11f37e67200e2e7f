"""What the local tests' handlers saw (the event source mappings' per function, the WebSocket routes'
in order): kept outside the handlers' folder, so every execution environment of a function (each
importing the handlers' module for itself) records into the same place."""

import threading

EVENTS: dict[str, list[dict]] = {}
PEAK: dict[str, int] = {}
# (route key, connection id) of every WebSocket invocation that ran to its end, in order.
WEBSOCKET_CALLS: list[tuple[str, str]] = []
_running: dict[str, int] = {}
_lock = threading.Lock()


def enter(function: str, event: dict) -> None:
    """An invocation of ``function`` with ``event`` began."""
    with _lock:
        EVENTS.setdefault(function, []).append(event)
        _running[function] = _running.get(function, 0) + 1
        PEAK[function] = max(PEAK.get(function, 0), _running[function])


def leave(function: str) -> None:
    with _lock:
        _running[function] -= 1


def reset() -> None:
    with _lock:
        EVENTS.clear()
        PEAK.clear()
        _running.clear()
        WEBSOCKET_CALLS.clear()


class Seen:
    """One function's records: ``events`` (every event received, in order) and ``peak`` (the most
    invocations that ran at once)."""

    def __init__(self, function: str) -> None:
        self.function = function

    @property
    def events(self) -> list[dict]:
        with _lock:
            return EVENTS.setdefault(self.function, [])

    @property
    def peak(self) -> int:
        return PEAK.get(self.function, 0)
