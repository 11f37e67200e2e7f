"""Sessions and their connection mappings, and the listing: sort key and cursors.

sessions:    ``id`` -> one session; GSI ``by_script`` (``script_id``, ``listing_key``) for listing.
connections: ``item = "session"`` maps the connection to its session.
"""

import base64
import binascii
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from session_relay.contract import Identity, Session, field_sentence
from session_relay.errors import ValidationFailed
from session_relay.store.items import (
    MESSAGE_PREFIX,
    PENDING,
    SESSION_ITEM,
    Tables,
    condition_failed,
    live,
    mapping_key,
    n,
    s,
    session_key,
    translated_errors,
)

# API Gateway closes any connection after 2 hours, and one idle for 10 minutes; pings are answered
# by API Gateway itself and never reach the functions, so a session's expiry is fixed at its
# connection's 2-hour cap plus a margin: a session whose $disconnect was lost stops being listed
# then at the latest.
# https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-execution-service-websocket-limits-table.html
SESSION_MAX_S = 2 * 60 * 60 + 60

# Listing sorts newest first, then by id ascending: the sort key stores the inverted creation time.
_LISTING_MAX_MS = 10**15 - 1
# ASCII digits only: ``\d`` alone would also take other scripts' digits (Arabic-Indic and more).
_CURSOR_PATTERN = re.compile(r"^[0-9]{15}#.{1,128}$", re.DOTALL)


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """A live session and the connection that carries it."""

    session: Session
    connection_id: str


def session_from_item(item: dict[str, Any]) -> SessionRecord:
    session = Session(
        id=item["id"]["S"],
        user_key=item["user_key"]["S"],
        script_id=item["script_id"]["S"],
        roblox_id=int(item["roblox_id"]["N"]),
        place_id=int(item["place_id"]["N"]),
        job_id=item["job_id"]["S"],
        created_at=int(item["created_at"]["N"]),
        last_seen_at=int(item["last_seen_at"]["N"]),
    )
    return SessionRecord(session=session, connection_id=item["connection_id"]["S"])


def session_expiry_s(created_at_ms: int) -> int:
    return created_at_ms // 1000 + SESSION_MAX_S


def session_item(session: Session, connection_id: str, expires_s: int) -> dict[str, Any]:
    return {
        **session_key(session.id),
        "connection_id": s(connection_id),
        "script_id": s(session.script_id),
        "user_key": s(session.user_key),
        "roblox_id": n(session.roblox_id),
        "place_id": n(session.place_id),
        "job_id": s(session.job_id),
        "created_at": n(session.created_at),
        "last_seen_at": n(session.last_seen_at),
        "listing_key": s(listing_key(session.created_at, session.id)),
        "expires_at": n(expires_s),
    }


def listing_key(created_at_ms: int, session_id: str) -> str:
    return f"{_LISTING_MAX_MS - created_at_ms:015d}#{session_id}"


