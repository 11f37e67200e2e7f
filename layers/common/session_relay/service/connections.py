"""A connection's session id, and forgetting a closed connection: its session, its mapping and every
message still pending on it."""

import hashlib
import secrets

from session_relay.store import Store


def session_id_of(connection_id: str, connected_at: int | None) -> str | None:
    """The session id of the connection API Gateway opened at ``connected_at`` (epoch ms), None without it.

    Every connection is its own session (PROTOCOL.md section 1), and every event of a connection
    carries its id and the time it was opened ($context.connectionId and $context.connectedAt:
    https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-api-mapping-template-reference.html),
    so the session id is a 128-bit digest of the two: a frame's handler knows its session without
    reading the connection's mapping. Connection ids are unique; the time keeps the ids of two
    connections apart even if one were ever handed out again. The id is not a credential (every REST
    call needs an API key of the session's script), so the digest is not keyed.
    """
    if connected_at is None:
        return None
    digest = hashlib.blake2b(f"{connection_id}\n{connected_at}".encode(), digest_size=16, person=b"session")
    return digest.hexdigest()


def new_session_id(connection_id: str, connected_at: int | None) -> str:
    """``session_id_of`` the connection, or 128 random bits for an event that does not say when it opened."""
    return session_id_of(connection_id, connected_at) or secrets.token_hex(16)


def forget_connection(store: Store, connection_id: str) -> str | None:
    """Forget a connection API Gateway closed (or reported gone); returns the session id it carried.

    Its pending messages are withdrawn conditionally, which tells their waiting callers at their next
    poll that the client went away; a reply that lands first is kept. Answered messages stay (until
    their TTL): a reply sent just before the close must still reach its caller."""
    session_id, pending = store.messages.on_connection(connection_id)
    for message_id in pending:
        store.messages.withdraw(connection_id, message_id)
    store.sessions.delete_connection(connection_id, session_id)
    return session_id
