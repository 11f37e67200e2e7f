"""Forgetting a closed connection: its session, its mapping and every message still pending on it."""

from session_relay.store import Store


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
