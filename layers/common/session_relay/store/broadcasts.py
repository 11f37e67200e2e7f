"""The broadcasts repository (table ``broadcasts``, key ``id`` + ``item``).

- ``id = B``, ``item = "broadcast"``: who sent it, what and to whom, the flags (``cancelled``,
  ``matched`` once planning ended, ``done``); GSI ``by_owner`` lists a key's broadcasts newest first.
- ``id = B``, ``item = "chunk#<n>"``: one chunk's counts, written whole (never added to), so a retried
  chunk writes the same numbers again. These are the broadcast's sharded counters: a read sums them.
- ``id = "<B>#o<k>"``, ``item = "o#<chunk>#<session>"``: the outcome of each decided session, in
  ``shards`` partitions (each under DynamoDB's 1,000 writes a second per partition key).
- ``id = "<B>#s#<session>"``, ``item = "sent"``: the guard written once before a session's frame.
- ``id = "running#<key id>"``: the key's running broadcasts (a string set), for ``MaxBroadcastsPerKey``.
"""

import json
from dataclasses import dataclass, field
from typing import Any

from session_relay import clock
from session_relay.errors import RecordExists
from session_relay.store.keys import live
from session_relay.store.sessions import decode_cursor, encode_cursor, listing_key
from session_relay.store.table import Table, batch_write

BROADCAST_ITEM = "broadcast"
CHUNK_PREFIX = "chunk#"
OUTCOME_PREFIX = "o#"
# Every item outlives the longest broadcast; the broadcast item is kept 25 hours after it is done.
WORK_TTL_S = 7 * 24 * 3600
DONE_TTL_S = 25 * 3600
FINAL = 2  # a chunk's last stage: every session of it decided
# Attribute names are always aliased in expressions (none can then collide with a reserved word).
_NAMES = ("#cancelled", "#done", "#matched", "#chunks", "#expires_at", "#running", "#stage")


def chunk_item(number: int) -> str:
    return f"{CHUNK_PREFIX}{number:07d}"


def outcome_item(chunk: int, session_id: str) -> str:
    return f"{OUTCOME_PREFIX}{chunk:07d}#{session_id}"


@dataclass(frozen=True, slots=True)
class BroadcastRecord:
    """A broadcast as stored. ``data`` is the JSON text of the message's data (message broadcasts)."""

    id: str
    owner: str
    action: str
    filter: dict[str, Any]
    scripts: tuple[str, ...]
    created_at: int
    shards: int = 1
    key: str | None = None
    data: str | None = None
    timeout_ms: int | None = None
    cancelled: bool = False
    matched: int | None = None
    chunks: int | None = None
    done: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def _record(item: dict[str, Any]) -> BroadcastRecord:
    return BroadcastRecord(
        id=item["id"],
        owner=item["owner"],
        action=item["action"],
        filter=json.loads(item["filter"]),
        scripts=tuple(json.loads(item["scripts"])),
        created_at=item["created_at"],
        shards=item.get("shards", 1),
        key=item.get("key"),
        data=item.get("data"),
        timeout_ms=item.get("timeout_ms"),
        cancelled=bool(item.get("cancelled")),
        matched=item.get("matched"),
        chunks=item.get("chunks"),
        done=bool(item.get("done")),
    )


