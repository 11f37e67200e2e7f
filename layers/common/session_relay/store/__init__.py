"""All DynamoDB access. No other package builds a key, an expression or an item.

``Store`` (the one entry point, from the cached ``get_store``) holds one repository per concern,
each a plain class over ``table.Table`` (the one table helper: items as plain dicts, errors,
conditions, page and batch loops):
- ``sessions``: sessions, connection mappings, listing and cursors (tables ``sessions``, ``connections``);
- ``messages``: messages and replies, keyed by connection (table ``connections``);
- ``auth``:     scripts and owner API keys, and what a handshake reads (table ``auth``);
- ``bans``:     bans of a script's user keys and Roblox ids, listed by the key that gave them (``auth``);
- ``leases``:   calls in flight per API key, as leases that expire (table ``connections``);
- ``webhooks``: owner webhooks and their delivery errors (table ``auth``);
- ``outcomes``: records of messages answered later, owned by the key that sent them (``outcomes``).

Every item carries ``expires_at`` (epoch seconds, the table's TTL attribute); reads treat an
expired item as absent because TTL deletion can lag. Time is read from ``session_relay.clock``.
"""

from functools import lru_cache
from typing import Any

from session_relay.aws import dynamodb_client
from session_relay.settings import Settings, get_settings
from session_relay.store.auth import ApiKeyRecord, Auth, ScriptRecord
from session_relay.store.bans import Ban, Bans
from session_relay.store.broadcasts import Broadcasts
from session_relay.store.leases import Leases
from session_relay.store.listing import decode_cursor, encode_cursor, listing_key
from session_relay.store.messages import Messages, RecordedReply
from session_relay.store.outcomes import OutcomeRecord, Outcomes, Target
from session_relay.store.sessions import SESSION_MAX_S, SessionRecord, Sessions
from session_relay.store.table import Table
from session_relay.store.webhooks import Webhooks

__all__ = [
    "SESSION_MAX_S",
    "ApiKeyRecord",
    "Ban",
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
]


class Store:
    """The one owner of DynamoDB access: the repositories on one client (tests pass moto's)."""

    def __init__(self, client: Any, settings: Settings) -> None:
        self.client = client
        connections = Table(client, settings.connections_table)
        self.sessions = Sessions(Table(client, settings.sessions_table), connections)
        self.messages = Messages(connections, settings.message_ttl_s)
        self.auth = Auth(Table(client, settings.auth_table))
        self.webhooks = Webhooks(Table(client, settings.auth_table))  # webhooks live in the auth table
        self.bans = Bans(Table(client, settings.auth_table))
        self.leases = Leases(connections)
        # Only the REST API reads this one (messages answered later).
        self.outcomes = Outcomes(Table(client, settings.outcomes_table or ""))
        self.broadcasts = Broadcasts(Table(client, settings.broadcasts_table or ""))


@lru_cache(maxsize=1)
def get_store() -> Store:
    """The container's store (cached so warm invocations reuse the client)."""
    return Store(dynamodb_client(), get_settings())
