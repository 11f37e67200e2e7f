"""What the tests' WebSocket handler records, kept outside the handlers' folder: each execution
environment imports the handlers' modules for itself, and this record is the one they all share."""

# (route key, connection id) of every WebSocket invocation that ran to its end, in order.
WEBSOCKET_CALLS: list[tuple[str, str]] = []
