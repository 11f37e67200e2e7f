"""Who is calling and what they own: owner API keys (issued once, stored as SHA-256 hashes, compared
in constant time), what a key's scopes let it do, and the sessions and records a key may see. Another
owner's session or record looks exactly like one that does not exist."""

import hashlib
import hmac
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from session_relay.contract import MAX_BULK_IDS, MAX_FIELD_LENGTH
from session_relay.errors import Forbidden, NotFound, Unauthorized
from session_relay.store import OutcomeRecord, SessionRecord, Store, decode_cursor
from session_relay.store.auth import SCOPES

API_KEY_PREFIX = "sr_"
_MAX_KEY_LENGTH = 256
_CACHE_LIMIT = 1024
# Ids this API issues are short; anything longer cannot exist and is never sent to DynamoDB.
MAX_SESSION_ID_LENGTH = MAX_FIELD_LENGTH
# Message and batch ids are 32 lowercase hex digits; anything else cannot exist and is never looked up.
_RECORD_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


# What each scope lets a key do, as the 403's sentence says it (PROTOCOL.md section 1, scopes).
ACTIONS = {
    "read": "read sessions or the outcomes of messages",
    "message": "message sessions",
    "disconnect": "disconnect sessions",
    "manage": "manage webhooks",
}


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: one API key, the scripts it covers, its name and its scopes (in ``SCOPES``
    order)."""

    key_id: str
    script_ids: frozenset[str]
    name: str = ""
    scopes: tuple[str, ...] = SCOPES


def require(caller: Principal, scope: str) -> None:
    """403 unless the caller's key has ``scope``: checked right after the key, before the body."""
    if scope not in caller.scopes:
        has = ", ".join(caller.scopes) or "none"
        needs = f'it needs the "{scope}" scope; it has: {has}'
        raise Forbidden(f"this API key may not {ACTIONS[scope]} ({needs})")


@dataclass(frozen=True, slots=True)
class KeyShown:
    """``GET /key``: what the caller's key may do; never the key itself nor its hash."""

    caller: Principal
    status = 200

    def body(self) -> dict[str, Any]:
        key = self.caller
        return {
            "success": True,
            "key": {
                "id": key.key_id,
                "name": key.name,
                "scripts": sorted(key.script_ids),
                "scopes": list(key.scopes),
            },
        }


def show_key(caller: Principal) -> KeyShown:
    """``GET /key`` (any scope): the caller's key as its owner may see it."""
    return KeyShown(caller)


