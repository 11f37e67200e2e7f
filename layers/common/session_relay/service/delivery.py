"""The one delivery core: record the pending messages, post their frames, forget dead connections,
collect the replies and withdraw what is still pending at the deadline.

Every sender drives it: the synchronous single and bulk calls, messages answered later, and (chunk by
chunk, with no Lambda waiting) a background worker. ``send`` returns as soon as the frames are out;
``collect`` polls for as long as its caller may wait; ``withdraw`` decides what the deadline leaves.
Why it works this way (polls that grow, conditional withdraws): docs/design.md, "Delivery".
"""

import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field

from aws_lambda_powertools.metrics import MetricUnit

from session_relay.clock import now_ms
from session_relay.contract import REASON_NO_FUNCTION, REASON_NO_RESPONSE, REASON_NOT_FOUND, Outcome
from session_relay.errors import ServiceUnavailable
from session_relay.gateway import DEFAULT_BUDGET_S, Gateway
from session_relay.observability import count, logger
from session_relay.service.connections import forget_connection
from session_relay.service.delivery_answered import SWEEP_S, AnsweredPoll
from session_relay.service.message_frames import MessageFrames, new_message_id
from session_relay.service.pool import run_all
from session_relay.store import SessionRecord, Store

# The poll schedule: 3 ms, then half as long again each time, up to 250 ms. A reply cannot be
# recorded sooner than the post, the client's answer and its $default's conditional write; a first
# look at 3 ms finds a prompt reply at once on loopback, and on AWS (tens of ms away) costs two more
# reads before it than a 10 ms start would: 249 reads instead of 247 in a 60 s wait.
FIRST_POLL_S = 0.003
POLL_GROWTH = 1.5
MAX_POLL_S = 0.25
# A bulk call's round that found answers looks again within this, however long it has waited: while
# answers arrive, the last one is found within about this long, not within MAX_POLL_S. Every such
# round decided a message, so the extra rounds are bounded by the messages (and by the back-off after).
PROGRESS_POLL_S = 0.05
# A bulk call's messages are indexed by shards of this many once answered (a reply is a write to the
# shard's index partition: a few hundred a shard stay well under DynamoDB's 1,000 a second per partition).
SHARD_SIZE = 250

NO_RESPONSE = Outcome(processed=False, reason=REASON_NO_RESPONSE)
NOT_FOUND = Outcome(processed=False, reason=REASON_NOT_FOUND)
NO_FUNCTION = Outcome(processed=False, reason=REASON_NO_FUNCTION)

Pair = tuple[str, str]
"""Where a message went: (connection id, message id)."""


@dataclass(frozen=True, slots=True)
class Posted:
    """What ``send`` did: the messages now out (by where they went, to their session id), the sessions
    found gone (410) or not reached (the gateway failed; their messages were withdrawn), and those sent
    no frame because they declared their functions without the message's key (answered "function
    doesnt exist" at once, their messages stored so)."""

    out: dict[Pair, str] = field(default_factory=dict)
    gone: tuple[str, ...] = ()
    failed: tuple[str, ...] = ()
    shards: dict[Pair, str] = field(default_factory=dict)
    undeclared: tuple[str, ...] = ()


