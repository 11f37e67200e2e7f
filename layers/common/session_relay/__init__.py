"""Session Relay domain package: models, store, gateway and the messaging engine.

Deployed as the shared Lambda layer; the function entry points under ``functions/`` stay thin.
"""

FRAME_LIMIT_BYTES = 32_768
"""The largest WebSocket frame API Gateway accepts, in either direction (bytes)."""

MAX_MESSAGE_TIMEOUT_S = 60.0
"""The longest wait the contract allows for one message call (seconds)."""
