"""All DynamoDB access. No other module builds a key, an expression or an item.

Tables (defined in template.yaml):
- sessions:    ``id`` -> one session; GSI ``by_script`` (``script_id``, ``listing_key``) for listing.
- connections: (``connection_id``, ``item``) -> everything hanging off one WebSocket connection:
  ``item = "session"`` maps the connection to its session, ``item = "message#<id>"`` is a message
  sent on it. A reply can only ever address the replying connection's own partition, and
  ``$disconnect`` clears the whole partition with one query.
- auth:        ``pk`` -> ``script#<id>`` (a script) or ``apikey#<sha256>`` (an owner API key).
Every item carries ``expires_at`` (epoch seconds, the table's TTL attribute); reads treat an
expired item as absent because TTL deletion can lag.
"""

import base64
import binascii
import json
import re
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from session_relay.aws import dynamodb_client
from session_relay.errors import ReplyRejected, ServiceUnavailable, ValidationFailed
from session_relay.models import Identity, Outcome, Session
from session_relay.settings import Settings, get_settings
from session_relay.wire import dump_json

SESSION_ITEM = "session"
MESSAGE_PREFIX = "message#"
PENDING, ANSWERED = "pending", "answered"

# API Gateway drops a connection idle for 10 minutes and any connection after 2 hours.
SESSION_IDLE_S = 11 * 60
SESSION_MAX_S = 2 * 60 * 60 + 60

# Listing sorts newest first, then by id ascending: the sort key stores the inverted creation time.
_LISTING_MAX_MS = 10**15 - 1
# ASCII digits only: ``\d`` alone would also take other scripts' digits (Arabic-Indic and more).
_CURSOR_PATTERN = re.compile(r"^[0-9]{15}#.{1,128}$", re.DOTALL)

_BATCH_GET_LIMIT = 100
_BATCH_WRITE_LIMIT = 25
_UNPROCESSED_RETRIES = 8
_TRANSIENT_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "TransactionInProgressException",
    }
)


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """A live session and the connection that carries it."""

    session: Session
    connection_id: str


@dataclass(frozen=True, slots=True)
class ScriptRecord:
    script_id: str
    name: str
    enabled: bool
    created_at: int


@dataclass(frozen=True, slots=True)
class ApiKeyRecord:
    key_id: str
    key_hash: str
    script_ids: tuple[str, ...]
    name: str
    created_at: int
    revoked: bool


def now_ms() -> int:
    return int(time.time() * 1000)


@contextmanager
def _translated_errors() -> Iterator[None]:
    """Turn DynamoDB failures that survived boto3's retries into a clear 503."""
    try:
        yield
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in _TRANSIENT_CODES:
            raise ServiceUnavailable("the session store is unavailable, try again shortly") from exc
        raise
    except BotoCoreError as exc:
        raise ServiceUnavailable("the session store is unavailable, try again shortly") from exc


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _n(value: int) -> dict[str, str]:
    return {"N": str(value)}


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _live(item: dict[str, Any], now_s: int) -> bool:
    return "expires_at" not in item or int(item["expires_at"]["N"]) > now_s


def _session_from_item(item: dict[str, Any]) -> SessionRecord:
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


