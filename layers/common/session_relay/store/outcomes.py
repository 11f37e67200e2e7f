"""The outcomes repository: records of messages answered later, ``id`` -> ``message#<M>`` or
``batch#<B>`` in the outcomes table.

A record is the way back from an id the owner holds to the messages it stands for, and says which
API key may read it. The outcome itself stays where every reply lands, in the message items of the
connections table (``session_relay.store.messages``), which are kept at least as long as the record.
"""

import json
from dataclasses import dataclass

from session_relay import clock
from session_relay.store.keys import live
from session_relay.store.table import Table
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


class Outcomes:
    """Records of messages and batches answered later (table ``outcomes``)."""

    def __init__(self, table: Table) -> None:
        self.table = table

    def put_message_record(self, record_id: str, record: OutcomeRecord) -> None:
        self._put(_MESSAGE + record_id, record)

    def put_batch_record(self, record_id: str, record: OutcomeRecord) -> None:
        self._put(_BATCH + record_id, record)

    def get_message_record(self, record_id: str) -> OutcomeRecord | None:
        return self._get(_MESSAGE + record_id)

    def get_batch_record(self, record_id: str) -> OutcomeRecord | None:
        return self._get(_BATCH + record_id)

    def _put(self, item_id: str, record: OutcomeRecord) -> None:
        targets = [[t.session_id, t.connection_id, t.message_id] for t in record.targets]
        item = {
            "id": item_id,
            "owner": record.owner,
            "deadline_ms": record.deadline_ms,
            "targets": dump_json(targets),
            "expires_at": outcome_expiry_s(record.deadline_ms),
        }
        # Ids are 128 random bits: a collision would hand one owner another's outcome.
        self.table.put(item, condition="attribute_not_exists(id)")

    def _get(self, item_id: str) -> OutcomeRecord | None:
        item = self.table.get({"id": item_id})
        if item is None or not live(item, clock.now_s()):
            return None
        targets = tuple(Target(*entry) for entry in json.loads(item["targets"]))
        return OutcomeRecord(item["owner"], item["deadline_ms"], targets)
