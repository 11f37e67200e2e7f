"""Bodies of the bulk routes: ``session_ids``, or a ``filter`` of the caller's live sessions with
``limit`` and ``cursor`` (PROTOCOL.md section 1, "Extension: targeting by filter")."""

from typing import Annotated, Any

from pydantic import (
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from session_relay.contract import EXPECTED, MAX_BULK_IDS, MAX_ID_64
from session_relay.models import (
    OptionalTimeout,
    ShortText,
    StrictBool,
    StrictStr,
    _Body,
    _not_null,
    _number_in_schema,
)


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

    _no_nulls = field_validator("*", mode="before")(_not_null_field)


class BulkRequest(_Body):
    """Body of ``POST /sessions/disconnect``: ``session_ids``, or ``filter`` (with ``limit`` and
    ``cursor``), exactly one of the two."""

    model_config = ConfigDict(
        extra="forbid",
        defer_build=True,
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
