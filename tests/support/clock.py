"""Time for the harness: real time, or a virtual clock that advances only when the code under test
sleeps, so that timing is asserted in virtual seconds, the same on a loaded machine as on an idle one.

Simulated clients take part: each is *busy* from the moment a frame is posted to it until it is done
or sleeps, and a client's sleep *parks* it until virtual time reaches its wake-up. When the code under
test sleeps (``Messaging``'s injected ``sleep``), the clock first waits, in real time, until no client
is busy, then moves to each parked client's wake-up in turn (and lets it run), and finally to the end
of the sleep. So a client with ``delay_s = 0.3`` replies exactly 0.3 virtual seconds after its frame
was posted, however long the machine takes, and the caller's poll sees the reply at its next poll.
"""

import heapq
import itertools
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial

import pytest
from session_relay import clock as product_clock
from session_relay.service import wiring

MICROS = 1_000_000
# How long, in real seconds, a sleep waits for busy simulated clients before the test fails.
REAL_PATIENCE_S = 30.0


class RealTime:
    """Wall-clock time: sleeping really sleeps, simulated clients run as they please."""

    monotonic = staticmethod(time.monotonic)
    sleep = staticmethod(time.sleep)

    @staticmethod
    def epoch_s() -> float:
        return time.time()

    def began(self) -> None:
        """A simulated client was handed work (nothing to track in real time)."""

    @contextmanager
    def working(self) -> Iterator[None]:
        yield

    def run_until_idle(self) -> None:
        """Nothing to run: real clients finish on their own."""


@dataclass(order=True)
class _Parked:
    wake_us: int
    order: int
    woken: bool = field(default=False, compare=False)


class VirtualClock:
    """Monotonic and epoch time that advance only when the code under test sleeps.

    Time is kept in whole microseconds: ``since(mark)`` is exact, so a wait of 0.4 s measures 0.4.
    """

    def __init__(self, start_epoch_s: float | None = None) -> None:
        self._cond = threading.Condition()
        self._now_us = 1_000 * MICROS  # monotonic time starts at 1000 s, as an arbitrary origin
        # Epoch time at the origin, in whole milliseconds: time as stored starts near the real time.
        self._epoch_origin_us = round((time.time() if start_epoch_s is None else start_epoch_s) * 1000) * 1000
        self._busy = 0
        self._participants: set[int] = set()
        self._parked: list[_Parked] = []
        self._order = itertools.count()
        self.slept: list[float] = []  # every sleep of the code under test (seconds), in order

    # ---------------------------------------------------------------- reading

    @property
    def now_us(self) -> int:
        """Virtual monotonic time in microseconds: a mark for ``since``."""
        return self._now_us

    def monotonic(self) -> float:
        return self._now_us / MICROS

    def epoch_s(self) -> float:
        # Half a microsecond in: a conversion to whole milliseconds never rounds down across a boundary.
        return (self._epoch_origin_us + self._now_us - 1_000 * MICROS + 0.5) / MICROS

    def now_ms(self) -> int:
        """Epoch milliseconds, as ``session_relay.clock.now_ms`` reads them under this clock."""
        return int(self.epoch_s() * 1000)

    def since(self, mark_us: int) -> float:
        """Virtual seconds since ``mark_us`` (a ``now_us``), exactly."""
        return (self._now_us - mark_us) / MICROS

    # ---------------------------------------------------------------- sleeping

    def sleep(self, seconds: float) -> None:
        """The code under test sleeps: time moves on (clients due meanwhile run first). Called from a
        simulated client's own thread, the client is parked until virtual time reaches its wake-up."""
        ticks = max(1, round(seconds * MICROS)) if seconds > 0 else 0
        if threading.get_ident() in self._participants:
            self._park(ticks)
            return
        with self._cond:
            self.slept.append(seconds)
            wake_us = self._now_us + ticks
            self._run_parked(until_us=wake_us)
            self._now_us = max(self._now_us, wake_us)

    def run_until_idle(self) -> None:
        """Let every parked client run in turn (time moves to each wake-up), until none is left."""
        with self._cond:
            self._run_parked(until_us=None)

    def _run_parked(self, until_us: int | None) -> None:
        while True:
            self._wait_idle()
            if not self._parked or (until_us is not None and self._parked[0].wake_us > until_us):
                return
            due = heapq.heappop(self._parked)
            self._now_us = max(self._now_us, due.wake_us)
            due.woken = True
            self._busy += 1
            self._cond.notify_all()

    def _wait_idle(self) -> None:
        if not self._cond.wait_for(lambda: self._busy == 0, timeout=REAL_PATIENCE_S):
            raise AssertionError(f"simulated clients still busy after {REAL_PATIENCE_S} real seconds")

    def _park(self, ticks: int) -> None:
        with self._cond:
            parked = _Parked(self._now_us + ticks, next(self._order))
            heapq.heappush(self._parked, parked)
            self._busy -= 1
            self._cond.notify_all()
            self._cond.wait_for(lambda: parked.woken)

    # ---------------------------------------------------------------- simulated clients

    def began(self) -> None:
        """A simulated client was handed work (a frame posted to it): busy until ``working`` ends.
        Called in the posting thread, so that no sleep can move time on before the client runs."""
        with self._cond:
            self._busy += 1

    @contextmanager
    def working(self) -> Iterator[None]:
        """The simulated client's own thread, doing the work it was handed."""
        ident = threading.get_ident()
        self._participants.add(ident)
        try:
            yield
        finally:
            self._participants.discard(ident)
            with self._cond:
                self._busy -= 1
                self._cond.notify_all()


def install(monkeypatch: pytest.MonkeyPatch, virtual: VirtualClock) -> VirtualClock:
    """Run the product on ``virtual``: epoch time (``session_relay.clock.epoch_s``, read by every
    stored timestamp and deadline) and the messaging service's monotonic clock and sleep. Its
    ``Messaging`` is built by ``wiring.get_messaging`` with the virtual clock and sleep injected."""
    monkeypatch.setattr(product_clock, "epoch_s", virtual.epoch_s)
    monkeypatch.setattr(
        wiring, "Messaging", partial(wiring.Messaging, clock=virtual.monotonic, sleep=virtual.sleep)
    )
    wiring.get_messaging.cache_clear()
    return virtual
