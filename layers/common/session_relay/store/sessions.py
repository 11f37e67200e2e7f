"""The sessions repository: sessions, their connection mappings, and the listing (sort key, cursors).

sessions:    ``id`` -> one session; GSI ``by_script`` (``script_id``, ``listing_key``) for listing.
connections: ``item = "session"`` maps the connection to its session.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from session_relay import clock
from session_relay.contract import Identity, Session
from session_relay.store.keys import SESSION_ITEM, live, mapping_key, session_key
from session_relay.store.listing import decode_cursor, encode_cursor, listing_key
from session_relay.store.table import Table, batch_write

# API Gateway closes any connection after 2 hours, and one idle for 10 minutes; pings are answered
# by API Gateway itself and never reach the functions, so a session's expiry is fixed at its
# connection's 2-hour cap plus a margin: a session whose $disconnect was lost stops being listed
# then at the latest.
# https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-execution-service-websocket-limits-table.html
SESSION_MAX_S = 2 * 60 * 60 + 60
# Why a session ended, written on its item just before the delete, so the change stream's old image
# tells an owner's or a ban's disconnect and a flood close from a client's own close
# (service/webhooks_events.py turns it into the reason of ``session.disconnected``).
ENDED_REASON = "ended_reason"
# ``FUNCTION`` is a DynamoDB reserved word: the filter names its attribute through a placeholder.
# https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ReservedWords.html
_FUNCTION_FILTER = "contains(#functions, :function)"


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """A live session and the connection that carries it."""

    session: Session
    connection_id: str


def session_from_item(item: dict[str, Any]) -> SessionRecord:
    session = Session(
        id=item["id"],
        user_key=item["user_key"],
        script_id=item["script_id"],
        roblox_id=item["roblox_id"],
        place_id=item["place_id"],
        job_id=item["job_id"],
        created_at=item["created_at"],
        last_seen_at=item["last_seen_at"],
        functions=tuple(sorted(item.get("functions", ()))) if item.get("functions_declared") else None,
    )
    return SessionRecord(session=session, connection_id=item["connection_id"])


def session_expiry_s(created_at_ms: int) -> int:
    return created_at_ms // 1000 + SESSION_MAX_S


def session_item(
    session: Session, connection_id: str, expires_s: int, ended_reason: str | None = None
) -> dict[str, Any]:
    item = {
        **session_key(session.id),
        "connection_id": connection_id,
        "script_id": session.script_id,
        "user_key": session.user_key,
        "roblox_id": session.roblox_id,
        "place_id": session.place_id,
        "job_id": session.job_id,
        "created_at": session.created_at,
        "last_seen_at": session.last_seen_at,
        "listing_key": listing_key(session.created_at, session.id),
        "expires_at": expires_s,
        **declared_attributes(session.functions),
    }
    if ended_reason is not None:
        item[ENDED_REASON] = ended_reason
    return item


def declared_attributes(functions: tuple[str, ...] | list[str] | None) -> dict[str, Any]:
    """A declaration as stored: ``functions_declared``, and the names as a string set when there are
    any. DynamoDB has no empty set ("DynamoDB does not support empty sets"), so ``[]`` is the flag
    alone: https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/HowItWorks.NamingRulesDataTypes.html
    """
    if functions is None:
        return {}
    return {"functions_declared": True, **({"functions": set(functions)} if functions else {})}


class Sessions:
    """Sessions (table ``sessions``) and the items mapping a connection to its session
    (table ``connections``)."""

    def __init__(self, sessions: Table, connections: Table) -> None:
        self.table = sessions
        self.connections = connections

    def create(self, session_id: str, identity: Identity, connection_id: str) -> Session:
        """Write a new session and its connection mapping (one BatchWriteItem)."""
        created = clock.now_ms()
        session = Session(id=session_id, created_at=created, last_seen_at=created, **identity.as_dict())
        item = session_item(session, connection_id, session_expiry_s(created))
        mapping = {
            **mapping_key(connection_id),
            "session_id": session_id,
            # Kept for the connection's whole life (API Gateway's 2-hour cap), like the session.
            "expires_at": session_expiry_s(created),
        }
        # One request for both items; an id is its connection's own (a 128-bit digest of it, or 128
        # random bits), so no existence condition is needed.
        batch_write(self.table.client, [self.table.put_request(item), self.connections.put_request(mapping)])
        return session

    def get(self, session_id: str) -> SessionRecord | None:
        """The live session with this id, or None (strongly consistent)."""
        item = self.table.get(session_key(session_id))
        if item is None or not live(item, clock.now_s()):
            return None
        return session_from_item(item)

    def get_many(self, session_ids: list[str]) -> dict[str, SessionRecord]:
        """The live sessions among these ids, by id (BatchGetItem, 100 keys a call)."""
        items = self.table.batch_get([session_key(sid) for sid in session_ids])
        now_s = clock.now_s()
        return {item["id"]: session_from_item(item) for item in items if live(item, now_s)}

    def touch(self, session_id: str) -> Session | None:
        """Record a frame from the client: set ``last_seen_at`` (one UpdateItem); None if gone."""
        seen = clock.now_ms()
        written = self.table.conditional(
            "update_item",
            session_key(session_id),
            "attribute_exists(id) AND expires_at > :now",
            update="SET last_seen_at = :seen",
            values={":seen": seen, ":now": seen // 1000},
            returns="ALL_NEW",
        )
        return session_from_item(written.item).session if written.applied else None

    def declare(self, session_id: str, names: list[str]) -> Session | None:
        """Replace the session's declared functions (and set ``last_seen_at``: a frame from the client),
        one UpdateItem; None if the session is gone."""
        seen = clock.now_ms()
        values: dict[str, Any] = {":seen": seen, ":now": seen // 1000, ":yes": True}
        update = "SET last_seen_at = :seen, functions_declared = :yes"
        if names:
            update += ", #functions = :names"
            values[":names"] = set(names)
        else:  # no empty set in DynamoDB: the flag alone is an empty declaration
            update += " REMOVE #functions"
        written = self.table.conditional(
            "update_item",
            session_key(session_id),
            "attribute_exists(id) AND expires_at > :now",
            update=update,
            names={"#functions": "functions"},
            values=values,
            returns="ALL_NEW",
        )
        return session_from_item(written.item).session if written.applied else None

    def session_id_for_connection(self, connection_id: str) -> str | None:
        item = self.connections.get(mapping_key(connection_id))
        if item is None or not live(item, clock.now_s()):
            return None
        return item["session_id"]

    def delete(self, records: Iterable[SessionRecord]) -> None:
        """Delete sessions and their connection mappings (messages still pending are cleared when
        the gateway reports the close)."""
        requests: list[tuple[str, dict[str, Any]]] = []
        for record in records:
            requests.append(self.table.delete_request(session_key(record.session.id)))
            requests.append(self.connections.delete_request(mapping_key(record.connection_id)))
        batch_write(self.table.client, requests)

    def delete_connection(self, connection_id: str, session_id: str | None) -> None:
        """Delete a closed connection's mapping and, if given, its session (one BatchWriteItem)."""
        requests = [self.connections.delete_request(mapping_key(connection_id))]
        if session_id is not None:
            requests.append(self.table.delete_request(session_key(session_id)))
        batch_write(self.table.client, requests)

    def hide(self, records: list[SessionRecord], reason: str) -> None:
        """Mark sessions expired (one batch write): every read treats them as gone from now on; each
        item keeps why it is ending (``reason``: ``owner``, ``banned``) for the change stream."""
        self._put(records, hidden=True, reason=reason)

    def unhide(self, records: list[SessionRecord]) -> None:
        """Undo ``hide`` for sessions that stay connected."""
        self._put(records, hidden=False)

    def _put(self, records: list[SessionRecord], hidden: bool, reason: str | None = None) -> None:
        requests = []
        for record in records:
            session = record.session
            expires = 0 if hidden else session_expiry_s(session.created_at)
            item = session_item(session, record.connection_id, expires, reason)
            requests.append(self.table.put_request(item))
        batch_write(self.table.client, requests)

    def mark_ended(self, session_id: str, reason: str) -> bool:
        """Note why a session is about to end (``ended_reason``: ``owner``, ``banned``, ``flood``), written
        just before whatever closes or deletes it; nothing (False) when the session is gone already."""
        written = self.table.conditional(
            "update_item",
            session_key(session_id),
            "attribute_exists(id)",
            update=f"SET {ENDED_REASON} = :reason",
            values={":reason": reason},
        )
        return written.applied

    def page(
        self,
        script_ids: Iterable[str],
        filters: dict[str, str | int],
        limit: int,
        cursor: str | None,
    ) -> tuple[list[SessionRecord], str | None]:
        """Live sessions of these scripts, newest first (ties by id), with their connections, and
        the next page's cursor. The cursor is a position in the listing order, so pages cover each
        session once while others come (newer: before the cursor) and go."""
        after = decode_cursor(cursor) if cursor else None
        # TTL deletion lags: an expired item still in the index is filtered out here.
        # https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ttl-expired-items.html
        conditions = ["expires_at > :now"]
        values: dict[str, Any] = {":now": clock.now_s()}
        for field, value in sorted(filters.items()):
            # A declared function is in the index item (the by_script index projects every attribute),
            # so the filter costs no read per session.
            conditions.append(_FUNCTION_FILTER if field == "function" else f"{field} = :{field}")
            values[f":{field}"] = value
        found: list[tuple[str, SessionRecord]] = []
        for script_id in sorted(set(script_ids)):
            found.extend(self._list_script(script_id, after, " AND ".join(conditions), values, limit + 1))
        found.sort(key=lambda pair: pair[0])
        page = found[:limit]
        next_cursor = encode_cursor(page[-1][0]) if len(found) > limit else None
        return [record for _, record in page], next_cursor

    def _list_script(
        self, script_id: str, after: str | None, condition: str, values: dict[str, Any], wanted: int
    ) -> list[tuple[str, SessionRecord]]:
        key_condition = "script_id = :script"
        values = {**values, ":script": script_id}
        if after is not None:
            key_condition += " AND listing_key > :after"
            values[":after"] = after
        items = self.table.query(
            names={"#functions": "functions"} if ":function" in values else None,
            values=values,
            IndexName="by_script",
            KeyConditionExpression=key_condition,
            FilterExpression=condition,
            Limit=max(wanted, 25),
        )
        found: list[tuple[str, SessionRecord]] = []
        for item in items:
            found.append((item["listing_key"], session_from_item(item)))
            if len(found) == wanted:
                break  # no further page is read once enough sessions are found
        return found

    def connections_with_sessions(self) -> list[str]:
        """Every connection id that carries a session (a full scan: for maintenance, not requests)."""
        items = self.connections.scan(
            names={"#item": "item"},
            values={":session": SESSION_ITEM},
            FilterExpression="#item = :session",
            ProjectionExpression="connection_id",
        )
        return [item["connection_id"] for item in items]
