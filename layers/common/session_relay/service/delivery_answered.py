"""Polls of the ``answered`` index (docs/design.md, "Delivery"): a bulk call's messages are recorded in
shards, and a reply gives its message ``answered_at``, which puts it in the sparse index. A round of
``DeliveryCore.collect`` then reads only what was answered since the last round; the messages still
pending are read by key once a ``SWEEP_S`` at most, to learn of clients that went away (their messages
are deleted, which the index cannot show). Not while answers are arriving: a round after one that found
answers reads the index again. A client that went away cannot end the call while others are still
answering, and once a round finds nothing the sweep that is due runs (a read of every message still
pending, which under a burst of replies waits behind their writes)."""

from collections.abc import Callable

from session_relay.clock import now_ms

# How far back each round looks again before the last one began: the index is eventually consistent.
INDEX_LAG_MS = 1_000
SWEEP_S = 1.0

Pair = tuple[str, str]


class AnsweredPoll:
    """Where a collect's messages are in the answered index, when its last round began, and when
    the messages still pending were last read by key."""

    def __init__(self, shards: dict[Pair, str], sweep_s: float, clock: Callable[[], float]) -> None:
        self.shards = shards
        self.sweep_s = sweep_s
        self.clock = clock
        self.started = clock()
        self.last_sweep = self.started
        self.since_ms = 0  # the first round reads every answer so far

    def round_starts(self) -> int:
        """The ``since`` of this round (epoch ms); the next looks back ``INDEX_LAG_MS`` from now."""
        since, self.since_ms = self.since_ms, now_ms() - INDEX_LAG_MS
        return since

    def sweep_due(self, answers_arriving: bool = False) -> bool:
        """Whether this round reads the pending messages by key (and restarts the sweep's timer): once
        ``sweep_s`` has passed since the last sweep, and the last round found no answer."""
        if answers_arriving or self.clock() - self.last_sweep < self.sweep_s:
            return False
        self.last_sweep = self.clock()
        return True
