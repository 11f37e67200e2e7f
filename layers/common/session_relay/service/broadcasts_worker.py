"""The broadcast worker: what each message of the work queue does.

- ``plan``: pages the ``by_script`` index (the key's scripts, the broadcast's filter, only sessions
  that connected before the call), enqueues a chunk and its finalizer per page, and continues in a
  new message when its time is up; at the end ``matched`` is set.
- ``chunk``: posts (or closes) the chunk's sessions once each (``broadcasts_chunks``), writes what is
  decided, and enqueues ``due``, delayed to the chunk's deadline: no Lambda waits for replies.
- ``due``: collects the replies, withdraws what is still pending (conditionally), writes the outcomes
  and the chunk's final counts; the broadcast is done once every matched session is decided.
- ``final``: 900 s after planning, decides a chunk that never got that far (its work failed every
  attempt and went to the dead-letter queue): the broadcast still ends, those sessions counted.
"""

import json
import time
from collections.abc import Callable
from typing import Any

from session_relay.clock import now_ms
from session_relay.observability import logger
from session_relay.service.access import Principal, Selection, targets
from session_relay.service.broadcasts_chunks import ChunkResult, ChunkSender
from session_relay.service.broadcasts_queue import MAX_DELAY_S, WorkQueue
from session_relay.service.broadcasts_views import settle
from session_relay.service.delivery import NO_RESPONSE, DeliveryCore
from session_relay.settings import Settings
from session_relay.store import Store, encode_cursor, listing_key
from session_relay.store.broadcasts import FINAL, BroadcastRecord

PLAN_BUDGET_S = 10.0  # a planning invocation's share of the worker's 30 s timeout
# A chunk's attempts (3 receives x 180 s visibility) are over this long after it started.
ATTEMPTS_OVER_S = 600
THROTTLED_TRIES = 8  # attempts at a post the gateway keeps throttling (1 + 2 + ... + 128 s apart)
FINAL_ROUNDS = 8  # a finalizer waits at most this many times 900 s for its chunk to start
STARTED, SENT = 0, 1


