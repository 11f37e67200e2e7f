"""The bans routes' body and query (PROTOCOL.md, "Extension: bans") as pydantic models, with the
contract's sentences (``session_relay.api.bodies.describe_errors``)."""

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from session_relay.api.bodies import (
    OptionalId,
    OptionalText,
    ShortText,
    _Body,
    _decimal_digits,
    _json_integer,
    _NeverNull,
    _not_null_field,
)
from session_relay.contract import EXPECTED, MAX_BULK_IDS
from session_relay.service.bans import BanWanted

MAX_REASON_LENGTH = 200
MIN_BAN_S, MAX_BAN_S = 60, 31_536_000
Reason = Annotated[str, Field(strict=True, min_length=1, max_length=MAX_REASON_LENGTH)]
Lifetime = Annotated[int, Field(ge=MIN_BAN_S, le=MAX_BAN_S)]

_EXAMPLES = [
    {"script_id": "SCRIPT_ID", "user_key": "USER_KEY", "reason": "cheating", "expires_in": 86400},
    {"script_id": "SCRIPT_ID", "roblox_id": 10234711811},
]


class BanRequest(_Body):
    """Body of ``POST /bans``: the script, exactly one of ``user_key`` and ``roblox_id``, an optional
    ``reason`` and ``expires_in`` (seconds; absent: until lifted)."""

    model_config = ConfigDict(
        extra="forbid",
        defer_build=True,
        json_schema_extra={
            "oneOf": [{"required": ["user_key"]}, {"required": ["roblox_id"]}],
            "examples": _EXAMPLES,
        },
    )

    script_id: ShortText
    user_key: OptionalText = None
    roblox_id: OptionalId = None
    reason: Annotated[Reason | None, _NeverNull] = None
    expires_in: Annotated[Lifetime | None, _NeverNull] = None

    _no_nulls = field_validator("user_key", "roblox_id", "reason", "expires_in", mode="before")(
        _not_null_field
    )
    _whole_seconds = field_validator("expires_in", mode="before")(_json_integer)

    @model_validator(mode="before")
    @classmethod
    def _exactly_one(cls, document: Any) -> Any:
        if isinstance(document, dict):
            if "user_key" in document and "roblox_id" in document:
                raise ValueError("user_key: give either user_key or roblox_id, not both")
            if "user_key" not in document and "roblox_id" not in document:
                raise ValueError(f"user_key: {EXPECTED['user_key']} (it is missing, and so is roblox_id)")
        return document

    def wanted(self) -> BanWanted:
        return BanWanted(self.script_id, self.user_key, self.roblox_id, self.reason, self.expires_in)


class BanListQuery(BaseModel):
    """Query string of ``GET /bans``."""

    model_config = ConfigDict(extra="ignore", defer_build=True)

    script_id: str | None = None
    limit: Annotated[int, Field(ge=1, le=MAX_BULK_IDS)] = 100
    cursor: str | None = None

    _limit = field_validator("limit", mode="before")(_decimal_digits(MAX_BULK_IDS))
