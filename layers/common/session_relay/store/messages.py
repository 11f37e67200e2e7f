"""Messages and replies: ``item = "message#<id>"`` in the connections table, keyed by the connection
the message was sent on, so a reply can only ever address the replying connection's own partition."""

import json
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from session_relay.contract import Outcome
from session_relay.errors import ReplyRejected
from session_relay.store.items import (
    ANSWERED,
    MESSAGE_PREFIX,
    PENDING,
    Tables,
    condition_failed,
    message_key,
    n,
    s,
    translated_errors,
)
from session_relay.store.outcomes import outcome_expiry_s
from session_relay.store.sessions import SessionRecord
from session_relay.wire import dump_json

# A poll reads only what an outcome needs: every attribute more is more to send and to parse.
OUTCOME_PROJECTION = {
    "ProjectionExpression": "connection_id, #item, #status, reply",
    "ExpressionAttributeNames": {"#item": "item", "#status": "status"},
}


@dataclass(frozen=True, slots=True)
class RecordedReply:
    """A reply just stored: its session, that session's ``last_seen_at`` when the message was sent,
    and when the reply was stored (epoch ms)."""

    session_id: str
    seen_at: int
    replied_at: int


def outcome_from_item(item: dict[str, Any]) -> Outcome | None:
    if item["status"]["S"] != ANSWERED:
        return None
    return Outcome.from_dict(json.loads(item["reply"]["S"]))


class MessageStore(Tables):
    def _message_item(self, record: SessionRecord, message_id: str, deadline_ms: int) -> dict[str, Any]:
        return {
            **message_key(record.connection_id, message_id),
            "session_id": s(record.session.id),
            # The session's last_seen_at when sent: the reply's handler skips refreshing a recent one.
            "seen_at": n(record.session.last_seen_at),
            "status": s(PENDING),
            "deadline_ms": n(deadline_ms),
            # Kept as long as a record of a message answered later may point to it.
            "expires_at": n(max(self.now_s() + self.message_ttl_s, outcome_expiry_s(deadline_ms))),
        }

    def put_message(self, record: SessionRecord, message_id: str, deadline_ms: int) -> None:
        """Record a pending message before it is posted, so a fast reply always finds it."""
        with translated_errors():
            self.client.put_item(
                TableName=self.connections_table, Item=self._message_item(record, message_id, deadline_ms)
            )

    def put_messages(self, sent: list[tuple[SessionRecord, str]], deadline_ms: int) -> None:
        """Record many pending messages (BatchWriteItem, 25 a call)."""
        self._batch_write(
            [
                (self.connections_table, {"PutRequest": {"Item": self._message_item(r, m, deadline_ms)}})
                for r, m in sent
            ]
        )

    def read_outcomes(self, sent: list[tuple[str, str]]) -> dict[tuple[str, str], Outcome | None]:
        """Poll messages by (connection id, message id): the answered ones map to their outcome,
        the pending ones to None; a message that no longer exists is missing from the result."""
        keys = [message_key(connection_id, message_id) for connection_id, message_id in sent]
        result: dict[tuple[str, str], Outcome | None] = {}
        for item in self._batch_get(self.connections_table, keys, OUTCOME_PROJECTION):
            pair = (item["connection_id"]["S"], item["item"]["S"].removeprefix(MESSAGE_PREFIX))
            result[pair] = outcome_from_item(item)
        return result

    def read_outcome(self, connection_id: str, message_id: str) -> tuple[bool, Outcome | None]:
        """One message: (exists, outcome or None while pending)."""
        item = self._get(self.connections_table, message_key(connection_id, message_id), OUTCOME_PROJECTION)
        if item is None:
            return False, None
        return True, outcome_from_item(item)

    def withdraw_message(self, connection_id: str, message_id: str) -> Outcome | None:
        """Give up on a message at its deadline. Deletes it while still pending so a late reply
        is refused; if the reply won the race, returns that reply instead."""
        try:
            with translated_errors():
                self.client.delete_item(
                    TableName=self.connections_table,
                    Key=message_key(connection_id, message_id),
                    ConditionExpression="#status = :pending",
                    ExpressionAttributeNames={"#status": "status"},
                    ExpressionAttributeValues={":pending": s(PENDING)},
                )
        except ClientError as exc:
            if not condition_failed(exc):
                raise
            return self.read_outcome(connection_id, message_id)[1]
        return None

    def delete_messages(self, sent: list[tuple[str, str]]) -> None:
        self._batch_delete([(self.connections_table, message_key(c, m)) for c, m in sent])

    def record_reply(self, connection_id: str, message_id: str, outcome: Outcome) -> RecordedReply:
        """Store the first reply to a pending message sent on this very connection, before its
        deadline. Returns the message's session; raises ``ReplyRejected`` otherwise."""
        reply = dump_json(outcome.as_contract())
        replied_at = self.now_ms()
        try:
            with translated_errors():
                item = self.client.update_item(
                    TableName=self.connections_table,
                    Key=message_key(connection_id, message_id),
                    UpdateExpression="SET #status = :answered, reply = :reply",
                    ConditionExpression="#status = :pending AND deadline_ms >= :now",
                    ExpressionAttributeNames={"#status": "status"},
                    ExpressionAttributeValues={
                        ":answered": s(ANSWERED),
                        ":pending": s(PENDING),
                        ":reply": s(reply),
                        ":now": n(replied_at),
                    },
                    # The item as it was (pending, so without the reply): its session and seen_at.
                    ReturnValues="ALL_OLD",
                )["Attributes"]
        except ClientError as exc:
            if condition_failed(exc):
                raise ReplyRejected(message_id) from exc
            raise
        seen_at = int(item["seen_at"]["N"]) if "seen_at" in item else 0
        return RecordedReply(session_id=item["session_id"]["S"], seen_at=seen_at, replied_at=replied_at)
