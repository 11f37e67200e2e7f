"""A Python SDK for the Session Relay REST API (PROTOCOL.md section 1): the distribution
``session-relay-client`` (clients/python; Python >= 3.10, typed), with the ``session-relay`` command.

    from session_relay_client import SessionRelay

    with SessionRelay("https://abc.execute-api.us-east-1.amazonaws.com/prod", api_key) as relay:
        ids = [session.id for session in relay.iter_sessions(place_id=606849621)]
        result = relay.message_many(ids, "echo", {"hello": "world"}, timeout=10)
        print(result.summary())

``AsyncSessionRelay`` offers the same methods as coroutines. Failures raise ``SessionRelayError``
subclasses carrying ``status`` and ``error`` (the API's sentence).
"""

from session_relay_client.aio import AsyncSessionRelay
from session_relay_client.bans import Ban, BanPage, BanResult
from session_relay_client.broadcasts import Broadcast, BroadcastCounts, BroadcastPage, ResponsesPage
from session_relay_client.calls import DEFAULT_URL, UNSET
from session_relay_client.client import SessionRelay
from session_relay_client.contract import MAX_BULK_IDS
from session_relay_client.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    GatewayTimeout,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    RequestTimeout,
    ServerError,
    ServiceUnavailable,
    SessionNotFound,
    SessionRelayError,
    TooManyRequests,
    TransportError,
    Unauthorized,
    UnexpectedResponse,
    ValidationError,
)
from session_relay_client.models import (
    BatchAccepted,
    BatchEntry,
    BatchOutcome,
    BulkDisconnectResult,
    BulkMessageResult,
    KeyInfo,
    MessageAccepted,
    MessageOutcome,
    MessageResult,
    MessageSummary,
    Session,
    SessionFilter,
    SessionMessageResult,
    SessionPage,
)
from session_relay_client.webhooks import (
    InvalidSignature,
    Webhook,
    WebhookFailures,
    WebhookTest,
    verify_webhook,
)

__all__ = [
    "DEFAULT_URL",
    "MAX_BULK_IDS",
    "UNSET",
    "AsyncSessionRelay",
    "BadRequest",
    "Ban",
    "BanPage",
    "BanResult",
    "BatchAccepted",
    "BatchEntry",
    "BatchOutcome",
    "Broadcast",
    "BroadcastCounts",
    "BroadcastPage",
    "BulkDisconnectResult",
    "BulkMessageResult",
    "Conflict",
    "Forbidden",
    "GatewayTimeout",
    "InvalidSignature",
    "KeyInfo",
    "MessageAccepted",
    "MessageOutcome",
    "MessageResult",
    "MessageSummary",
    "MethodNotAllowed",
    "NotFound",
    "PayloadTooLarge",
    "RequestTimeout",
    "ResponsesPage",
    "ServerError",
    "ServiceUnavailable",
    "Session",
    "SessionFilter",
    "SessionMessageResult",
    "SessionNotFound",
    "SessionPage",
    "SessionRelay",
    "SessionRelayError",
    "TooManyRequests",
    "TransportError",
    "Unauthorized",
    "UnexpectedResponse",
    "ValidationError",
    "Webhook",
    "WebhookFailures",
    "WebhookTest",
    "verify_webhook",
]
