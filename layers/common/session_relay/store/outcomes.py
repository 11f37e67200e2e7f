"""Messages answered later: ``id`` -> ``message#<M>`` or ``batch#<B>`` in the outcomes table.

A record is the way back from an id the owner holds to the messages it stands for, and says which
API key may read it. The outcome itself stays where every reply lands, in the message items of the
connections table (``session_relay.store.messages``), which are kept at least as long as the record.
"""

import json
from dataclasses import dataclass

from session_relay.store.items import Tables, live, n, s, translated_errors
from session_relay.wire import dump_json

OUTCOME_RETENTION_S = 15 * 60 + 60
"""How long a record (and the messages it points to) outlives its deadline: the contract's
15 minutes, plus a minute for clocks and TTL rounding (seconds)."""

# DynamoDB items are at most 400 KB (names and values): a batch of 1000 entries of ids at most 128
# characters each takes under 200 KB (tested at that size).
# https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Constraints.html#limits-items
_MESSAGE, _BATCH = "message#", "batch#"


@dataclass(frozen=True, slots=True)
class Target:
    """One entry of a batch (or the one message): the session, and where its message went.

    ``connection_id`` and ``message_id`` are None for a session that was not found."""

    session_id: str
    connection_id: str | None = None
    message_id: str | None = None

    @property
    def pair(self) -> tuple[str, str] | None:
        if self.connection_id is None or self.message_id is None:
            return None
        return self.connection_id, self.message_id


@dataclass(frozen=True, slots=True)
class OutcomeRecord:
    """A message or batch sent with ``"wait": false``: who sent it, its deadline, its targets."""

    owner: str
    deadline_ms: int
    targets: tuple[Target, ...]


def outcome_expiry_s(deadline_ms: int) -> int:
    """The TTL (epoch seconds) of a record, and of the messages it points to."""
    return -(-deadline_ms // 1000) + OUTCOME_RETENTION_S


class OutcomeStore(Tables):
    def put_message_record(self, record_id: str, record: OutcomeRecord) -> None:
        self._put_record(_MESSAGE + record_id, record)

    def put_batch_record(self, record_id: str, record: OutcomeRecord) -> None:
        self._put_record(_BATCH + record_id, record)

    def get_message_record(self, record_id: str) -> OutcomeRecord | None:
        return self._get_record(_MESSAGE + record_id)

    def get_batch_record(self, record_id: str) -> OutcomeRecord | None:
        return self._get_record(_BATCH + record_id)

    def _put_record(self, item_id: str, record: OutcomeRecord) -> None:
        targets = [[t.session_id, t.connection_id, t.message_id] for t in record.targets]
        with translated_errors():
            self.client.put_item(
                TableName=self.outcomes_table,
                Item={
                    "id": s(item_id),
                    "owner": s(record.owner),
                    "deadline_ms": n(record.deadline_ms),
                    "targets": s(dump_json(targets)),
                    "expires_at": n(outcome_expiry_s(record.deadline_ms)),
                },
                # Ids are 128 random bits: a collision would hand one owner another's outcome.
                ConditionExpression="attribute_not_exists(id)",
            )

    def _get_record(self, item_id: str) -> OutcomeRecord | None:
        item = self._get(self.outcomes_table, {"id": s(item_id)})
        if item is None or not live(item, self.now_s()):
            return None
        targets = tuple(Target(*entry) for entry in json.loads(item["targets"]["S"]))
        return OutcomeRecord(item["owner"]["S"], int(item["deadline_ms"]["N"]), targets)
