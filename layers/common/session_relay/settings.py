"""Runtime settings, read once per container from the environment."""

import os
from dataclasses import dataclass, fields
from functools import lru_cache
from typing import Any

from session_relay import MAX_MESSAGE_TIMEOUT_S

# Time kept back from the API Gateway integration timeout so the answer reaches the caller in time.
INTEGRATION_MARGIN_MS = 2_000
DEFAULT_INTEGRATION_TIMEOUT_MS = 62_000


def max_wait_for(integration_timeout_ms: int) -> float:
    """The longest message wait a deployment with this integration timeout honours (seconds)."""
    return min(MAX_MESSAGE_TIMEOUT_S, (integration_timeout_ms - INTEGRATION_MARGIN_MS) / 1000)


@dataclass(frozen=True, slots=True)
class Settings:
    """Every knob the handlers read. Table names are required; the rest have defaults.

    Checked by ``settings_from_environment`` (plain code: the WebSocket functions import no pydantic).
    """

    sessions_table: str
    connections_table: str
    auth_table: str
    # Read by the REST API only: outcomes of messages answered later, and idempotency records.
    outcomes_table: str | None = None
    idempotency_table: str | None = None
    dynamodb_endpoint_url: str | None = None
    management_api_url: str | None = None
    integration_timeout_ms: int = DEFAULT_INTEGRATION_TIMEOUT_MS
    api_key_cache_ttl_s: float = 30.0
    message_ttl_s: int = 600
    post_workers: int = 32
    max_calls_in_flight: int = 50  # 0: no cap (no 429, no lease)
    # Broadcasts: their table and work queue (the REST function and the broadcast worker).
    broadcasts_table: str | None = None
    broadcast_queue_url: str | None = None
    max_broadcasts_per_key: int = 5
    broadcast_post_rate: int = 1000  # frames a second, every worker together
    broadcast_concurrency: int = 10  # the event source mapping's MaximumConcurrency
    broadcast_chunk_size: int = 100

    @property
    def max_wait_s(self) -> float:
        """The longest message wait this deployment honours (seconds)."""
        return max_wait_for(self.integration_timeout_ms)


# Each number setting: its type and its bounds (inclusive; None for no bound).
_NUMBERS: dict[str, tuple[type, float | None, float | None]] = {
    "integration_timeout_ms": (int, 3_000, None),
    "api_key_cache_ttl_s": (float, 0, None),
    "message_ttl_s": (int, 120, None),
    "post_workers": (int, 1, 256),
    "max_calls_in_flight": (int, 0, 10_000),
    "max_broadcasts_per_key": (int, 1, 1000),
    "broadcast_post_rate": (int, 1, 10_000),
    "broadcast_concurrency": (int, 2, 1000),
    "broadcast_chunk_size": (int, 1, 1000),
}
_REQUIRED_TABLES = ("sessions_table", "connections_table", "auth_table")
_OPTIONAL_TABLES = ("outcomes_table", "idempotency_table", "broadcasts_table")
_TABLE_NAME_MIN = 3  # DynamoDB's shortest table name


def _number(field: str, text: str) -> tuple[Any, str | None]:
    kind, low, high = _NUMBERS[field]
    try:
        value = kind(text)
    except ValueError:
        return None, f"must be {'an integer' if kind is int else 'a number'} (got {text!r})"
    if value != value or (low is not None and value < low) or (high is not None and value > high):
        bounds = f"at least {low:g}" if high is None else f"from {low:g} to {high:g}"
        return None, f"must be {bounds} (got {text!r})"
    return value, None


_ENVIRONMENT = {
    "sessions_table": "SESSIONS_TABLE",
    "connections_table": "CONNECTIONS_TABLE",
    "auth_table": "AUTH_TABLE",
    "outcomes_table": "OUTCOMES_TABLE",
    "idempotency_table": "IDEMPOTENCY_TABLE",
    "dynamodb_endpoint_url": "DYNAMODB_ENDPOINT_URL",
    "management_api_url": "MANAGEMENT_API_URL",
    "integration_timeout_ms": "INTEGRATION_TIMEOUT_MS",
    "api_key_cache_ttl_s": "API_KEY_CACHE_TTL_S",
    "message_ttl_s": "MESSAGE_TTL_S",
    "post_workers": "POST_WORKERS",
    "max_calls_in_flight": "MAX_CALLS_IN_FLIGHT",
    "broadcasts_table": "BROADCASTS_TABLE",
    "broadcast_queue_url": "BROADCAST_QUEUE_URL",
    "max_broadcasts_per_key": "MAX_BROADCASTS_PER_KEY",
    "broadcast_post_rate": "BROADCAST_POST_RATE",
    "broadcast_concurrency": "BROADCAST_CONCURRENCY",
    "broadcast_chunk_size": "BROADCAST_CHUNK_SIZE",
}


def settings_from_environment(environ: dict[str, str] | None = None) -> Settings:
    """Build settings from environment variables; fail loudly naming each one missing or wrong."""
    environ = os.environ if environ is None else environ
    raw = {field: environ[name] for field, name in _ENVIRONMENT.items() if environ.get(name)}
    values: dict[str, Any] = {}
    problems = []
    for field in (field.name for field in fields(Settings)):
        text = raw.get(field)
        if text is None:
            if field in _REQUIRED_TABLES:
                problems.append(f"{_ENVIRONMENT[field]}: is required")
            continue
        problem = None
        if field in _REQUIRED_TABLES or field in _OPTIONAL_TABLES:
            if len(text) < _TABLE_NAME_MIN:
                problem = f"must be a table name of at least {_TABLE_NAME_MIN} characters (got {text!r})"
            values[field] = text
        elif field in _NUMBERS:
            values[field], problem = _number(field, text)
        else:
            values[field] = text
        if problem:
            problems.append(f"{_ENVIRONMENT[field]}: {problem}")
    if problems:
        raise RuntimeError(f"invalid Session Relay configuration: {', '.join(problems)}")
    return Settings(**values)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The container's settings (cached; tests call ``get_settings.cache_clear()``)."""
    return settings_from_environment()
