"""The messages repository: ``item = "message#<id>"`` in the connections table, keyed by the
connection the message was sent on, so a reply can only ever address the replying connection's own
partition."""

import json
from dataclasses import dataclass
from typing import Any

from session_relay import clock
from session_relay.contract import Outcome
from session_relay.errors import ReplyRejected
from session_relay.store.keys import ANSWERED, MESSAGE_PREFIX, PENDING, SESSION_ITEM, message_key
from session_relay.store.outcomes import outcome_expiry_s
from session_relay.store.sessions import SessionRecord
from session_relay.store.table import Table, batch_write
from session_relay.wire import dump_json

# A poll reads only what an outcome needs: every attribute more is more to send and to parse.
OUTCOME_PROJECTION = {
    "ProjectionExpression": "connection_id, #item, #status, reply",
    "ExpressionAttributeNames": {"#item": "item", "#status": "status"},
}
_STATUS = {"#status": "status"}


@dataclass(frozen=True, slots=True)
class RecordedReply:
    """A reply just stored: its session, that session's ``last_seen_at`` when the message was sent,
    and when the reply was stored (epoch ms)."""

    session_id: str
    seen_at: int
    replied_at: int


def outcome_from_item(item: dict[str, Any]) -> Outcome | None:
    if item["status"] != ANSWERED:
        return None
    return Outcome.from_dict(json.loads(item["reply"]))


