"""The contract's shapes as pydantic models (PROTOCOL.md sections 1 and 2).

Every model is built at its first use (``defer_build``), not at import: each function pays only for
the models its requests use, which keeps the cold start of the WebSocket functions short.
"""

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from session_relay import MAX_MESSAGE_TIMEOUT_S

MAX_BULK_IDS = 1000
MAX_FIELD_LENGTH = 128
MAX_ID_64 = 2**63 - 1

# The four reasons a message is not processed, and the bulk-only fifth.
REASON_ERRORED_PREFIX = "function errored, message: "
REASON_INVALID = "invalid return data"
REASON_NO_RESPONSE = "client never responded"
REASON_NO_FUNCTION = "function doesnt exist"
REASON_NOT_FOUND = "session not found"
FIXED_CLIENT_REASONS = frozenset({REASON_INVALID, REASON_NO_RESPONSE, REASON_NO_FUNCTION})

# A strict string (never coerced from a number). Spelt with Field(strict=True) rather than
# pydantic's StrictStr, whose module (pydantic.types) would add to every function's import time.
StrictStr = Annotated[str, Field(strict=True)]
ShortText = Annotated[str, Field(strict=True, min_length=1, max_length=MAX_FIELD_LENGTH)]
Timeout = Annotated[float, Field(strict=True, gt=0, le=MAX_MESSAGE_TIMEOUT_S, allow_inf_nan=False)]


_LAZY = ConfigDict(defer_build=True)


class Session(BaseModel):
    """One connected executor, as the REST API shows it. Times are epoch milliseconds."""

    model_config = _LAZY

    id: str
    user_key: str
    script_id: str
    roblox_id: int
    place_id: int
    job_id: str
    created_at: int
    last_seen_at: int


def _decimal_digits(value: Any) -> Any:
    # Query strings carry text: accept plain decimal digits only (no sign, spaces, "1e3", "0x1").
    if not isinstance(value, str) or not value.isascii() or not value.isdigit():
        raise ValueError("must be a positive decimal integer")
    return int(value)


class Identity(BaseModel):
    """The identity a client presents in the WebSocket handshake's query string."""

    model_config = ConfigDict(extra="ignore", defer_build=True)

    script_id: ShortText
    user_key: ShortText
    job_id: ShortText
    roblox_id: Annotated[int, Field(gt=0, le=MAX_ID_64)]
    place_id: Annotated[int, Field(gt=0, le=MAX_ID_64)]

    _digits = field_validator("roblox_id", "place_id", mode="before")(_decimal_digits)


def _not_null(value: Any) -> Any:
    # Absent means the default; an explicit null is not a number (types are strict).
    if value is None:
        raise ValueError("must be a number of seconds, not null")
    return value


def _number_in_schema(schema: dict[str, Any]) -> None:
    # The field may be left out but never sent as null: document it as a plain number.
    variants = [variant for variant in schema.pop("anyOf", []) if variant.get("type") != "null"]
    schema.update(variants[0] if variants else {})
    schema.pop("default", None)


OptionalTimeout = Annotated[Timeout | None, Field(default=None, json_schema_extra=_number_in_schema)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)


class MessageRequest(_Body):
    """Body of ``POST /sessions/{id}/message``."""

    key: ShortText
    data: Any = Field(default_factory=list)
    timeout: OptionalTimeout = None

    _timeout_not_null = field_validator("timeout", mode="before")(_not_null)


def _unique_ids(ids: list[str]) -> list[str]:
    if len(set(ids)) != len(ids):
        raise ValueError("must not contain duplicate ids")
    return ids


class BulkRequest(_Body):
    session_ids: Annotated[
        list[StrictStr], Field(min_length=1, max_length=MAX_BULK_IDS, json_schema_extra={"uniqueItems": True})
    ]

    _no_duplicates = field_validator("session_ids")(_unique_ids)


class BulkMessageRequest(BulkRequest):
    """Body of ``POST /sessions/message``."""

    key: ShortText
    data: Any = Field(default_factory=list)
    timeout: OptionalTimeout = None

    _timeout_not_null = field_validator("timeout", mode="before")(_not_null)


class ListQuery(BaseModel):
    """Query string of ``GET /sessions``."""

    model_config = ConfigDict(extra="ignore", defer_build=True)

    script_id: str | None = None
    user_key: str | None = None
    job_id: str | None = None
    roblox_id: Annotated[int, Field(gt=0, le=MAX_ID_64)] | None = None
    place_id: Annotated[int, Field(gt=0, le=MAX_ID_64)] | None = None
    limit: Annotated[int, Field(ge=1, le=1000)] = 100
    cursor: str | None = None

    _digits = field_validator("roblox_id", "place_id", "limit", mode="before")(_decimal_digits)


class Outcome(BaseModel):
    """What became of one message: the client's answer or why there is none."""

    model_config = _LAZY

    processed: bool
    response: Any = None
    reason: str | None = None

    def as_contract(self) -> dict[str, Any]:
        if self.processed:
            return {"processed": True, "response": self.response}
        return {"processed": False, "reason": self.reason}


class ReplyFrame(BaseModel):
    """A client's ``reply`` frame, checked against PROTOCOL.md section 2."""

    model_config = _LAZY

    action: Literal["reply"]
    id: StrictStr
    processed: bool = Field(strict=True)
    response: Any = None
    reason: StrictStr | None = None

    def outcome(self, fields_present: set[str]) -> Outcome | None:
        """The outcome this reply reports, or None when the reply is malformed."""
        if self.processed:
            return Outcome(processed=True, response=self.response) if "response" in fields_present else None
        if self.reason is None:
            return None
        if self.reason in FIXED_CLIENT_REASONS or self.reason.startswith(REASON_ERRORED_PREFIX):
            return Outcome(processed=False, reason=self.reason)
        return None
