"""The contract's shapes as pydantic models (PROTOCOL.md sections 1 and 2), and the sentence that
says which field failed and what it must be.

Every model is built at its first use (``defer_build``), not at import: each function pays only for
the models its requests use, which keeps the cold start of the WebSocket functions short.
"""

import json
import re
from collections import Counter
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
StrictBool = Annotated[bool, Field(strict=True)]
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


def _decimal_digits(low: int, high: int) -> Any:
    """A before-validator for query text: plain decimal digits (no sign, spaces, "1e3", "0x1") naming
    an integer in low..high. Checked on the text itself, so every wrong value is reported alike."""

    def check(value: Any) -> int:
        if not isinstance(value, str) or not value.isascii() or not value.isdigit():
            raise ValueError("not decimal digits")
        if not low <= int(value) <= high:
            raise ValueError("out of range")
        return int(value)

    return check


class Identity(BaseModel):
    """The identity a client presents in the WebSocket handshake's query string."""

    model_config = ConfigDict(extra="ignore", defer_build=True)

    script_id: ShortText
    user_key: ShortText
    job_id: ShortText
    roblox_id: Annotated[int, Field(gt=0, le=MAX_ID_64)]
    place_id: Annotated[int, Field(gt=0, le=MAX_ID_64)]

    _digits = field_validator("roblox_id", "place_id", mode="before")(_decimal_digits(1, MAX_ID_64))


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
    wait: StrictBool = True

    _timeout_not_null = field_validator("timeout", mode="before")(_not_null)


class ListQuery(BaseModel):
    """Query string of ``GET /sessions``."""

    model_config = ConfigDict(extra="ignore", defer_build=True)

    script_id: str | None = None
    user_key: str | None = None
    job_id: str | None = None
    roblox_id: Annotated[int, Field(gt=0, le=MAX_ID_64)] | None = None
    place_id: Annotated[int, Field(gt=0, le=MAX_ID_64)] | None = None
    limit: Annotated[int, Field(ge=1, le=MAX_BULK_IDS)] = 100
    cursor: str | None = None

    _ids = field_validator("roblox_id", "place_id", mode="before")(_decimal_digits(1, MAX_ID_64))
    _limit = field_validator("limit", mode="before")(_decimal_digits(1, MAX_BULK_IDS))


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


# ---------------------------------------------------------------- validation sentences

# What each field must be, in the contract's words (PROTOCOL.md section 1, "Validation"). A 422 (or a
# refused handshake's 400) names the field and says this, whatever the wrong value was; only the
# parenthesis after it says what was wrong with this value.
_SHORT_TEXT = f"must be a string of 1 to {MAX_FIELD_LENGTH} characters"
_POSITIVE_ID = "must be a positive decimal integer below 2^63"
_NAMED = re.compile(r"^[a-z_]+: ")
EXPECTED = {
    "key": _SHORT_TEXT,
    "timeout": f"must be a JSON number of seconds, 0 < timeout <= {MAX_MESSAGE_TIMEOUT_S:g}",
    "session_ids": f"must be a list of 1 to {MAX_BULK_IDS} session id strings, without duplicates",
    "script_id": _SHORT_TEXT,
    "user_key": _SHORT_TEXT,
    "job_id": _SHORT_TEXT,
    "roblox_id": _POSITIVE_ID,
    "place_id": _POSITIVE_ID,
    "limit": f"must be a decimal integer from 1 to {MAX_BULK_IDS}",
    "cursor": "must be a next_cursor this API returned",
}
_SHOWN_TEXT = 32


def _shown(value: Any) -> str:
    """A wrong value in a few words: its JSON text when short, else what kind of value it is."""
    if isinstance(value, str):
        if len(value) > _SHOWN_TEXT:
            return f"a string of {len(value)} characters"
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "an empty list" if not value else f"a list of {len(value)} item{'s' * (len(value) > 1)}"
    if isinstance(value, dict):
        return "an object"
    text = json.dumps(value)
    return text if len(text) <= _SHOWN_TEXT else f"a number of {len(text)} digits"


def _what_was_wrong(error: dict[str, Any]) -> str:
    location, value = error["loc"], error.get("input")
    if error["type"] == "missing":
        return "it is missing"
    if len(location) > 1 and isinstance(location[1], int):
        return f"item {location[1] + 1}: got {_shown(value)}"
    if isinstance(value, list) and len(value) <= MAX_BULK_IDS:
        repeated = [item for item, count in Counter(map(str, value)).items() if count > 1]
        if repeated:
            return f"{_shown(repeated[0])} appears more than once"
    return f"got {_shown(value)}"


def field_sentence(field: str, value: Any) -> str:
    """The sentence for a field whose value was refused outside pydantic (e.g. an unknown cursor)."""
    return f"{field}: {EXPECTED[field]} (got {_shown(value)})"


def describe_errors(errors: Any, model: type[BaseModel] | None = None) -> str:
    """One sentence for the first failing field: ``field: what it must be (what was wrong)``."""
    error = errors[0]
    location = [part for part in error["loc"] if part not in ("body", "query", "path")]
    message = str(error["msg"]).removeprefix("Value error, ")
    if not location and _NAMED.match(message):  # a check across fields names its own field
        return message
    # A field inside an object is named with its path ("filter.place_id"); list positions are not.
    names = [str(location[0])] + [str(part) for part in location[1:] if isinstance(part, str)]
    field, leaf = (".".join(names), names[-1]) if location else ("body", "body")
    if error["type"] == "extra_forbidden":
        known = (
            ", ".join(model.model_fields)
            if model is not None and len(names) == 1
            else "the documented fields"
        )
        return f"{field}: is not a field of this request (it takes {known})"
    if leaf in EXPECTED:
        return f"{field}: {EXPECTED[leaf]} ({_what_was_wrong(error)})"
    return f"{field}: {message}"
