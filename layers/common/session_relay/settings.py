"""Runtime settings, read once per container from the environment."""

import os
from functools import lru_cache

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from session_relay import MAX_MESSAGE_TIMEOUT_S

# Time kept back from the API Gateway integration timeout so the answer reaches the caller in time.
INTEGRATION_MARGIN_MS = 2_000
DEFAULT_INTEGRATION_TIMEOUT_MS = 62_000


class Settings(BaseModel):
    """Every knob the handlers read. Table names are required; the rest have defaults."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    sessions_table: str = Field(min_length=3)
    connections_table: str = Field(min_length=3)
    auth_table: str = Field(min_length=3)
    # Read by the REST API only: outcomes of messages answered later, and idempotency records.
    outcomes_table: str | None = Field(default=None, min_length=3)
    idempotency_table: str | None = Field(default=None, min_length=3)
    dynamodb_endpoint_url: str | None = None
    management_api_url: str | None = None
    integration_timeout_ms: int = Field(default=DEFAULT_INTEGRATION_TIMEOUT_MS, ge=3_000)
    api_key_cache_ttl_s: float = Field(default=30.0, ge=0)
    message_ttl_s: int = Field(default=600, ge=120)
    post_workers: int = Field(default=32, ge=1, le=256)
    max_calls_in_flight: int = Field(default=50, ge=1, le=10_000)

    @property
    def max_wait_s(self) -> float:
        """The longest message wait this deployment honours (seconds)."""
        usable_ms = self.integration_timeout_ms - INTEGRATION_MARGIN_MS
        return min(MAX_MESSAGE_TIMEOUT_S, usable_ms / 1000)


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
}


def settings_from_environment(environ: dict[str, str] | None = None) -> Settings:
    """Build settings from environment variables; fail loudly naming what is missing or wrong."""
    environ = os.environ if environ is None else environ
    raw = {field: environ[name] for field, name in _ENVIRONMENT.items() if environ.get(name)}
    try:
        return Settings.model_validate(raw)
    except ValidationError as exc:
        problems = ", ".join(
            f"{_ENVIRONMENT[str(error['loc'][0])]}: {error['msg']}" for error in exc.errors()
        )
        raise RuntimeError(f"invalid Session Relay configuration: {problems}") from exc


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The container's settings (cached; tests call ``get_settings.cache_clear()``)."""
    return settings_from_environment()
