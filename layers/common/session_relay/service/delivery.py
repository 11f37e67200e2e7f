"""The one delivery core: record the pending messages, post their frames, forget dead connections,
collect the replies and withdraw what is still pending at the deadline.

Every sender drives it: the synchronous single and bulk calls, messages answered later, and (chunk by
chunk, with no Lambda waiting) a background worker. ``send`` returns as soon as the frames are out;
``collect`` polls for as long as its caller may wait; ``withdraw`` decides what the deadline leaves.
Why it works this way (polls that grow, conditional withdraws): docs/design.md, "Delivery".
"""

import secrets
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from session_relay import FRAME_LIMIT_BYTES
from session_relay.clock import now_ms
from session_relay.contract import REASON_NO_FUNCTION, REASON_NO_RESPONSE, REASON_NOT_FOUND, Outcome
from session_relay.errors import PayloadTooLarge, ServiceUnavailable
from session_relay.gateway import Gateway
from session_relay.observability import count, logger
from session_relay.service.connections import forget_connection
from session_relay.service.pool import run_all
from session_relay.store import SessionRecord, Store
from session_relay.wire import dump_json

FIRST_POLL_S = 0.01
POLL_GROWTH = 1.5
MAX_POLL_S = 0.25

NO_RESPONSE = Outcome(processed=False, reason=REASON_NO_RESPONSE)
NOT_FOUND = Outcome(processed=False, reason=REASON_NOT_FOUND)
NO_FUNCTION = Outcome(processed=False, reason=REASON_NO_FUNCTION)

Pair = tuple[str, str]
"""Where a message went: (connection id, message id)."""


def new_message_id() -> str:
    """128 random bits in lowercase hex: an id never starts with ``-`` (a command line would read it as
    an option) and needs no escaping in a URL path."""
    return secrets.token_hex(16)


class MessageFrames:
    """The ``message`` frames of one call: ``key`` and ``data`` serialized once, each frame the same
    text around its own id (ids all have one length, so the size is checked once: 413 when too big)."""

    def __init__(self, key: str, data: Any) -> None:
        self.key = key
        self._head = '{"type":"message","id":"'
        self._tail = f'","key":{dump_json(key)},"data":{dump_json(data)}}}'
        size = len(self._head.encode()) + len(new_message_id()) + len(self._tail.encode())
        if size > FRAME_LIMIT_BYTES:
            raise PayloadTooLarge(
                f"the message frame would be {size} bytes, over the {FRAME_LIMIT_BYTES}-byte frame limit"
            )

    def frame(self, message_id: str) -> str:
        return self._head + message_id + self._tail


@dataclass(frozen=True, slots=True)
class Posted:
    """What ``send`` did: the messages now out (by where they went, to their session id), the sessions
    found gone (410) or not reached (the gateway failed; their messages were withdrawn), and those sent
    no frame because they declared their functions without the message's key (answered "function
    doesnt exist" at once, their messages stored so)."""

    out: dict[Pair, str] = field(default_factory=dict)
    gone: tuple[str, ...] = ()
    failed: tuple[str, ...] = ()
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
        self.record(targets, deadline_ms, frames, single=single)
        return self.post(targets, frames, single=single)

    def record(
        self,
        targets: list[tuple[SessionRecord, str]],
        deadline_ms: int,
        frames: MessageFrames,
        *,
        single: bool = False,
    ) -> None:
        """Record each (session, message id) as pending until ``deadline_ms`` (epoch ms), before its
        frame is posted so a fast reply always finds it. A session that declared its functions without
        ``frames.key`` gets its message recorded answered "function doesnt exist" (PROTOCOL.md,
        declared functions): ``post`` sends it no frame, and every reader finds that outcome."""
        if not targets:
            return
        decided = {mid: NO_FUNCTION for record, mid in targets if not record.session.declares(frames.key)}
        if single:
            self.store.messages.put(*targets[0], deadline_ms, decided.get(targets[0][1]))
        else:
            self.store.messages.put_many(targets, deadline_ms, decided)
        count("MessagesSent", len(targets) - len(decided))
        if decided:
            count("MessagesUndeclared", len(decided))

    def post(
        self, targets: list[tuple[SessionRecord, str]], frames: MessageFrames, *, single: bool = False
    ) -> Posted:
        """Post every recorded message's frame concurrently (none to a session that declared its
        functions without the key). From the first frame on nothing raises: what fails is reported in
        ``Posted`` (and a message not delivered is withdrawn, or left to its stored deadline if even
        that fails)."""
        key = frames.key
        undeclared = tuple(record.session.id for record, _ in targets if not record.session.declares(key))
        targets = [(record, mid) for record, mid in targets if record.session.declares(key)]
        if not targets:
            return Posted(undeclared=undeclared)
        results = run_all(self._post, [(record, frames.frame(mid)) for record, mid in targets], self.workers)
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
        return Posted(out, gone, not_reached, undeclared)

    def _post(self, item: tuple[SessionRecord, str]) -> bool | None:
        """True delivered, False gone (410), None the gateway failed."""
        record, frame = item
        try:
            return self.gateway.post(record.connection_id, frame)
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
    ) -> dict[K, Outcome]:
        """Poll until every message of ``waiting`` is decided or ``until`` (monotonic) passes; returns
        the decided outcomes by key (a message that stays pending is missing).

        A message still pending at its deadline is withdrawn: at ``deadline_ms`` (epoch ms) when given,
        else at ``until`` itself. ``strict`` (a read that others must agree with) lets a failed poll or
        withdraw raise ``ServiceUnavailable``; otherwise a failed poll is no news (the messages are out)
        and a failed withdraw leaves the message to its stored deadline. ``single`` polls with GetItem,
        otherwise with BatchGetItem (100 keys a call)."""
        waiting, decided = dict(waiting), {}
        interval = FIRST_POLL_S
        polled_once = not poll_first
        while waiting:
            if polled_once:
                self.sleep(
                    max(0.0, min(interval, until - self.clock(), _until_deadline_s(deadline_ms) + 0.001))
                )
                interval = min(interval * POLL_GROWTH, MAX_POLL_S)
            polled_once = True
            decided.update(self._poll(waiting, strict, single))
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