def encode_cursor(key: str) -> str:
    return base64.urlsafe_b64encode(key.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    """The listing key a cursor points after; a cursor not made by ``encode_cursor`` is a 422."""
    try:
        key = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        key = ""
    if not _CURSOR_PATTERN.match(key):
        raise ValidationFailed(field_sentence("cursor", cursor))
    return key


class SessionStore(Tables):
    def create_session(self, session_id: str, identity: Identity, connection_id: str) -> Session:
        """Write a new session and its connection mapping (one BatchWriteItem)."""
        created = self.now_ms()
        session = Session(id=session_id, created_at=created, last_seen_at=created, **identity.as_dict())
        item = session_item(session, connection_id, session_expiry_s(created))
        mapping = {
            **mapping_key(connection_id),
            "session_id": s(session_id),
            # Kept for the connection's whole life (API Gateway's 2-hour cap), like the session.
            "expires_at": n(session_expiry_s(created)),
        }
        # One request for both items; ids are 128 random bits, so no existence condition is needed.
        self._batch_write(
            [
                (self.sessions_table, {"PutRequest": {"Item": item}}),
                (self.connections_table, {"PutRequest": {"Item": mapping}}),
            ]
        )
        return session

    def get_session(self, session_id: str) -> SessionRecord | None:
        """The live session with this id, or None (strongly consistent)."""
        item = self._get(self.sessions_table, session_key(session_id))
        if item is None or not live(item, self.now_s()):
            return None
        return session_from_item(item)

    def get_sessions(self, session_ids: list[str]) -> dict[str, SessionRecord]:
        """The live sessions among these ids, by id (BatchGetItem, 100 keys a call)."""
        items = self._batch_get(self.sessions_table, [session_key(sid) for sid in session_ids])
        now_s = self.now_s()
        return {item["id"]["S"]: session_from_item(item) for item in items if live(item, now_s)}

    def touch_session(self, session_id: str) -> Session | None:
        """Record a frame from the client: set ``last_seen_at`` (one UpdateItem); None if gone."""
        seen = self.now_ms()
        try:
            with translated_errors():
                item = self.client.update_item(
                    TableName=self.sessions_table,
                    Key=session_key(session_id),
                    UpdateExpression="SET last_seen_at = :seen",
                    ConditionExpression="attribute_exists(id) AND expires_at > :now",
                    ExpressionAttributeValues={":seen": n(seen), ":now": n(seen // 1000)},
                    ReturnValues="ALL_NEW",
                )["Attributes"]
        except ClientError as exc:
            if condition_failed(exc):
                return None
            raise
        return session_from_item(item).session

    def session_id_for_connection(self, connection_id: str) -> str | None:
        item = self._get(self.connections_table, mapping_key(connection_id))
        if item is None or not live(item, self.now_s()):
            return None
        return item["session_id"]["S"]

    def delete_sessions(self, records: Iterable[SessionRecord]) -> None:
        """Delete sessions and their connection mappings (messages still pending are cleared by
        ``drop_connection`` when the gateway reports the close)."""
        requests: list[tuple[str, dict[str, Any]]] = []
        for record in records:
            requests.append((self.sessions_table, session_key(record.session.id)))
            requests.append((self.connections_table, mapping_key(record.connection_id)))
        self._batch_delete(requests)

    def hide_sessions(self, records: list[SessionRecord]) -> None:
        """Mark sessions expired (one batch write): every read treats them as gone from now on."""
        self._put_sessions(records, hidden=True)

    def unhide_sessions(self, records: list[SessionRecord]) -> None:
        """Undo ``hide_sessions`` for sessions that stay connected."""
        self._put_sessions(records, hidden=False)

    def _put_sessions(self, records: list[SessionRecord], hidden: bool) -> None:
        requests = []
        for record in records:
            session = record.session
            expires = 0 if hidden else session_expiry_s(session.created_at)
            item = session_item(session, record.connection_id, expires)
            requests.append((self.sessions_table, {"PutRequest": {"Item": item}}))
        self._batch_write(requests)

    def drop_connection(self, connection_id: str) -> str | None:
        """Forget a closed connection: its session, its mapping and its messages still pending.

        Returns the session id it carried, if any. Deleting pending messages is what tells their
        waiting callers, at their next poll, that the client went away. Answered messages stay
        (until their TTL): a reply sent just before the close must still reach its caller.
        """
        pending: list[str] = []
        session_id = None
        query: dict[str, Any] = {
            "TableName": self.connections_table,
            "KeyConditionExpression": "connection_id = :c",
            "ExpressionAttributeValues": {":c": s(connection_id)},
            "ProjectionExpression": "#item, session_id, #status",
            "ExpressionAttributeNames": {"#item": "item", "#status": "status"},
            "ConsistentRead": True,
        }
        for item in self._items(self.client.query, query):
            if item["item"]["S"] == SESSION_ITEM:
                session_id = item["session_id"]["S"]
            elif item.get("status", {}).get("S") == PENDING:
                pending.append(item["item"]["S"].removeprefix(MESSAGE_PREFIX))
        for message_id in pending:
            # ``withdraw_message`` comes from MessageStore, composed beside this class in ``Store``.
            # Conditional, so a reply that lands between the query and here is kept, not lost.
            self.withdraw_message(connection_id, message_id)
        requests = [(self.connections_table, mapping_key(connection_id))]
        if session_id is not None:
            requests.append((self.sessions_table, session_key(session_id)))
        self._batch_delete(requests)
        return session_id

    def list_sessions(
        self,
        script_ids: Iterable[str],
        filters: dict[str, str | int],
        limit: int,
        cursor: str | None,
    ) -> tuple[list[Session], str | None]:
        """Live sessions of these scripts, newest first (ties by id), and the next page's cursor."""
        records, next_cursor = self.list_session_records(script_ids, filters, limit, cursor)
        return [record.session for record in records], next_cursor

    def list_session_records(
        self,
        script_ids: Iterable[str],
        filters: dict[str, str | int],
        limit: int,
        cursor: str | None,
    ) -> tuple[list[SessionRecord], str | None]:
        """``list_sessions`` with each session's connection: the targets of a bulk call by filter.
        The cursor is a position in the listing order, so pages cover each session once while
        others come (newer: before the cursor) and go."""
        after = decode_cursor(cursor) if cursor else None
        conditions = ["expires_at > :now"]
        values: dict[str, Any] = {":now": n(self.now_s())}
        for field, value in sorted(filters.items()):
            conditions.append(f"{field} = :{field}")
            values[f":{field}"] = n(value) if isinstance(value, int) else s(value)
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
        values = {**values, ":script": s(script_id)}
        if after is not None:
            key_condition += " AND listing_key > :after"
            values[":after"] = s(after)
        query: dict[str, Any] = {
            "TableName": self.sessions_table,
            "IndexName": "by_script",
            "KeyConditionExpression": key_condition,
            "FilterExpression": condition,
            "ExpressionAttributeValues": values,
            "Limit": max(wanted, 25),
        }
        found: list[tuple[str, SessionRecord]] = []
        for item in self._items(self.client.query, query):
            found.append((item["listing_key"]["S"], session_from_item(item)))
            if len(found) == wanted:
                break  # no further page is read once enough sessions are found
        return found

    def connections_with_sessions(self) -> list[str]:
        """Every connection id that carries a session (a full scan: for maintenance, not requests)."""
        scan: dict[str, Any] = {
            "TableName": self.connections_table,
            "FilterExpression": "#item = :session",
            "ExpressionAttributeNames": {"#item": "item"},
            "ExpressionAttributeValues": {":session": s(SESSION_ITEM)},
            "ProjectionExpression": "connection_id",
        }
        return [item["connection_id"]["S"] for item in self._items(self.client.scan, scan)]
