"""Domain errors. Each carries the HTTP status and the one sentence the REST API answers with."""


class RelayError(Exception):
    """Base of every error the REST API turns into ``{"success": false, "error": ...}``."""

    status = 500
    headers: dict[str, str] | None = None

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class MalformedBody(RelayError):
    status = 400


class Unauthorized(RelayError):
    status = 401


class Forbidden(RelayError):
    """The key is valid, but its scopes do not allow the call (nothing was read or changed)."""

    status = 403


class NotFound(RelayError):
    status = 404


class Conflict(RelayError):
    """A call with the same ``Idempotency-Key`` is still running."""

    status = 409


class PayloadTooLarge(RelayError):
    status = 413


class ValidationFailed(RelayError):
    status = 422


class TooManyCalls(RelayError):
    """The API key already has the most calls in flight the deployment allows (nothing was sent)."""

    status = 429

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.headers = {"Retry-After": str(retry_after_s)}


class ServiceUnavailable(RelayError):
    """A dependency (DynamoDB, the Management API) stayed unavailable after retries."""

    status = 503


class ReplyRejected(Exception):
    """A client's reply that does not count: wrong connection, unknown, late or duplicate id."""


class RecordExists(Exception):
    """A record of messages answered later already has this id (an idempotent call's retry finds the
    batch its first attempt started)."""
