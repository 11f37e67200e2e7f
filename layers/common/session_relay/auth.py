"""Owner API keys: issued once, stored as SHA-256 hashes, looked up by hash, compared in constant time."""

import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass
from functools import lru_cache

from session_relay.errors import Unauthorized
from session_relay.settings import get_settings
from session_relay.store import Store, get_store

API_KEY_PREFIX = "sr_"
_MAX_KEY_LENGTH = 256
_CACHE_LIMIT = 1024


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: one API key and the scripts it covers."""

    key_id: str
    script_ids: frozenset[str]


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
    """Resolves keys to principals, caching hits for a short TTL per container.

    A revoked key therefore stops working within ``api_key_cache_ttl_s`` seconds.
    """

    def __init__(self, store: Store, ttl_s: float, clock=time.monotonic) -> None:
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
        record = self.store.get_api_key(key_hash)
        if record is None or record.revoked or not hmac.compare_digest(record.key_hash, key_hash):
            raise Unauthorized("invalid API key")
        principal = Principal(key_id=record.key_id, script_ids=frozenset(record.script_ids))
        with self._lock:
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
            self._cache[key_hash] = (principal, now + self.ttl_s)
        return principal


@lru_cache(maxsize=1)
def get_authenticator() -> Authenticator:
    return Authenticator(get_store(), get_settings().api_key_cache_ttl_s)