class DeliveryCore:
    """Sends messages and collects their outcomes through one store and one gateway."""

    def __init__(
        self,
        store: Store,
        gateway: Gateway,
        workers: int,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.store = store
        self.gateway = gateway
        self.workers = workers
        self.clock = clock
        self.sleep = sleep

    # ---------------------------------------------------------------- send

    def send(
        self,
        targets: list[tuple[SessionRecord, str]],
        frames: MessageFrames,
        deadline_ms: int,
        *,
        single: bool = False,
    ) -> Posted:
        """``record`` then ``post``: the usual way to send.

        ``single`` (a call to one session) uses single-item requests and forgets a dead connection
        whole; a bulk call uses batch requests whatever its size."""
        shards = self.record(targets, deadline_ms, frames, single=single)
        posted = self.post(targets, frames, single=single, deadline_ms=deadline_ms)
        return Posted(posted.out, posted.gone, posted.failed, shards=shards, undeclared=posted.undeclared)

    def record(
        self,
        targets: list[tuple[SessionRecord, str]],
        deadline_ms: int,
        frames: MessageFrames,
        *,
        single: bool = False,
        batch: str | None = None,
    ) -> dict[Pair, str]:
        """Record each (session, message id) as pending until ``deadline_ms`` (epoch ms), before its
        frame is posted so a fast reply always finds it. Many messages are recorded in shards of
        ``batch`` (a fresh id by default), returned by where each message went, for ``collect``.
        A session that declared its functions without ``frames.key`` gets its message recorded
        answered "function doesnt exist" (PROTOCOL.md, declared functions): ``post`` sends it no
        frame, and every reader finds that outcome."""
        if not targets:
            return {}
        decided = {mid: NO_FUNCTION for record, mid in targets if not record.session.declares(frames.key)}
        if decided:
            count("MessagesUndeclared", len(decided))
        if single:
            self.store.messages.put(*targets[0], deadline_ms, outcome=decided.get(targets[0][1]))
            count("MessagesSent", 1 - len(decided))
            return {}
        batch = batch or new_message_id()
        shards = [f"{batch}#{index // SHARD_SIZE}" for index in range(len(targets))]
        self.store.messages.put_many(targets, deadline_ms, shards, decided)
        count("MessagesSent", len(targets) - len(decided))
        return {(r.connection_id, m): shard for (r, m), shard in zip(targets, shards, strict=True)}

    def post(
        self,
        targets: list[tuple[SessionRecord, str]],
        frames: MessageFrames,
        *,
        single: bool = False,
        deadline_ms: int | None = None,
    ) -> Posted:
        """Post every recorded message's frame concurrently (none to a session that declared its
        functions without the key). From the first frame on nothing raises: what fails is reported in
        ``Posted`` (and a message not delivered is withdrawn, or left to its stored deadline if even
        that fails). A throttled post is retried until ``deadline_ms`` (epoch ms, the messages' stored
        deadline: no reply can be recorded after it) at the latest, and for no more than the gateway's
        ``DEFAULT_BUDGET_S`` from now in any case: a call answered at once ("wait": false) has a
        deadline far past its own answer, which must come before the integration timeout."""
        key = frames.key
        undeclared = tuple(record.session.id for record, _ in targets if not record.session.declares(key))
        targets = [(record, mid) for record, mid in targets if record.session.declares(key)]
        if not targets:
            return Posted(undeclared=undeclared)
        post_by_ms = now_ms() + int(DEFAULT_BUDGET_S * 1000)
        if deadline_ms is not None:
            post_by_ms = min(post_by_ms, deadline_ms)
        items = [(record, frames.frame(mid), post_by_ms) for record, mid in targets]
        results = run_all(self._post, items, self.workers)
        dead = [target for target, result in zip(targets, results, strict=True) if result is False]
        failed = [target for target, result in zip(targets, results, strict=True) if result is None]
        if dead:
            self.forget_dead(dead, single=single)
        if failed:  # never delivered: withdrawn now, so the outcome is "client never responded"
            try:
                self.store.messages.delete_many([(r.connection_id, m) for r, m in failed])
            except ServiceUnavailable:  # left pending: the deadline decides them the same way
                logger.warning("undelivered messages not withdrawn", extra={"count": len(failed)})
        out = {(r.connection_id, m): r.session.id for (r, m), ok in zip(targets, results, strict=True) if ok}
        gone, not_reached = tuple(r.session.id for r, _ in dead), tuple(r.session.id for r, _ in failed)
        return Posted(out, gone, not_reached, undeclared=undeclared)

    def _post(self, item: tuple[SessionRecord, str, int | None]) -> bool | None:
        """True delivered, False gone (410), None the gateway failed."""
        record, frame, deadline_ms = item
        try:
            return self.gateway.post(record.connection_id, frame, deadline_ms)
        except ServiceUnavailable:
            logger.warning("post failed", extra={"session_id": record.session.id})
            return None

    def forget_dead(self, dead: list[tuple[SessionRecord, str]], *, single: bool = False) -> None:
        """Connections the gateway no longer knows (410). A single call's is forgotten whole (its
        session, mapping and every message still pending on it); a bulk call's are deleted in batches
        (25 a request): their sessions, mappings and these messages, the others left to their callers."""
        try:
            if single:
                forget_connection(self.store, dead[0][0].connection_id)
            else:
                self.store.sessions.delete([record for record, _ in dead])
                self.store.messages.delete_many([(r.connection_id, m) for r, m in dead])
        except ServiceUnavailable:  # the answer is the same; the sessions expire on their own
            logger.warning("dead sessions not deleted", extra={"count": len(dead)})
        count("SessionsGone", len(dead))

    # ---------------------------------------------------------------- collect

    def collect[K: Hashable](
        self,
        waiting: dict[Pair, K],
        until: float,
        deadline_ms: int | None = None,
        *,
        poll_first: bool = False,
        strict: bool = False,
        single: bool = False,
        shards: dict[Pair, str] | None = None,
        sweep_s: float = SWEEP_S,
    ) -> dict[K, Outcome]:
        """Poll until every message of ``waiting`` is decided or ``until`` (monotonic) passes; returns
        the decided outcomes by key (a message that stays pending is missing).

        A message still pending at its deadline is withdrawn: at ``deadline_ms`` (epoch ms) when given,
        else at ``until`` itself. ``strict`` (a read that others must agree with) lets a failed poll or
        withdraw raise ``ServiceUnavailable``; otherwise a failed poll is no news (the messages are out)
        and a failed withdraw leaves the message to its stored deadline. ``single`` polls with GetItem,
        otherwise with BatchGetItem (100 keys a call). With ``shards`` (where ``record`` put each message),
        a round reads only what was answered since the last one (``_poll_answered``), and what is still
        pending is read by key every ``sweep_s`` seconds at most, never right after a round that found
        answers."""
        waiting, decided = dict(waiting), {}
        interval = FIRST_POLL_S
        polled_once = not poll_first
        answered = AnsweredPoll(shards, sweep_s, self.clock) if shards else None
        news: dict[K, Outcome] = {}
        while waiting:
            if polled_once:
                self.sleep(
                    max(0.0, min(interval, until - self.clock(), _until_deadline_s(deadline_ms) + 0.001))
                )
                interval = min(interval * POLL_GROWTH, MAX_POLL_S)
            polled_once = True
            if answered is not None and not answered.sweep_due(answers_arriving=bool(news)):
                news = self._poll_answered(waiting, answered, strict)
            else:
                news = self._poll(waiting, strict, single)
            decided.update(news)
            if news:  # answers are arriving: the next look comes soon again
                interval = min(interval, PROGRESS_POLL_S)
            due = self.clock() >= until if deadline_ms is None else _until_deadline_s(deadline_ms) <= 0
            if waiting and due:
                decided.update(self.withdraw(waiting, strict))
                waiting = {}
            if self.clock() >= until:
                break
        return decided

    def _poll[K: Hashable](self, waiting: dict[Pair, K], strict: bool, single: bool) -> dict[K, Outcome]:
        """One poll: pops each decided message off ``waiting`` (a message gone is never answered)."""
        try:
            if single:
                pair = next(iter(waiting))
                exists, outcome = self.store.messages.read(*pair)
                polled = {pair: outcome} if exists else {}
            else:
                polled = self.store.messages.read_many(list(waiting))
        except ServiceUnavailable:
            if strict:
                raise
            return {}  # the messages are out: a failed poll is no news, keep waiting
        decided = {}
        for pair in list(waiting):
            if pair not in polled:  # withdrawn, or cleared with its connection: the client went away
                decided[waiting.pop(pair)] = NO_RESPONSE
            elif (outcome := polled[pair]) is not None:
                decided[waiting.pop(pair)] = outcome
        return decided

    def _poll_answered[K: Hashable](
        self, waiting: dict[Pair, K], answered: AnsweredPoll, strict: bool
    ) -> dict[K, Outcome]:
        """One round of the answered index: each shard that still has a message waiting, from a little
        before the last round (pops each decided message off ``waiting``)."""
        since_ms = answered.round_starts()
        found: dict[Pair, Outcome] = {}
        try:
            for shard in sorted({answered.shards[pair] for pair in waiting if pair in answered.shards}):
                found.update(self.store.messages.answered_since(shard, since_ms))
        except ServiceUnavailable:
            if strict:
                raise
        return {waiting.pop(pair): outcome for pair, outcome in found.items() if pair in waiting}

    def withdraw[K: Hashable](self, waiting: dict[Pair, K], strict: bool = False) -> dict[K, Outcome]:
        """Withdraw each message still pending, with a conditional delete each (BatchWriteItem cannot
        carry conditions), concurrently: a reply that won the race is the outcome, otherwise "client
        never responded". https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BatchWriteItem.html
        """

        def withdraw(pair: Pair) -> Outcome | None:
            try:
                return self.store.messages.withdraw(*pair)
            except ServiceUnavailable:
                if strict:
                    raise
                logger.warning("withdraw failed", extra={"session_id": waiting[pair]})  # its deadline holds
                return None

        pairs = list(waiting)
        results = run_all(withdraw, pairs, self.workers)
        count("MessagesTimedOut", sum(outcome is None for outcome in results))
        return {waiting[pair]: outcome or NO_RESPONSE for pair, outcome in zip(pairs, results, strict=True)}

    def count_answer(self, outcome: Outcome, started: float) -> None:
        """Metrics of one message's answer: processed or not, and how long the reply took."""
        count("MessagesProcessed" if outcome.processed else "MessagesNotProcessed")
        count("ReplyLatency", (self.clock() - started) * 1000, MetricUnit.Milliseconds)


def _until_deadline_s(deadline_ms: int | None) -> float:
    """Seconds until a stored deadline (epoch ms); infinite without one."""
    return float("inf") if deadline_ms is None else (deadline_ms - now_ms()) / 1000