def _session_expiry_s(created_at_ms: int, seen_at_ms: int) -> int:
    return min(seen_at_ms // 1000 + SESSION_IDLE_S, created_at_ms // 1000 + SESSION_MAX_S)


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
        raise ValidationFailed("cursor is not a cursor this API returned")
    return key


class Store:
    """The one owner of DynamoDB access; construct with any DynamoDB client (tests pass moto's)."""

    def __init__(self, client: Any, settings: Settings) -> None:
        self.client = client
        self.sessions_table = settings.sessions_table
        self.connections_table = settings.connections_table
        self.auth_table = settings.auth_table
        self.message_ttl_s = settings.message_ttl_s

    # ---------------------------------------------------------------- sessions

    def create_session(self, session_id: str, identity: Identity, connection_id: str) -> Session:
        """Write a new session and its connection mapping (one BatchWriteItem)."""
        created = now_ms()
        session = Session(id=session_id, created_at=created, last_seen_at=created, **identity.model_dump())
        expires = _n(_session_expiry_s(created, created))
        item = {
            "id": _s(session_id),
            "connection_id": _s(connection_id),
            "script_id": _s(session.script_id),
            "user_key": _s(session.user_key),
            "roblox_id": _n(session.roblox_id),
            "place_id": _n(session.place_id),
            "job_id": _s(session.job_id),
            "created_at": _n(created),
            "last_seen_at": _n(created),
            "listing_key": _s(listing_key(created, session_id)),
            "expires_at": expires,
        }
        mapping = {
            "connection_id": _s(connection_id),
            "item": _s(SESSION_ITEM),
            "session_id": _s(session_id),
            # Pings extend the session, not this item: keep it for the connection's whole life
            # (API Gateway's 2-hour cap), the session's own expiry decides whether it is live.
            "expires_at": _n(created // 1000 + SESSION_MAX_S),
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
        with _translated_errors():
            item = self.client.get_item(
                TableName=self.sessions_table, Key={"id": _s(session_id)}, ConsistentRead=True
            ).get("Item")
        if item is None or not _live(item, int(time.time())):
            return None
        return _session_from_item(item)

    def get_sessions(self, session_ids: list[str]) -> dict[str, SessionRecord]:
        """The live sessions among these ids, by id (BatchGetItem, 100 keys a call)."""
        keys = [{"id": _s(session_id)} for session_id in session_ids]
        items = self._batch_get(self.sessions_table, keys)
        now_s = int(time.time())
        return {item["id"]["S"]: _session_from_item(item) for item in items if _live(item, now_s)}

    def touch_session(self, session_id: str) -> Session | None:
        """Record a frame from the client: refresh ``last_seen_at`` and the expiry; None if gone."""
        seen = now_ms()
        try:
            with _translated_errors():
                item = self.client.update_item(
                    TableName=self.sessions_table,
                    Key={"id": _s(session_id)},
                    UpdateExpression="SET last_seen_at = :seen, expires_at = :expires",
                    ConditionExpression="attribute_exists(id) AND expires_at > :now",
                    ExpressionAttributeValues={
                        ":seen": _n(seen),
                        # The 2-hour cap is applied from created_at below, on the returned item.
                        ":expires": _n(seen // 1000 + SESSION_IDLE_S),
                        ":now": _n(seen // 1000),
                    },
                    ReturnValues="ALL_NEW",
                )["Attributes"]
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return None
            raise
        record = _session_from_item(item)
        capped = _session_expiry_s(record.session.created_at, seen)
        if capped != int(item["expires_at"]["N"]):
            with _translated_errors():
                self.client.update_item(
                    TableName=self.sessions_table,
                    Key={"id": _s(session_id)},
                    UpdateExpression="SET expires_at = :expires",
                    ConditionExpression="attribute_exists(id)",
                    ExpressionAttributeValues={":expires": _n(capped)},
                )
        return record.session

    def session_id_for_connection(self, connection_id: str) -> str | None:
        with _translated_errors():
            item = self.client.get_item(
                TableName=self.connections_table,
                Key={"connection_id": _s(connection_id), "item": _s(SESSION_ITEM)},
                ConsistentRead=True,
            ).get("Item")
        if item is None or not _live(item, int(time.time())):
            return None
        return item["session_id"]["S"]

    def delete_sessions(self, records: Iterable[SessionRecord]) -> None:
        """Delete sessions and their connection mappings (messages still pending are cleared by
        ``drop_connection`` when the gateway reports the close)."""
        requests: list[tuple[str, dict[str, Any]]] = []
        for record in records:
            requests.append((self.sessions_table, {"id": _s(record.session.id)}))
            requests.append(
                (
                    self.connections_table,
                    {"connection_id": _s(record.connection_id), "item": _s(SESSION_ITEM)},
                )
            )
        self._batch_delete(requests)

    def hide_sessions(self, records: list[SessionRecord]) -> None:
        """Mark sessions expired (one batch write): every read treats them as gone from now on."""
        self._put_sessions(records, expires_s=0)

    def unhide_sessions(self, records: list[SessionRecord]) -> None:
        """Undo ``hide_sessions`` for sessions that stay connected."""
        self._put_sessions(records, expires_s=None)

    def _put_sessions(self, records: list[SessionRecord], expires_s: int | None) -> None:
        requests = []
        for record in records:
            session = record.session
            expiry = _session_expiry_s(session.created_at, session.last_seen_at) if expires_s is None else 0
            item = {
                "id": _s(session.id),
                "connection_id": _s(record.connection_id),
                "script_id": _s(session.script_id),
                "user_key": _s(session.user_key),
                "roblox_id": _n(session.roblox_id),
                "place_id": _n(session.place_id),
                "job_id": _s(session.job_id),
                "created_at": _n(session.created_at),
                "last_seen_at": _n(session.last_seen_at),
                "listing_key": _s(listing_key(session.created_at, session.id)),
                "expires_at": _n(expiry),
            }
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
            "ExpressionAttributeValues": {":c": _s(connection_id)},
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
            # Conditional, so a reply that lands between the query and here is kept, not lost.
            self.withdraw_message(connection_id, message_id)
        requests = [(self.connections_table, {"connection_id": _s(connection_id), "item": _s(SESSION_ITEM)})]
        if session_id is not None:
            requests.append((self.sessions_table, {"id": _s(session_id)}))
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
        after = decode_cursor(cursor) if cursor else None
        now_s = int(time.time())
        conditions = ["expires_at > :now"]
        values: dict[str, Any] = {":now": _n(now_s)}
        for field, value in sorted(filters.items()):
            conditions.append(f"{field} = :{field}")
            values[f":{field}"] = _n(value) if isinstance(value, int) else _s(value)
        found: list[tuple[str, Session]] = []
        for script_id in sorted(set(script_ids)):
            found.extend(self._list_script(script_id, after, " AND ".join(conditions), values, limit + 1))
        found.sort(key=lambda pair: pair[0])
        page = found[:limit]
        next_cursor = encode_cursor(page[-1][0]) if len(found) > limit else None
        return [session for _, session in page], next_cursor

    def _list_script(
        self, script_id: str, after: str | None, condition: str, values: dict[str, Any], wanted: int
    ) -> list[tuple[str, Session]]:
        key_condition = "script_id = :script"
        values = {**values, ":script": _s(script_id)}
        if after is not None:
            key_condition += " AND listing_key > :after"
            values[":after"] = _s(after)
        query: dict[str, Any] = {
            "TableName": self.sessions_table,
            "IndexName": "by_script",
            "KeyConditionExpression": key_condition,
            "FilterExpression": condition,
            "ExpressionAttributeValues": values,
            "Limit": max(wanted, 25),
        }
        found: list[tuple[str, Session]] = []
        for item in self._items(self.client.query, query):
            found.append((item["listing_key"]["S"], _session_from_item(item).session))
            if len(found) == wanted:
                break  # no further page is read once enough sessions are found
        return found

    def connections_with_sessions(self) -> list[str]:
        """Every connection id that carries a session (a full scan: for maintenance, not requests)."""
        scan: dict[str, Any] = {
            "TableName": self.connections_table,
            "FilterExpression": "#item = :session",
            "ExpressionAttributeNames": {"#item": "item"},
            "ExpressionAttributeValues": {":session": _s(SESSION_ITEM)},
            "ProjectionExpression": "connection_id",
        }
        return [item["connection_id"]["S"] for item in self._items(self.client.scan, scan)]

    # ---------------------------------------------------------------- messages

    def _message_key(self, connection_id: str, message_id: str) -> dict[str, Any]:
        return {"connection_id": _s(connection_id), "item": _s(MESSAGE_PREFIX + message_id)}

    def _message_item(self, record: SessionRecord, message_id: str, deadline_ms: int) -> dict[str, Any]:
        return {
            **self._message_key(record.connection_id, message_id),
            "session_id": _s(record.session.id),
            "status": _s(PENDING),
            "deadline_ms": _n(deadline_ms),
            "expires_at": _n(int(time.time()) + self.message_ttl_s),
        }

    def put_message(self, record: SessionRecord, message_id: str, deadline_ms: int) -> None:
        """Record a pending message before it is posted, so a fast reply always finds it."""
        with _translated_errors():
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
        keys = [self._message_key(connection_id, message_id) for connection_id, message_id in sent]
        result: dict[tuple[str, str], Outcome | None] = {}
        for item in self._batch_get(self.connections_table, keys):
            pair = (item["connection_id"]["S"], item["item"]["S"].removeprefix(MESSAGE_PREFIX))
            result[pair] = _outcome_from_item(item)
        return result

    def read_outcome(self, connection_id: str, message_id: str) -> tuple[bool, Outcome | None]:
        """One message: (exists, outcome or None while pending)."""
        with _translated_errors():
            item = self.client.get_item(
                TableName=self.connections_table,
                Key=self._message_key(connection_id, message_id),
                ConsistentRead=True,
            ).get("Item")
        if item is None:
            return False, None
        return True, _outcome_from_item(item)

    def withdraw_message(self, connection_id: str, message_id: str) -> Outcome | None:
        """Give up on a message at its deadline. Deletes it while still pending so a late reply
        is refused; if the reply won the race, returns that reply instead."""
        try:
            with _translated_errors():
                self.client.delete_item(
                    TableName=self.connections_table,
                    Key=self._message_key(connection_id, message_id),
                    ConditionExpression="#status = :pending",
                    ExpressionAttributeNames={"#status": "status"},
                    ExpressionAttributeValues={":pending": _s(PENDING)},
                )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            return self.read_outcome(connection_id, message_id)[1]
        return None

    def delete_messages(self, sent: list[tuple[str, str]]) -> None:
        self._batch_delete([(self.connections_table, self._message_key(c, m)) for c, m in sent])

    def record_reply(self, connection_id: str, message_id: str, outcome: Outcome) -> str:
        """Store the first reply to a pending message sent on this very connection, before its
        deadline. Returns the message's session id; raises ``ReplyRejected`` otherwise."""
        reply = dump_json(outcome.as_contract())
        try:
            with _translated_errors():
                item = self.client.update_item(
                    TableName=self.connections_table,
                    Key=self._message_key(connection_id, message_id),
                    UpdateExpression="SET #status = :answered, reply = :reply",
                    ConditionExpression="#status = :pending AND deadline_ms >= :now",
                    ExpressionAttributeNames={"#status": "status"},
                    ExpressionAttributeValues={
                        ":answered": _s(ANSWERED),
                        ":pending": _s(PENDING),
                        ":reply": _s(reply),
                        ":now": _n(now_ms()),
                    },
                    ReturnValues="ALL_NEW",
                )["Attributes"]
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise ReplyRejected(message_id) from exc
            raise
        return item["session_id"]["S"]

    # ---------------------------------------------------------------- scripts and API keys

    def get_script(self, script_id: str) -> ScriptRecord | None:
        with _translated_errors():
            item = self.client.get_item(
                TableName=self.auth_table, Key={"pk": _s(f"script#{script_id}")}, ConsistentRead=True
            ).get("Item")
        return None if item is None else _script_from_item(item)

    def put_script(self, script: ScriptRecord) -> None:
        with _translated_errors():
            self.client.put_item(
                TableName=self.auth_table,
                Item={
                    "pk": _s(f"script#{script.script_id}"),
                    "kind": _s("script"),
                    "script_id": _s(script.script_id),
                    "name": _s(script.name),
                    "enabled": {"BOOL": script.enabled},
                    "created_at": _n(script.created_at),
                },
            )

    def set_script_enabled(self, script_id: str, enabled: bool) -> bool:
        """Enable or disable a script; False when it does not exist."""
        try:
            with _translated_errors():
                self.client.update_item(
                    TableName=self.auth_table,
                    Key={"pk": _s(f"script#{script_id}")},
                    UpdateExpression="SET enabled = :enabled",
                    ConditionExpression="attribute_exists(pk)",
                    ExpressionAttributeValues={":enabled": {"BOOL": enabled}},
                )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def get_api_key(self, key_hash: str) -> ApiKeyRecord | None:
        with _translated_errors():
            item = self.client.get_item(
                TableName=self.auth_table, Key={"pk": _s(f"apikey#{key_hash}")}, ConsistentRead=True
            ).get("Item")
        return None if item is None else _api_key_from_item(item)

    def put_api_key(self, key: ApiKeyRecord, replace: bool = False) -> None:
        """Store a key by its hash; refuses to overwrite an existing one unless ``replace``."""
        condition = {} if replace else {"ConditionExpression": "attribute_not_exists(pk)"}
        with _translated_errors():
            self.client.put_item(
                TableName=self.auth_table,
                Item={
                    "pk": _s(f"apikey#{key.key_hash}"),
                    "kind": _s("apikey"),
                    "key_id": _s(key.key_id),
                    "key_hash": _s(key.key_hash),
                    "script_ids": {"L": [_s(script_id) for script_id in key.script_ids]},
                    "name": _s(key.name),
                    "created_at": _n(key.created_at),
                    "revoked": {"BOOL": key.revoked},
                },
                **condition,
            )

    def list_scripts(self) -> list[ScriptRecord]:
        return sorted(
            (_script_from_item(item) for item in self._scan_auth("script")), key=lambda s: s.created_at
        )

    def list_api_keys(self) -> list[ApiKeyRecord]:
        return sorted(
            (_api_key_from_item(item) for item in self._scan_auth("apikey")), key=lambda k: k.created_at
        )

    def revoke_api_key(self, key_id: str) -> bool:
        """Revoke the key with this public id; False when no such key exists."""
        for key in self.list_api_keys():
            if key.key_id == key_id:
                with _translated_errors():
                    self.client.update_item(
                        TableName=self.auth_table,
                        Key={"pk": _s(f"apikey#{key.key_hash}")},
                        UpdateExpression="SET revoked = :yes",
                        ExpressionAttributeValues={":yes": {"BOOL": True}},
                    )
                return True
        return False

    def _scan_auth(self, kind: str) -> list[dict[str, Any]]:
        scan: dict[str, Any] = {
            "TableName": self.auth_table,
            "FilterExpression": "kind = :kind",
            "ExpressionAttributeValues": {":kind": _s(kind)},
            "ConsistentRead": True,
        }
        return list(self._items(self.client.scan, scan))

    # ---------------------------------------------------------------- pages and batches

    def _items(self, operation: Any, request: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """Every item of a Query or Scan, page after page (a page is read only when needed)."""
        request = dict(request)
        while True:
            with _translated_errors():
                page = operation(**request)
            yield from page["Items"]
            if "LastEvaluatedKey" not in page:
                return
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _batch_get(self, table: str, keys: list[dict[str, Any]]) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        for chunk in _chunks(keys, _BATCH_GET_LIMIT):
            request: dict[str, Any] = {table: {"Keys": chunk, "ConsistentRead": True}}
            for attempt in range(_UNPROCESSED_RETRIES + 1):
                with _translated_errors():
                    answer = self.client.batch_get_item(RequestItems=request)
                items.extend(answer["Responses"].get(table, []))
                request = answer.get("UnprocessedKeys") or {}
                if not request:
                    break
                _backoff(attempt)
            else:
                raise ServiceUnavailable("the session store is unavailable, try again shortly")
        return items

    def _batch_delete(self, requests: list[tuple[str, dict[str, Any]]]) -> None:
        self._batch_write([(table, {"DeleteRequest": {"Key": key}}) for table, key in requests])

    def _batch_write(self, requests: list[tuple[str, dict[str, Any]]]) -> None:
        for chunk in _chunks(requests, _BATCH_WRITE_LIMIT):
            pending: dict[str, list[dict[str, Any]]] = {}
            for table, request in chunk:
                pending.setdefault(table, []).append(request)
            for attempt in range(_UNPROCESSED_RETRIES + 1):
                with _translated_errors():
                    answer = self.client.batch_write_item(RequestItems=pending)
                pending = answer.get("UnprocessedItems") or {}
                if not pending:
                    break
                _backoff(attempt)
            else:
                raise ServiceUnavailable("the session store is unavailable, try again shortly")


def _backoff(attempt: int) -> None:
    time.sleep(min(0.5, 0.02 * 2**attempt))


def _outcome_from_item(item: dict[str, Any]) -> Outcome | None:
    if item["status"]["S"] != ANSWERED:
        return None
    return Outcome.model_validate(json.loads(item["reply"]["S"]))


def _script_from_item(item: dict[str, Any]) -> ScriptRecord:
    return ScriptRecord(
        script_id=item["script_id"]["S"],
        name=item["name"]["S"],
        enabled=item["enabled"]["BOOL"],
        created_at=int(item["created_at"]["N"]),
    )


def _api_key_from_item(item: dict[str, Any]) -> ApiKeyRecord:
    return ApiKeyRecord(
        key_id=item["key_id"]["S"],
        key_hash=item["key_hash"]["S"],
        script_ids=tuple(value["S"] for value in item["script_ids"]["L"]),
        name=item["name"]["S"],
        created_at=int(item["created_at"]["N"]),
        revoked=item["revoked"]["BOOL"],
    )


@lru_cache(maxsize=1)
def get_store() -> Store:
    """The container's store (cached so warm invocations reuse the client)."""
    return Store(dynamodb_client(), get_settings())
