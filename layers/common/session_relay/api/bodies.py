"""The REST API's request bodies and queries as pydantic models (PROTOCOL.md section 1), built at
first use (``defer_build``), and the sentence that says which field failed and what it must be (its
words come from ``session_relay.contract``, shared with the pydantic-free WebSocket side)."""

import re
from collections import Counter
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from session_relay import MAX_MESSAGE_TIMEOUT_S
from session_relay.contract import EXPECTED, MAX_BULK_IDS, MAX_FIELD_LENGTH, MAX_ID_64, decimal_id, shown
from session_relay.service.access import Selection
from session_relay.service.messaging import Send

# A strict string (never coerced from a number). Spelt with Field(strict=True) rather than
# pydantic's StrictStr, whose module (pydantic.types) would add to the REST function's import time.
StrictStr = Annotated[str, Field(strict=True)]
StrictBool = Annotated[bool, Field(strict=True)]
ShortText = Annotated[str, Field(strict=True, min_length=1, max_length=MAX_FIELD_LENGTH)]
Timeout = Annotated[float, Field(strict=True, gt=0, le=MAX_MESSAGE_TIMEOUT_S, allow_inf_nan=False)]


def _decimal_digits(high: int) -> Any:
    """A before-validator for query text: plain decimal digits naming an integer in 1..high
    (``contract.decimal_id``). Checked on the text itself, so every wrong value is reported alike."""

    def check(value: Any) -> int:
        number = decimal_id(value, high)
        if number is None:
            raise ValueError("not decimal digits from 1 to the maximum")
        return number

    return check


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


# Examples of each body, shown by the OpenAPI document (``/docs``).
_MESSAGE_EXAMPLE = {"key": "announce", "data": {"text": "Server restarts in 5 minutes"}, "timeout": 20}
_IDS_EXAMPLE = {"session_ids": ["SESSION_ID_1", "SESSION_ID_2"]}
_FILTER_EXAMPLE = {"filter": {"place_id": 606849621}, "limit": 1000}
# A bulk body is ``session_ids`` or a ``filter`` page, exactly one of the two.
_BULK_SCHEMA = {
    "oneOf": [{"required": ["session_ids"]}, {"required": ["filter"]}],
    "dependentRequired": {"limit": ["filter"], "cursor": ["filter"]},
}


class _Message(_Body):
    """What a message body carries besides its targets."""

    key: ShortText
    data: Any = Field(default_factory=list)
    timeout: OptionalTimeout = None
    wait: StrictBool = True

    _timeout_not_null = field_validator("timeout", mode="before")(_not_null)

    def send(self) -> Send:
        return Send(self.key, self.data, self.timeout, self.wait)


class MessageRequest(_Message):
    """Body of ``POST /sessions/{id}/message``."""

    model_config = ConfigDict(json_schema_extra={"examples": [_MESSAGE_EXAMPLE]})


class ListQuery(BaseModel):
    """Query string of ``GET /sessions``."""

    model_config = ConfigDict(extra="ignore", defer_build=True)

    script_id: str | None = None
    user_key: str | None = None
    job_id: str | None = None
    function: Annotated[str, Field(min_length=1, max_length=MAX_FIELD_LENGTH)] | None = None
    roblox_id: Annotated[int, Field(gt=0, le=MAX_ID_64)] | None = None
    place_id: Annotated[int, Field(gt=0, le=MAX_ID_64)] | None = None
    limit: Annotated[int, Field(ge=1, le=MAX_BULK_IDS)] = 100
    cursor: str | None = None

    _ids = field_validator("roblox_id", "place_id", mode="before")(_decimal_digits(MAX_ID_64))
    _limit = field_validator("limit", mode="before")(_decimal_digits(MAX_BULK_IDS))


# ---------------------------------------------------------------- bulk bodies


def _not_null_field(value: Any) -> Any:
    # A field may be left out; an explicit null is refused rather than read as "not given".
    if value is None:
        raise ValueError("must not be null (leave the field out instead)")
    return value


def _list_in_schema(schema: dict[str, Any]) -> None:
    # Optional (``filter`` instead), but never null: document it as a plain list of unique ids.
    _number_in_schema(schema)
    schema["uniqueItems"] = True


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
    # Sessions that declared this function (PROTOCOL.md, declared functions).
    function: OptionalText = None

    _no_nulls = field_validator("*", mode="before")(_not_null_field)


class BulkRequest(_Body):
    """Body of ``POST /sessions/disconnect``: ``session_ids``, or ``filter`` (with ``limit`` and
    ``cursor``), exactly one of the two."""

    model_config = ConfigDict(
        extra="forbid",
        defer_build=True,
        json_schema_extra={**_BULK_SCHEMA, "examples": [_IDS_EXAMPLE, _FILTER_EXAMPLE]},
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
                raise ValueError(f"session_ids: {EXPECTED['session_ids']} (it is missing, and so is filter)")
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

    def selection(self) -> Selection:
        """The sessions this body targets, for the service."""
        if self.filter is None:
            return Selection(session_ids=self.session_ids)
        return Selection(
            filter=self.filter.model_dump(exclude_none=True),
            limit=self.limit or MAX_BULK_IDS,
            cursor=self.cursor,
        )


class BulkMessageRequest(_Message, BulkRequest):
    """Body of ``POST /sessions/message``."""

    model_config = ConfigDict(
        json_schema_extra={
            **_BULK_SCHEMA,
            "examples": [
                {**_IDS_EXAMPLE, **_MESSAGE_EXAMPLE},
                {**_FILTER_EXAMPLE, "key": "announce", "data": {"text": "hi"}, "wait": False},
            ],
        }
    )


# ---------------------------------------------------------------- validation sentences

_NAMED = re.compile(r"^[a-z_]+: ")


def _what_was_wrong(error: dict[str, Any]) -> str:
    location, value = error["loc"], error.get("input")
    if error["type"] == "missing":
        return "it is missing"
    if len(location) > 1 and isinstance(location[1], int):
        return f"item {location[1] + 1}: got {shown(value)}"
    if isinstance(value, list) and len(value) <= MAX_BULK_IDS:
        repeated = [item for item, count in Counter(map(str, value)).items() if count > 1]
        if repeated:
            return f"{shown(repeated[0])} appears more than once"
    return f"got {shown(value)}"


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