class Worker:
    """Runs broadcast work through one store, one delivery core and one queue."""

    def __init__(
        self,
        store: Store,
        sender: ChunkSender,
        settings: Settings,
        queue: WorkQueue,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.sender = sender
        self.core: DeliveryCore = sender.core
        self.settings = settings
        self.queue = queue
        self.clock = clock

    def handle(self, body: dict[str, Any]) -> None:
        """One work message (a broadcast gone or expired leaves nothing to do)."""
        record = self.store.broadcasts.get(body["b"])
        if record is None:
            return
        {"plan": self.plan, "chunk": self.chunk, "due": self.due, "final": self.final}[body["k"]](
            record, body
        )

    # ---------------------------------------------------------------- planning

    def plan(self, record: BroadcastRecord, body: dict[str, Any]) -> None:
        owner = Principal(record.owner, frozenset(record.scripts))
        # Only sessions that connected before the call: the listing is newest first, so start after
        # every key of a later millisecond (ids sort below "~").
        cursor = body.get("cursor") or encode_cursor(listing_key(record.created_at + 1, "~"))
        number, found, started = body["next"], body["found"], self.clock()
        while True:
            if self._cancelled(record.id):  # matched: the sessions found by then
                break
            page = targets(
                self.store,
                owner,
                Selection(filter=record.filter, limit=self.settings.broadcast_chunk_size, cursor=cursor),
            )
            if page.session_ids:
                chunk = {"b": record.id, "n": number, "ids": page.session_ids}
                self.queue.send({"k": "chunk", **chunk})
                self.queue.send({"k": "final", **chunk, "round": 0}, MAX_DELAY_S)
                number, found = number + 1, found + len(page.session_ids)
            cursor = page.paging.next_cursor if page.paging else None
            if cursor is None:
                break
            if self.clock() - started > PLAN_BUDGET_S:
                self.queue.send(
                    {"k": "plan", "b": record.id, "cursor": cursor, "next": number, "found": found}
                )
                return
        self.store.broadcasts.set_matched(record.id, found, number)
        self._settle(record.id)

    def _cancelled(self, broadcast_id: str) -> bool:
        latest = self.store.broadcasts.get(broadcast_id)
        return latest is None or latest.cancelled

    # ---------------------------------------------------------------- a chunk

    def chunk(self, record: BroadcastRecord, body: dict[str, Any]) -> None:
        """Post the chunk's sessions (or those a throttled attempt left, ``carry`` holding what the
        attempts before did); then its deadline message, or another attempt for what is left."""
        number, ids, carry = body["n"], body["ids"], body.get("carry")
        broadcasts = self.store.broadcasts
        if carry is None:
            broadcasts.put_chunk(record.id, number, {"n": len(ids), "started": now_ms()}, STARTED)
            carry = {"counts": {"n": len(ids)}, "out": {}}
        result = ChunkResult(counts=dict(carry["counts"]), out=dict(carry["out"]))
        self.sender.send(record, ids, result)
        broadcasts.put_outcomes(record, number, result.decided)
        tries = body.get("tries", 0)
        if result.again and tries < THROTTLED_TRIES:
            broadcasts.put_chunk(record.id, number, result.counts, SENT)
            later = {"counts": result.counts, "out": result.out}
            self.queue.send({**body, "ids": result.again, "carry": later, "tries": tries + 1}, 2**tries)
            return
        for session_id in result.again:  # throttled every time: never reached
            result.decide(session_id, NO_RESPONSE)
        if not result.out:
            self._final(record, number, result.counts)
            return
        broadcasts.put_chunk(record.id, number, result.counts, SENT)
        self._due_later({"k": "due", "b": record.id, "n": number, "out": result.out, "counts": result.counts})

    def _due_later(self, due: dict[str, Any]) -> None:
        """Come back to the chunk's messages 1, 2, 4 ... seconds on, and at their deadline at the latest,
        so that a chunk whose clients answered at once is decided at once, and a silent one costs a
        handful of messages rather than a waiting Lambda."""
        step = due.get("step", 0)
        deadline_ms = max(deadline for _, _, deadline, _ in due["out"].values())
        delay_s = min(float(2**step), (deadline_ms - now_ms()) / 1000)
        self.queue.send({**due, "step": step + 1}, delay_s)

    def due(self, record: BroadcastRecord, body: dict[str, Any]) -> None:
        """Collect the chunk's replies (one read of what is out); at the deadline what is still pending
        is withdrawn (conditionally). What is decided is written; the rest comes back later."""
        out = body["out"]
        waiting = {(c, m): sid for sid, (c, m, _, _) in out.items()}
        deadline_ms = max(deadline for _, _, deadline, _ in out.values())
        # What was answered, from the answered index (one Query a shard); a client gone is learnt at
        # the deadline, when the withdraw finds its message deleted.
        shards = {(c, m): shard for c, m, _, shard in out.values() if shard}
        decided = self.core.collect(
            waiting, self.clock(), deadline_ms, poll_first=True, shards=shards or None, sweep_s=float("inf")
        )
        result = ChunkResult(counts=dict(body["counts"]))
        for session_id, outcome in decided.items():
            result.decide(session_id, outcome)
        self.store.broadcasts.put_outcomes(record, body["n"], result.decided)
        if len(decided) == len(waiting):
            self._final(record, body["n"], result.counts)
            return
        left = {sid: where for sid, where in out.items() if sid not in decided}
        self.store.broadcasts.put_chunk(record.id, body["n"], result.counts, SENT)
        self._due_later({**body, "out": left, "counts": result.counts})

    def final(self, record: BroadcastRecord, body: dict[str, Any]) -> None:
        """A chunk's finalizer: nothing when the chunk is final; waits again while it has not started or
        may still be retried; otherwise decides every session of it that is not decided yet."""
        chunk = next(
            (c for c in self.store.broadcasts.chunks(record.id) if c["item"].endswith(f"{body['n']:07d}")),
            None,
        )
        if chunk is not None and chunk.get("stage") == FINAL:
            return
        started = chunk.get("started", now_ms()) if chunk else None
        recent = started is not None and now_ms() - started < ATTEMPTS_OVER_S * 1000
        if (chunk is None or recent) and body["round"] < FINAL_ROUNDS:
            self.queue.send({**body, "round": body["round"] + 1}, MAX_DELAY_S)
            return
        logger.warning(
            "broadcast chunk decided by its finalizer", extra={"broadcast": record.id, "chunk": body["n"]}
        )
        self._abandoned(record, body["n"], body["ids"])

    def _abandoned(self, record: BroadcastRecord, number: int, ids: list[str]) -> None:
        """Every session of a failed chunk: one still unguarded is guarded now (no frame can follow) and
        "client never responded" (never reached); one guarded is collected as any other."""
        result = ChunkResult(counts={"n": len(ids)})
        waiting: dict[tuple[str, str], str] = {}
        for session_id in ids:
            prior = self.store.broadcasts.guard(record.id, session_id, {"abandoned": True})
            if prior is not None and prior.get("m"):
                waiting[(prior["c"], prior["m"])] = session_id
                result.add("sent")
            elif record.action == "message":
                result.decide(session_id, NO_RESPONSE)
            else:
                result.closed(session_id, {}, "not_sent")
        for session_id, outcome in self.core.collect(
            waiting, self.clock(), now_ms(), poll_first=True
        ).items():
            result.decide(session_id, outcome)
        self.store.broadcasts.put_outcomes(record, number, result.decided)
        self._final(record, number, result.counts)

    def _final(self, record: BroadcastRecord, number: int, counts: dict[str, int]) -> None:
        self.store.broadcasts.put_chunk(record.id, number, counts, FINAL)
        self._settle(record.id)

    def _settle(self, broadcast_id: str) -> None:
        latest = self.store.broadcasts.get(broadcast_id)
        if latest is not None:
            settle(self.store, latest, self.store.broadcasts.chunks(broadcast_id))


def handle_batch(worker: Worker, event: dict[str, Any]) -> dict[str, Any]:
    """An SQS batch: each message on its own; the ones that failed are reported so that only they
    return to the queue (``ReportBatchItemFailures``):
    https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html"""
    failures = []
    for message in event.get("Records", []):
        try:
            worker.handle(json.loads(message["body"]))
        except Exception:
            logger.exception("broadcast work failed", extra={"message_id": message.get("messageId")})
            failures.append({"itemIdentifier": message["messageId"]})
    return {"batchItemFailures": failures}