class Broadcasts:
    """Broadcasts, their counts, guards and outcomes (table ``broadcasts``)."""

    def __init__(self, table: Table) -> None:
        self.table = table

    # ---------------------------------------------------------------- the broadcast item

    def create(self, record: BroadcastRecord) -> None:
        item = {
            "id": record.id,
            "item": BROADCAST_ITEM,
            "owner": record.owner,
            "listing_key": listing_key(record.created_at, record.id),
            "action": record.action,
            "filter": json.dumps(record.filter, sort_keys=True),
            "scripts": json.dumps(sorted(record.scripts)),
            "created_at": record.created_at,
            "shards": record.shards,
            "expires_at": clock.now_s() + WORK_TTL_S,
        }
        for name in ("key", "data", "timeout_ms"):
            if getattr(record, name) is not None:
                item[name] = getattr(record, name)
        self.table.conditional("put_item", item, "attribute_not_exists(id)", refused=RecordExists(record.id))

    def discard(self, broadcast_id: str) -> None:
        """Delete a broadcast whose planning could not be queued (nothing was sent)."""
        self.table.delete({"id": broadcast_id, "item": BROADCAST_ITEM})

    def get(self, broadcast_id: str) -> BroadcastRecord | None:
        item = self.table.get({"id": broadcast_id, "item": BROADCAST_ITEM})
        if item is None or not live(item, clock.now_s()):
            return None
        return _record(item)

    def page(self, owner: str, limit: int, cursor: str | None) -> tuple[list[BroadcastRecord], str | None]:
        """The owner's broadcasts, newest first (GSI ``by_owner``), and the next page's cursor."""
        values: dict[str, Any] = {":owner": owner, ":now": clock.now_s()}
        condition = "#owner = :owner"
        if cursor is not None:
            values[":after"] = decode_cursor(cursor)
            condition += " AND listing_key > :after"
        items = self.table.query(
            names={"#owner": "owner", "#expires_at": "expires_at"},
            values=values,
            IndexName="by_owner",
            KeyConditionExpression=condition,
            FilterExpression="#expires_at > :now",
            Limit=limit + 1,
        )
        found: list[dict[str, Any]] = []
        for item in items:
            found.append(item)
            if len(found) > limit:
                break
        page = found[:limit]
        next_cursor = encode_cursor(page[-1]["listing_key"]) if len(found) > limit else None
        return [_record(item) for item in page], next_cursor

    def _update(self, broadcast_id: str, update: str, condition: str, values: dict[str, Any]) -> bool:
        return self.table.conditional(
            "update_item",
            {"id": broadcast_id, "item": BROADCAST_ITEM},
            condition,
            update=update,
            names={name: name[1:] for name in _NAMES if name in update or name in condition},
            values=values,
        ).applied

    def cancel(self, broadcast_id: str) -> None:
        """Set the cancel flag (once; a done broadcast stays as it is)."""
        self._update(
            broadcast_id,
            "SET #cancelled = :at",
            "attribute_exists(id) AND attribute_not_exists(#done)",
            {":at": clock.now_ms()},
        )

    def set_matched(self, broadcast_id: str, matched: int, chunks: int) -> None:
        """Planning ended: every matching session found, in ``chunks`` chunks (set once)."""
        self._update(
            broadcast_id,
            "SET #matched = :m, #chunks = :c",
            "attribute_not_exists(#matched)",
            {":m": matched, ":c": chunks},
        )

    def mark_done(self, broadcast_id: str) -> bool:
        """Set ``done`` once (True for the call that set it); kept 25 hours from now."""
        return self._update(
            broadcast_id,
            "SET #done = :yes, #expires_at = :expires",
            "attribute_not_exists(#done)",
            {":yes": True, ":expires": clock.now_s() + DONE_TTL_S},
        )

    # ---------------------------------------------------------------- running broadcasts per key

    def take_slot(self, owner: str, broadcast_id: str, cap: int) -> bool:
        """Add the broadcast to the key's running set unless ``cap`` are running already."""
        return self.table.conditional(
            "update_item",
            {"id": f"running#{owner}", "item": "running"},
            "attribute_not_exists(#running) OR size(#running) < :cap",
            update="ADD #running :ids",
            names={"#running": "running"},
            values={":ids": {broadcast_id}, ":cap": cap},
        ).applied

    def free_slot(self, owner: str, broadcast_id: str) -> None:
        """Remove it from the running set (a set: freeing twice changes nothing)."""
        self.table.update(
            {"id": f"running#{owner}", "item": "running"},
            "DELETE #running :ids",
            names={"#running": "running"},
            values={":ids": {broadcast_id}},
        )

    # ---------------------------------------------------------------- guards, counts, outcomes

    def guard(self, broadcast_id: str, session_id: str, sent: dict[str, Any]) -> dict[str, Any] | None:
        """Write the session's guard unless it exists: None when written now, else the guard as it was
        (a retried chunk: that session was handled already)."""
        item = {"id": f"{broadcast_id}#s#{session_id}", "item": "sent", **sent}
        item["expires_at"] = clock.now_s() + WORK_TTL_S
        written = self.table.conditional("put_item", item, "attribute_not_exists(id)", old_on_refusal=True)
        return None if written.applied else written.item

    def posting(self, broadcast_id: str, token: str, until_ms: int | None) -> None:
        """Mark a group of posts under way until ``until_ms`` (epoch ms), or (None) over."""
        key = {"id": broadcast_id, "item": f"posting#{token}"}
        if until_ms is None:
            self.table.delete(key)
        else:
            self.table.put({**key, "until_ms": until_ms, "expires_at": clock.now_s() + WORK_TTL_S})

    def postings(self, broadcast_id: str) -> list[int]:
        """When each group of posts under way ends at the latest (epoch ms)."""
        items = self.table.query(
            names={"#id": "id", "#item": "item"},
            values={":b": broadcast_id, ":prefix": "posting#"},
            KeyConditionExpression="#id = :b AND begins_with(#item, :prefix)",
            ConsistentRead=True,
        )
        return [item["until_ms"] for item in items]

    def unguard(self, broadcast_id: str, session_ids: list[str]) -> None:
        """Lift the guards of sessions whose frame was not delivered, so a later attempt posts it."""
        keys = [{"id": f"{broadcast_id}#s#{sid}", "item": "sent"} for sid in session_ids]
        batch_write(self.table.client, [self.table.delete_request(key) for key in keys])

    def put_chunk(self, broadcast_id: str, number: int, counts: dict[str, int], stage: int) -> None:
        """A chunk's counts at ``stage``, whole; never over a later stage's."""
        item = {"id": broadcast_id, "item": chunk_item(number), "stage": stage, **counts}
        item["expires_at"] = clock.now_s() + WORK_TTL_S
        self.table.conditional(
            "put_item",
            item,
            "attribute_not_exists(#stage) OR #stage <= :stage",
            names={"#stage": "stage"},
            values={":stage": stage},
        )

    def chunks(self, broadcast_id: str) -> list[dict[str, Any]]:
        """Every chunk's counts, in chunk order."""
        return list(
            self.table.query(
                names={"#id": "id", "#item": "item"},
                values={":b": broadcast_id, ":prefix": CHUNK_PREFIX},
                KeyConditionExpression="#id = :b AND begins_with(#item, :prefix)",
                ConsistentRead=True,
            )
        )

    def put_outcomes(self, record: BroadcastRecord, chunk: int, outcomes: dict[str, dict[str, Any]]) -> None:
        """One item per decided session of a chunk (BatchWriteItem; written again alike on a retry)."""
        shard = f"{record.id}#o{chunk % record.shards}"
        expires = clock.now_s() + WORK_TTL_S
        requests = [
            self.table.put_request(
                {
                    "id": shard,
                    "item": outcome_item(chunk, sid),
                    "outcome": json.dumps(o),
                    "expires_at": expires,
                }
            )
            for sid, o in outcomes.items()
        ]
        batch_write(self.table.client, requests)

    def outcomes(
        self, record: BroadcastRecord, after: str, upto_chunk: int, limit: int
    ) -> list[dict[str, Any]]:
        """Up to ``limit`` outcome items after the item key ``after``, of chunks below ``upto_chunk``, in
        key order across the shards (each shard queried in order, then merged)."""
        high = f"{OUTCOME_PREFIX}{upto_chunk:07d}"
        found: list[dict[str, Any]] = []
        for shard in range(record.shards):
            items = self.table.query(
                names={"#id": "id", "#item": "item"},
                values={":id": f"{record.id}#o{shard}", ":low": after + " ", ":high": high},
                KeyConditionExpression="#id = :id AND #item BETWEEN :low AND :high",
                ConsistentRead=True,
                Limit=limit,
            )
            for number, item in enumerate(items):
                found.append(item)
                if number + 1 >= limit:
                    break
        return sorted(found, key=lambda item: item["item"])[:limit]
