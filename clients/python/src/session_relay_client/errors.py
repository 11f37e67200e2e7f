"""Typed exceptions for every way a call to the REST API can fail.

Each carries ``status`` (the HTTP status, or None when no answer was received or the problem was
found before sending) and ``error``: the API's own sentence (PROTOCOL.md section 1, "Errors").
"""

from typing import Any

from session_relay_client.contract import REASON_NOT_FOUND


class SessionRelayError(Exception):
    """Base of every SDK error."""

    def __init__(self, error: str, status: int | None = None) -> None:
        super().__init__(error)
        self.error = error
        self.status = status

    def __str__(self) -> str:
        return self.error

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status!r}, error={self.error!r})"


class TransportError(SessionRelayError):
    """No HTTP answer: connection refused, DNS failure, TLS error, connection dropped."""


class RequestTimeout(TransportError):
    """The HTTP request took longer than the client's timeout."""


class UnexpectedResponse(SessionRelayError):
    """The answer was not the contract's shape (not JSON, or fields missing)."""


class BadRequest(SessionRelayError):
    """400: the request body was not valid JSON."""


class Unauthorized(SessionRelayError):
    """401: no API key, or one the API does not know (or one that was revoked)."""


class Forbidden(SessionRelayError):
    """403: the API key's scopes do not allow the call (the sentence names the scope it needs;
    ``key()`` shows the key's scopes), or API Gateway itself refused it (a resource policy, WAF, or a
    wrong stage URL)."""


class NotFound(SessionRelayError):
    """404: no such route (is the base URL right?)."""


class SessionNotFound(NotFound):
    """404: the session does not exist, or belongs to a script the key does not cover."""


class MethodNotAllowed(SessionRelayError):
    """405."""


class Conflict(SessionRelayError):
    """409: a call with the same idempotency key is still running; retry once it has answered."""


class PayloadTooLarge(SessionRelayError):
    """413: the message frame would exceed 32 KB, or the body the 1 MB limit."""


class ValidationError(SessionRelayError):
    """422 (or found before sending): a field failed validation; the sentence names the field."""


class TooManyRequests(SessionRelayError):
    """429: API Gateway throttled the call, or this key already has the most calls in flight the
    deployment allows (nothing was sent; the answer's ``Retry-After`` says when to try again)."""


class ServerError(SessionRelayError):
    """5xx."""


class ServiceUnavailable(ServerError):
    """503: a dependency stayed unavailable after retries; nothing was changed."""


class GatewayTimeout(ServerError):
    """504: API Gateway's integration timeout passed before the function answered."""


_BY_STATUS: dict[int, type[SessionRelayError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    405: MethodNotAllowed,
    409: Conflict,
    413: PayloadTooLarge,
    422: ValidationError,
    429: TooManyRequests,
    503: ServiceUnavailable,
    504: GatewayTimeout,
}


def error_for(status: int, body: Any, reason_phrase: str = "") -> SessionRelayError:
    """The exception for a failed answer: its class from the status, its text from the body.

    The API answers ``{"success": false, "error": ...}``; API Gateway's own failures answer
    ``{"message": ...}``; anything else falls back to the status line.
    """
    error = None
    if isinstance(body, dict):
        for field in ("error", "message"):
            if isinstance(body.get(field), str) and body[field]:
                error = body[field]
                break
    if error is None:
        error = f"HTTP {status} {reason_phrase}".rstrip()
    if status == 404 and error == REASON_NOT_FOUND:
        return SessionNotFound(error, status)
    kind = _BY_STATUS.get(status) or (ServerError if status >= 500 else SessionRelayError)
    return kind(error, status)
