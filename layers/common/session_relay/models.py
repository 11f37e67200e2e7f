"""The contract's shapes as pydantic models (PROTOCOL.md sections 1 and 2)."""

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictStr,
    ValidationInfo,
    field_validator,
    model_validator,
)

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

ShortText = Annotated[StrictStr, Field(min_length=1, max_length=MAX_FIELD_LENGTH)]
Timeout = Annotated[float, Field(strict=True, gt=0, le=MAX_MESSAGE_TIMEOUT_S, allow_inf_nan=False)]


class Session(BaseModel):
    """One connected executor, as the REST API shows it. Times are epoch milliseconds."""

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

    model_config = ConfigDict(extra="ignore")

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


def _not_null_field(value: Any) -> Any:
    # A field may be left out; an explicit null is refused rather than read as "not given".
    if value is None:
        raise ValueError("must not be null (leave the field out instead)")
    return value


def _list_in_schema(schema: dict[str, Any]) -> None:
    # Optional (``filter`` instead), but never null: document it as a plain list of unique ids.
    _number_in_schema(schema)
    schema["uniqueItems"] = True


OptionalTimeout = Annotated[Timeout | None, Field(default=None, json_schema_extra=_number_in_schema)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MessageRequest(_Body):
    """Body of ``POST /sessions/{id}/message``."""

    key: ShortText
    data: Any = Field(default_factory=list)
    timeout: OptionalTimeout = None
    wait: StrictBool = True

    _timeout_not_null = field_validator("timeout", mode="before")(_not_null)


def _unique_ids(ids: list[str] | None) -> list[str] | None:
    if ids is not None and len(set(ids)) != len(ids):
        raise ValueError("must not contain duplicate ids")
    return ids


def _json_integer(value: Any) -> Any:
    # A JSON integer (1.0 is one, as JSON Schema counts), never a string or a boolean.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be an integer")
    return value


PositiveId = Annotated[int, Field(gt=0, le=MAX_ID_64), BeforeValidator(_json_integer)]
PageSize = Annotated[int, Field(ge=1, le=MAX_BULK_IDS), BeforeValidator(_json_integer)]


# May be left out, never null: documented as the plain type.
_NeverNull = Field(default=None, json_schema_extra=_number_in_schema)
OptionalText = Annotated[ShortText | None, _NeverNull]
OptionalId = Annotated[PositiveId | None, _NeverNull]


class SessionFilter(_Body):
    """Which of the caller's live sessions a bulk call targets: every field given must match."""

    script_id: OptionalText = None
    user_key: OptionalText = None
    roblox_id: OptionalId = None
    place_id: OptionalId = None
    job_id: OptionalText = None

    _no_nulls = field_validator("*", mode="before")(_not_null_field)


class BulkRequest(_Body):
    """Body of ``POST /sessions/disconnect``: ``session_ids``, or ``filter`` (with ``limit`` and
    ``cursor``), exactly one of the two."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "oneOf": [{"required": ["session_ids"]}, {"required": ["filter"]}],
            "dependentRequired": {"limit": ["filter"], "cursor": ["filter"]},
        },
    )

    session_ids: Annotated[
        list[StrictStr] | None,
        Field(
            default=None,
            min_length=1,
            max_length=MAX_BULK_IDS,
            json_schema_extra=_list_in_schema,
        ),
    ] = None
    filter: Annotated[SessionFilter | None, _NeverNull] = None
    limit: Annotated[PageSize | None, _NeverNull] = None
    cursor: Annotated[StrictStr | None, Field(min_length=1, max_length=512), _NeverNull] = None

    _no_duplicates = field_validator("session_ids")(_unique_ids)

    @model_validator(mode="before")
    @classmethod
    def _exactly_one(cls, document: Any) -> Any:
        if isinstance(document, dict):
            if "filter" in document and "session_ids" in document:
                raise ValueError("filter: give either filter or session_ids, not both")
            if "filter" not in document and "session_ids" not in document:
                raise ValueError("session_ids: required, unless filter is given instead")
        return document

    @field_validator("limit", "cursor", mode="after")
    @classmethod
    def _with_filter(cls, value: Any, info: ValidationInfo) -> Any:
        if value is not None and info.data.get("filter") is None:
            raise ValueError("only with filter")
        return value

    _limit_not_null = field_validator("limit", "cursor", "filter", "session_ids", mode="before")(
        _not_null_field
    )

    @property
    def page_size(self) -> int:
        return self.limit or MAX_BULK_IDS


class BulkMessageRequest(BulkRequest):
    """Body of ``POST /sessions/message``."""

    key: ShortText
    data: Any = Field(default_factory=list)
    timeout: OptionalTimeout = None
    wait: StrictBool = True

    _timeout_not_null = field_validator("timeout", mode="before")(_not_null)


class ListQuery(BaseModel):
    """Query string of ``GET /sessions``."""

    model_config = ConfigDict(extra="ignore")

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

    processed: bool
    response: Any = None
    reason: str | None = None

    def as_contract(self) -> dict[str, Any]:
        if self.processed:
            return {"processed": True, "response": self.response}
        return {"processed": False, "reason": self.reason}


class ReplyFrame(BaseModel):
    """A client's ``reply`` frame, checked against PROTOCOL.md section 2."""

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
