"""The local stack's ports and development credentials, from the environment (PROTOCOL.md section 3)."""

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class StackConfig:
    rest_port: int = 3000
    ws_port: int = 3001
    dynamodb_port: int = 8000
    dynamodb_endpoint: str | None = None
    script_id: str | None = None
    api_key: str | None = None

    @classmethod
    def from_environment(cls, environ: dict[str, str] | None = None) -> "StackConfig":
        environ = os.environ if environ is None else environ

        def port(name: str, default: int) -> int:
            value = environ.get(name, "").strip()
            if not value:
                return default
            if not value.isdigit() or not 0 < int(value) < 65536:
                raise SystemExit(f"{name} must be a TCP port number (1-65535), not {value!r}")
            return int(value)

        return cls(
            rest_port=port("SESSION_RELAY_REST_PORT", 3000),
            ws_port=port("SESSION_RELAY_WS_PORT", 3001),
            dynamodb_port=port("SESSION_RELAY_DYNAMODB_PORT", 8000),
            dynamodb_endpoint=environ.get("SESSION_RELAY_DYNAMODB_ENDPOINT") or None,
            script_id=environ.get("SESSION_RELAY_DEV_SCRIPT_ID") or None,
            api_key=environ.get("SESSION_RELAY_DEV_API_KEY") or None,
        )