def hash_api_key(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()


def new_api_key() -> tuple[str, str, str]:
    """A fresh key: (key shown once to its owner, its hash, its public id)."""
    api_key = API_KEY_PREFIX + secrets.token_urlsafe(32)
    return api_key, hash_api_key(api_key), "key_" + secrets.token_hex(6)


def bearer_token(authorization: str | None) -> str:
    """The key in an ``Authorization: Bearer <key>`` header, or 401."""
    scheme, _, token = (authorization or "").strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("missing API key: send Authorization: Bearer <api_key>")
    if len(token) > _MAX_KEY_LENGTH or not token.isascii() or not token.isprintable():
        raise Unauthorized("invalid API key")
    return token


class Authenticator:
    """Resolves keys to principals, caching hits for ``ttl_s`` per container (so a revoked key stops
    working within that many seconds)."""

    def __init__(self, store: Store, ttl_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.store = store
        self.ttl_s = ttl_s
        self.clock = clock
        self._cache: dict[str, tuple[Principal, float]] = {}
        self._lock = threading.Lock()

    def authenticate(self, authorization: str | None) -> Principal:
        key_hash = hash_api_key(bearer_token(authorization))
        now = self.clock()
        with self._lock:
            cached = self._cache.get(key_hash)
        if cached is not None and cached[1] > now:
            return cached[0]
        record = self.store.auth.get_api_key(key_hash)
        if record is None or record.revoked or not hmac.compare_digest(record.key_hash, key_hash):
            raise Unauthorized("invalid API key")
        principal = Principal(
            key_id=record.key_id,
            script_ids=frozenset(record.script_ids),
            name=record.name,
            scopes=record.scopes,
        )
        with self._lock:
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
            self._cache[key_hash] = (principal, now + self.ttl_s)
        return principal


# ---------------------------------------------------------------- what a key owns


@dataclass(frozen=True, slots=True)
class Selection:
    """The sessions a bulk call targets: ``session_ids``, or a page of the live sessions matching
    ``filter`` (any of script_id, user_key, roblox_id, place_id, job_id; ``{}`` is every one)."""

    session_ids: list[str] | None = None
    filter: dict[str, Any] | None = None
    limit: int = MAX_BULK_IDS
    cursor: str | None = None

    def check(self) -> None:
        """A cursor this API did not make is a 422 (checked with the body, before anything else)."""
        if self.cursor is not None:
            decode_cursor(self.cursor)


@dataclass(frozen=True, slots=True)
class Paging:
    """Present when a call targeted a filter: how many sessions it targeted, and the next page's cursor."""

    matched: int
    next_cursor: str | None

    def fields(self) -> dict[str, Any]:
        return {"matched": self.matched, "next_cursor": self.next_cursor}


@dataclass(frozen=True, slots=True)
class Targets:
    """What a bulk call targets: the ids in the order to answer them, the caller's live sessions among
    them by id, and (for a filter) the paging."""

    session_ids: list[str]
    records: dict[str, SessionRecord] = field(default_factory=dict)
    paging: Paging | None = None

    def found(self) -> list[SessionRecord]:
        """The live sessions, in answer order."""
        return [self.records[sid] for sid in self.session_ids if sid in self.records]

    def paging_fields(self) -> dict[str, Any]:
        return {} if self.paging is None else self.paging.fields()


def owned_session(store: Store, caller: Principal, session_id: str) -> SessionRecord:
    """The caller's live session, or 404: another owner's session looks exactly like none."""
    record = store.sessions.get(session_id) if 0 < len(session_id) <= MAX_SESSION_ID_LENGTH else None
    if record is None or record.session.script_id not in caller.script_ids:
        raise NotFound("session not found")
    return record


def owned_sessions(store: Store, caller: Principal, session_ids: list[str]) -> dict[str, SessionRecord]:
    """The caller's live sessions among these ids, by id."""
    lookup = [sid for sid in session_ids if 0 < len(sid) <= MAX_SESSION_ID_LENGTH]
    found = store.sessions.get_many(lookup) if lookup else {}
    return {sid: r for sid, r in found.items() if r.session.script_id in caller.script_ids}


def scripts_matching(caller: Principal, script_id: str | None) -> frozenset[str]:
    """The caller's scripts, narrowed to ``script_id`` when given (one it does not cover: none)."""
    return caller.script_ids if script_id is None else caller.script_ids & {script_id}


def targets(store: Store, caller: Principal, selection: Selection) -> Targets:
    """The sessions a bulk call targets, by ids or by a filter page."""
    if selection.filter is None:
        ids = selection.session_ids or []
        return Targets(ids, owned_sessions(store, caller, ids))
    fields = dict(selection.filter)
    scripts = scripts_matching(caller, fields.pop("script_id", None))
    records, cursor = store.sessions.page(scripts, fields, selection.limit, selection.cursor)
    ids = [record.session.id for record in records]
    return Targets(ids, {record.session.id: record for record in records}, Paging(len(ids), cursor))


def owned_record(
    caller: Principal, record_id: str, read: Callable[[str], OutcomeRecord | None], noun: str
) -> OutcomeRecord:
    """A record of messages answered later, readable only by the key that sent them (404 otherwise)."""
    record = read(record_id) if _RECORD_ID.fullmatch(record_id) else None
    if record is None or record.owner != caller.key_id:
        raise NotFound(f"{noun} not found")
    return record