class Messages:
    """Messages waiting for a reply, and their replies (table ``connections``)."""

    def __init__(self, connections: Table, message_ttl_s: int) -> None:
        self.table = connections
        self.message_ttl_s = message_ttl_s

    def _item(
        self,
        record: SessionRecord,
        message_id: str,
        deadline_ms: int,
        batch: str | None = None,
        outcome: Outcome | None = None,
    ) -> dict[str, Any]:
        item = {
            **message_key(record.connection_id, message_id),
            "session_id": record.session.id,
            # The session's last_seen_at when sent: the reply's handler skips refreshing a recent one.
            "seen_at": record.session.last_seen_at,
            "status": PENDING,
            "deadline_ms": deadline_ms,
            # Kept as long as a record of a message answered later may point to it.
            "expires_at": max(clock.now_s() + self.message_ttl_s, outcome_expiry_s(deadline_ms)),
        }
        if batch is not None:  # answered, it enters the ``answered`` index under this shard
            item["batch"] = batch
        if outcome is not None:  # decided without a frame: stored answered, read back like any reply
            item.update({"status": ANSWERED, "reply": dump_json(outcome.as_contract())})
        return item

    def put(
        self, record: SessionRecord, message_id: str, deadline_ms: int, outcome: Outcome | None = None
    ) -> None:
        """Record a pending message before it is posted, so a fast reply always finds it (or, with
        ``outcome``, a message decided without being sent)."""
        self.table.put(self._item(record, message_id, deadline_ms, outcome=outcome))

    def put_many(
        self,
        sent: list[tuple[SessionRecord, str]],
        deadline_ms: int,
        batches: list[str] | None = None,
        decided: dict[str, Outcome] | None = None,
    ) -> None:
        """Record many pending messages (BatchWriteItem, 25 a call), each in its batch shard if given;
        those in ``decided`` (by message id) are stored with that outcome instead."""
        shards = batches or [None] * len(sent)
        decided = decided or {}
        requests = [
            self.table.put_request(self._item(r, m, deadline_ms, shard, decided.get(m)))
            for (r, m), shard in zip(sent, shards, strict=True)
        ]
        batch_write(self.table.client, requests)

    def answered_since(self, batch: str, since_ms: int) -> dict[tuple[str, str], Outcome]:
        """The messages of one batch shard answered at ``since_ms`` (epoch ms) or later, by (connection
        id, message id): a Query of the sparse ``answered`` index, which holds only answered messages.
        The index is eventually consistent: a caller asks again from a little before its last look."""
        # Only what an outcome needs: less to send and parse, the same read units ("Projection expression
        # has no effect on provisioned throughput consumption. DynamoDB determines capacity units consumed
        # based on item size", https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.ProjectionExpressions.html).
        items = self.table.query(
            names={"#batch": "batch", "#at": "answered_at", **OUTCOME_PROJECTION["ExpressionAttributeNames"]},
            values={":batch": batch, ":since": since_ms},
            IndexName="answered",
            KeyConditionExpression="#batch = :batch AND #at >= :since",
            ProjectionExpression=OUTCOME_PROJECTION["ProjectionExpression"],
        )
        answered = {}
        for item in items:
            outcome = outcome_from_item(item)
            if outcome is not None:
                answered[(item["connection_id"], item["item"].removeprefix(MESSAGE_PREFIX))] = outcome
        return answered

    def read_many(self, pairs: list[tuple[str, str]]) -> dict[tuple[str, str], Outcome | None]:
        """Poll messages by (connection id, message id): the answered ones map to their outcome,
        the pending ones to None; a message that no longer exists is missing from the result."""
        keys = [message_key(connection_id, message_id) for connection_id, message_id in pairs]
        result: dict[tuple[str, str], Outcome | None] = {}
        for item in self.table.batch_get(keys, OUTCOME_PROJECTION):
            pair = (item["connection_id"], item["item"].removeprefix(MESSAGE_PREFIX))
            result[pair] = outcome_from_item(item)
        return result

    def read(self, connection_id: str, message_id: str) -> tuple[bool, Outcome | None]:
        """One message: (exists, outcome or None while pending)."""
        item = self.table.get(message_key(connection_id, message_id), OUTCOME_PROJECTION)
        if item is None:
            return False, None
        return True, outcome_from_item(item)

    def withdraw(self, connection_id: str, message_id: str) -> Outcome | None:
        """Give up on a message at its deadline. Deletes it while still pending so a late reply
        is refused; if the reply won the race, returns that reply instead."""
        written = self.table.conditional(
            "delete_item",
            message_key(connection_id, message_id),
            "#status = :pending",
            names=_STATUS,
            values={":pending": PENDING},
        )
        return None if written.applied else self.read(connection_id, message_id)[1]

    def delete_many(self, pairs: list[tuple[str, str]]) -> None:
        batch_write(self.table.client, [self.table.delete_request(message_key(c, m)) for c, m in pairs])

    def record_reply(self, connection_id: str, message_id: str, outcome: Outcome) -> RecordedReply:
        """Store the first reply to a pending message sent on this very connection, before its
        deadline. Returns the message's session; raises ``ReplyRejected`` otherwise."""
        reply = dump_json(outcome.as_contract())
        replied_at = clock.now_ms()
        item = self.table.conditional(
            "update_item",
            message_key(connection_id, message_id),
            "#status = :pending AND deadline_ms >= :now",
            update="SET #status = :answered, reply = :reply, #answered_at = :now",
            names={**_STATUS, "#answered_at": "answered_at"},
            values={":answered": ANSWERED, ":pending": PENDING, ":reply": reply, ":now": replied_at},
            # The item as it was (pending, so without the reply): its session and seen_at.
            returns="ALL_OLD",
            refused=ReplyRejected(message_id),
        ).item
        seen_at = item.get("seen_at", 0)
        return RecordedReply(session_id=item["session_id"], seen_at=seen_at, replied_at=replied_at)

    def on_connection(self, connection_id: str) -> tuple[str | None, list[str]]:
        """One query of a connection's partition: the session id its mapping names (or None), and
        the ids of its messages still pending (answered ones stay until their TTL: a reply sent
        just before a close must still reach its caller)."""
        session_id, pending = None, []
        items = self.table.query(
            names={"#item": "item", "#status": "status"},
            values={":c": connection_id},
            KeyConditionExpression="connection_id = :c",
            ProjectionExpression="#item, session_id, #status",
            ConsistentRead=True,
        )
        for item in items:
            if item["item"] == SESSION_ITEM:
                session_id = item["session_id"]
            elif item.get("status") == PENDING:
                pending.append(item["item"].removeprefix(MESSAGE_PREFIX))
        return session_id, pending
