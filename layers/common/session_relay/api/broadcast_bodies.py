"""Request bodies and queries of the broadcast routes (PROTOCOL.md, "Extension: broadcasts"): the
filter object of targeting by filter (required here, ``{}`` for every session) and ``key``, ``data``
and ``timeout`` validated as on the message routes."""

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from session_relay.api.bodies import (
    OptionalTimeout,
    SessionFilter,
    ShortText,
    _Body,
    _decimal_digits,
    _not_null,
    _not_null_field,
)
from session_relay.contract import MAX_BULK_IDS
from session_relay.service.messaging import Send

_FILTER_EXAMPLE = {"place_id": 606849621}


class BroadcastDisconnectRequest(_Body):
    """Body of ``POST /broadcasts/disconnect``."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"filter": _FILTER_EXAMPLE}, {"filter": {}}]})

    filter: SessionFilter

    _filter_not_null = field_validator("filter", mode="before")(_not_null_field)

    def filter_fields(self) -> dict[str, Any]:
        return self.filter.model_dump(exclude_none=True)


class BroadcastMessageRequest(BroadcastDisconnectRequest):
    """Body of ``POST /broadcasts/message``."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"filter": _FILTER_EXAMPLE, "key": "announce", "data": {"text": "hi"}, "timeout": 20}
            ]
        }
    )

    key: ShortText
    data: Any = Field(default_factory=list)
    timeout: OptionalTimeout = None

    _timeout_not_null = field_validator("timeout", mode="before")(_not_null)

    def send(self) -> Send:
        return Send(self.key, self.data, self.timeout, wait=False)


class PageQuery(BaseModel):
    """``limit`` (1..1000, default 100) and ``cursor``: the query of ``GET /broadcasts`` and of
    ``GET /broadcasts/{id}/responses``."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    limit: Annotated[int, Field(ge=1, le=MAX_BULK_IDS)] = 100
    cursor: Annotated[str, Field(min_length=1, max_length=1024)] | None = None

    _limit = field_validator("limit", mode="before")(_decimal_digits(MAX_BULK_IDS))
