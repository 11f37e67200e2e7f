"""What the in-process handlers read from their environment, and the one list of cached factories
cleared whenever that environment changes."""

from pathlib import Path

import pytest
from session_relay import aws, settings, store
from session_relay.service import idempotency, wiring

REPO_ROOT = Path(__file__).resolve().parents[2]
REGION = "us-east-1"
# The WebSocket API's stage URL: the sample events under events/websocket/ come from this API.
MANAGEMENT_API_URL = "https://w3bs0ck3t1.execute-api.us-east-1.amazonaws.com/prod"

# Fake credentials (no call can reach AWS) and the region; tracing off, as in the local stack.
FAKE_AWS_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "POWERTOOLS_TRACE_DISABLED": "true",
}
# Settings read from the environment and left to their defaults unless a test sets them.
SETTINGS_ENVIRONMENT = (
    "DYNAMODB_ENDPOINT_URL",
    "INTEGRATION_TIMEOUT_MS",
    "API_KEY_CACHE_TTL_S",
    "MESSAGE_TTL_S",
    "POST_WORKERS",
)

CACHED_FACTORIES = (
    settings.get_settings,
    store.get_store,
    *wiring.CACHED,
    aws.dynamodb_client,
    aws.management_client,
    idempotency.persistence,
)
"""Everything the handlers build once per container and keep: cleared when a test changes the
environment, and before and after every test."""


def clear_caches() -> None:
    for factory in CACHED_FACTORIES:
        factory.cache_clear()


def set_environment(monkeypatch: pytest.MonkeyPatch, tables: dict[str, str], **extra: str) -> None:
    """The environment of a deployed function on fake AWS: credentials, region, ``tables``
    (``SESSIONS_TABLE`` ... -> table name), the Management API's URL, settings left to their
    defaults, and ``extra``."""
    for name in SETTINGS_ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
    for name, value in {
        **FAKE_AWS_ENVIRONMENT,
        **tables,
        "MANAGEMENT_API_URL": MANAGEMENT_API_URL,
        **extra,
    }.items():
        monkeypatch.setenv(name, value)
