"""The outcomes repository: records of messages answered later, ``id`` -> ``message#<M>`` or
``batch#<B>`` in the outcomes table.

A record is the way back from an id the owner holds to the messages it stands for, and says which
API key may read it. The outcome itself stays where every reply lands, in the message items of the
connections table (``session_relay.store.messages``), which are kept at least as long as the record.

A record is one item while it fits (nearly always). One that does not (up to 1000 targets of session
ids of 128 characters of anything) keeps the first of its targets in its item, and the rest in extra
items, ``<record item's id>#<tag>#<n>`` (n from 1), written before it and read with one BatchGetItem.
The tag is fresh for every write, so a write that finds the record already there (the same id written
again) leaves that record's items as they were.
"""

import json
import secrets
from dataclasses import dataclass
from typing import Any

from session_relay import clock
from session_relay.errors import RecordExists
from session_relay.store.keys import live
from session_relay.store.parts import ITEM_BUDGET_BYTES, item_bytes, json_lists
from session_relay.store.table import Table
from session_relay.wire import dump_json

OUTCOME_RETENTION_S = 15 * 60 + 60
"""How long a record (and the messages it points to) outlives its deadline: the contract's
15 minutes, plus a minute for clocks and TTL rounding (seconds)."""

# DynamoDB items are at most 400 KB (names and values), and a batch's targets can take about 800 KB:
# 1000 ids of 128 characters, 4 UTF-8 bytes each (emoji) or 6 in JSON (control characters, escaped).
# Each item is kept under ITEM_BUDGET_BYTES (300 KB), measured as DynamoDB counts (store/parts.py).
# https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Constraints.html#limits-items
_MESSAGE, _BATCH = "message#", "batch#"
_TAG_BYTES = 8


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
    """A message or batch sent with ``"wait": false``: who sent it, its deadline, its targets, and
    (for a batch sent by ``filter``) the paging its answer carried (``matched``, ``next_cursor``)."""

    owner: str
    deadline_ms: int
    targets: tuple[Target, ...]
    paging: dict[str, Any] | None = None


def outcome_expiry_s(deadline_ms: int) -> int:
    """The TTL (epoch seconds) of a record, and of the messages it points to."""
    return -(-deadline_ms // 1000) + OUTCOME_RETENTION_S


class Outcomes:
    """Records of messages and batches answered later (table ``outcomes``)."""

    def __init__(self, table: Table) -> None:
        self.table = table

    def put_message_record(self, record_id: str, record: OutcomeRecord) -> None:
        """Keep a message's record; ``RecordExists`` when one has this id already."""
        self._put(_MESSAGE + record_id, record)

    def put_batch_record(
        self, record_id: str, record: OutcomeRecord, replaces_before_ms: int | None = None
    ) -> None:
        """Keep a batch's record; ``RecordExists`` when one has this id already, unless that one's
        deadline is before ``replaces_before_ms`` (epoch ms): an idempotent call's derived id is then
        that of an earlier call whose retry window has passed, and its record is replaced (a record
        past its TTL may still be there: deletion lags)."""
        self._put(_BATCH + record_id, record, replaces_before_ms)

    def get_message_record(self, record_id: str) -> OutcomeRecord | None:
        return self._get(_MESSAGE + record_id)

    def get_batch_record(self, record_id: str) -> OutcomeRecord | None:
        return self._get(_BATCH + record_id)

    def _put(self, item_id: str, record: OutcomeRecord, replaces_before_ms: int | None = None) -> None:
        targets = [[t.session_id, t.connection_id, t.message_id] for t in record.targets]
        item = {
            "id": item_id,
            "owner": record.owner,
            "deadline_ms": record.deadline_ms,
            "targets": dump_json(targets),
            "expires_at": outcome_expiry_s(record.deadline_ms),
        }
        if record.paging is not None:
            item["paging"] = dump_json(record.paging)
        if item_bytes(item) > ITEM_BUDGET_BYTES:
            item = self._put_parts(item, [dump_json(target) for target in targets])
        # Random ids never collide (a collision would hand one owner another's outcome); an idempotent
        # call's derived id exists already when an earlier attempt of that call wrote it.
        condition, values = "attribute_not_exists(id)", None
        if replaces_before_ms is not None:
            condition, values = f"{condition} OR deadline_ms < :before", {":before": replaces_before_ms}
        self.table.conditional("put_item", item, condition, values=values, refused=RecordExists(item_id))

    def _put_parts(self, item: dict[str, Any], targets: list[str]) -> dict[str, Any]:
        """Write the targets after the first that fit ``item`` as its parts; returns ``item`` with the
        first targets and where its parts are (``parts``: how many, ``part_tag``: their ids' tag)."""
        tag = secrets.token_hex(_TAG_BYTES)
        head = {**item, "targets": "", "parts": len(targets), "part_tag": tag}
        largest_part = _part(item, tag, len(targets), "")  # its id at its longest
        lists = json_lists(targets, ITEM_BUDGET_BYTES - max(item_bytes(head), item_bytes(largest_part)))
        for number, text in enumerate(lists[1:], start=1):
            self.table.put(_part(item, tag, number, text), condition="attribute_not_exists(id)")
        return {**head, "targets": lists[0], "parts": len(lists) - 1}

    def _get(self, item_id: str) -> OutcomeRecord | None:
        item = self.table.get({"id": item_id})
        if item is None or "owner" not in item or not live(item, clock.now_s()):  # a part is no record
            return None
        entries = json.loads(item["targets"])
        for text in self._read_parts(item):
            entries.extend(json.loads(text))
        targets = tuple(Target(*entry) for entry in entries)
        paging = json.loads(item["paging"]) if "paging" in item else None
        return OutcomeRecord(item["owner"], item["deadline_ms"], targets, paging)

    def _read_parts(self, item: dict[str, Any]) -> list[str]:
        """The targets texts of a record's parts, in order (none for a record in one item)."""
        ids = [_part_id(item["id"], item.get("part_tag", ""), n) for n in range(1, item.get("parts", 0) + 1)]
        if not ids:
            return []
        found = {part["id"]: part["targets"] for part in self.table.batch_get([{"id": i} for i in ids])}
        if len(found) < len(ids):  # written before the record, expiring with it: cannot happen
            raise RuntimeError(f"a part of record {item['id']} is missing")
        return [found[i] for i in ids]


def _part_id(item_id: str, tag: str, number: int) -> str:
    return f"{item_id}#{tag}#{number}"


def _part(item: dict[str, Any], tag: str, number: int, targets: str) -> dict[str, Any]:
    """A record's part: the JSON text of some of its targets, expiring with it."""
    return {"id": _part_id(item["id"], tag, number), "targets": targets, "expires_at": item["expires_at"]}
