"""All DynamoDB access. No other package builds a key, an expression or an item.

One module per concern, composed into ``Store`` here (the one entry point, from the cached
``get_store``):
- ``items``:    attribute values, keys, error translation, the page and batch loops (``Tables``);
- ``sessions``: sessions, connection mappings, listing and cursors (table ``sessions``);
- ``messages``: messages and replies, keyed by connection (table ``connections``);
- ``auth``:     scripts and owner API keys (table ``auth``);
- ``leases``:   calls in flight per API key, as leases that expire (table ``connections``);
- ``outcomes``: records of messages answered later, owned by the key that sent them (``outcomes``).

Every item carries ``expires_at`` (epoch seconds, the table's TTL attribute); reads treat an
expired item as absent because TTL deletion can lag. The clock and the retry pause live in this
module, once, and every concern reads them through the ``Store`` hooks.
"""

import time
from functools import lru_cache

from session_relay.aws import dynamodb_client
from session_relay.settings import get_settings
from session_relay.store.auth import ApiKeyRecord, AuthStore, ScriptRecord
from session_relay.store.items import BATCH_GET_LIMIT
from session_relay.store.leases import LeaseStore
from session_relay.store.messages import MessageStore, RecordedReply
from session_relay.store.outcomes import OutcomeRecord, OutcomeStore, Target
from session_relay.store.sessions import (
    SESSION_MAX_S,
    SessionRecord,
    SessionStore,
    decode_cursor,
    encode_cursor,
    listing_key,
)

__all__ = [
    "SESSION_MAX_S",
    "ApiKeyRecord",
    "OutcomeRecord",
    "RecordedReply",
    "ScriptRecord",
    "SessionRecord",
    "Store",
    "Target",
    "decode_cursor",
    "encode_cursor",
    "get_store",
    "listing_key",
    "now_ms",
]

_BATCH_GET_LIMIT = BATCH_GET_LIMIT


def now_ms() -> int:
    return int(time.time() * 1000)


def _backoff(attempt: int) -> None:
    time.sleep(min(0.5, 0.02 * 2**attempt))


class Store(SessionStore, MessageStore, AuthStore, LeaseStore, OutcomeStore):
    """The one owner of DynamoDB access; construct with any DynamoDB client (tests pass moto's)."""

    def now_ms(self) -> int:
        return now_ms()

    def now_s(self) -> int:
        return int(time.time())

    def pause(self, attempt: int) -> None:
        _backoff(attempt)

    @property
    def batch_get_limit(self) -> int:
        return _BATCH_GET_LIMIT


@lru_cache(maxsize=1)
def get_store() -> Store:
    """The container's store (cached so warm invocations reuse the client)."""
    return Store(dynamodb_client(), get_settings())
