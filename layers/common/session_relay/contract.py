"""The contract's plain shapes (PROTOCOL.md sections 1 and 2), checked without pydantic.

The WebSocket functions import this, never pydantic: importing pydantic alone costs about a third
of ``import boto3`` (docs/benchmarks.md), more than everything else those functions import. Their
checks are small and written out here: the handshake's identity, a client's reply frame, and the
sentence a refusal carries. The REST API validates its bodies with pydantic (``session_relay.api.bodies``)
and builds its sentences from the same pieces, so both sides word a refusal alike.
"""

import json
from dataclasses import asdict, dataclass
from typing import Any

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


@dataclass(frozen=True, slots=True)
class Session:
    """One connected executor, as the REST API shows it. Times are epoch milliseconds."""

    id: str
    user_key: str
    script_id: str
    roblox_id: int
    place_id: int
    job_id: str
    created_at: int
    last_seen_at: int
    # The functions the client declared (sorted), or None for a client that never declared.
    functions: tuple[str, ...] | None = None

    def as_dict(self) -> dict[str, Any]:
        shown = asdict(self)
        if self.functions is None:
            del shown["functions"]
        else:
            shown["functions"] = list(self.functions)
        return shown

    def declares(self, key: str) -> bool:
        """False only for a session that declared its functions without ``key`` (PROTOCOL.md, declared
        functions): a message to it is answered "function doesnt exist" and no frame is sent."""
        return self.functions is None or key in self.functions


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one message: the client's answer or why there is none."""

    processed: bool
    response: Any = None
    reason: str | None = None

    def as_contract(self) -> dict[str, Any]:
        if self.processed:
            return {"processed": True, "response": self.response}
        return {"processed": False, "reason": self.reason}

    @classmethod
    def from_dict(cls, stored: dict[str, Any]) -> "Outcome":
        """An outcome as ``as_contract`` wrote it (the store's own items, never client input)."""
        return cls(
            processed=bool(stored["processed"]), response=stored.get("response"), reason=stored.get("reason")
        )


def reply_outcome(frame: dict[str, Any]) -> Outcome | None:
    """The outcome a client's ``reply`` frame reports, or None when the frame is malformed:
    ``processed`` a JSON boolean; if true, a ``response``; if false, a ``reason`` string that is one
    of the client's reasons (``function errored, message: …`` or a fixed one)."""
    processed, reason = frame.get("processed"), frame.get("reason")
    if type(processed) is not bool or not (reason is None or isinstance(reason, str)):
        return None
    if processed:
        return Outcome(processed=True, response=frame["response"]) if "response" in frame else None
    if reason in FIXED_CLIENT_REASONS or (reason is not None and reason.startswith(REASON_ERRORED_PREFIX)):
        return Outcome(processed=False, reason=reason)
    return None


# ---------------------------------------------------------------- the handshake's identity


@dataclass(frozen=True, slots=True)
class Identity:
    """The identity a client presents in the WebSocket handshake's query string."""

    script_id: str
    user_key: str
    job_id: str
    roblox_id: int
    place_id: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class InvalidField(ValueError):
    """A value the contract refuses; ``sentence`` names the field and says what it must be."""

    def __init__(self, sentence: str) -> None:
        super().__init__(sentence)
        self.sentence = sentence


def decimal_id(text: Any, high: int = MAX_ID_64) -> int | None:
    """Query text naming an integer in 1..high as plain ASCII decimal digits (no sign, spaces,
    "1e3", "0x1", other scripts' digits), or None."""
    if not isinstance(text, str) or not text.isascii() or not text.isdigit():
        return None
    value = int(text)
    return value if 1 <= value <= high else None


def parse_identity(query: dict[str, str]) -> Identity:
    """The identity of a handshake's query string; the first wrong field (in the order of
    PROTOCOL.md section 2) raises ``InvalidField``. Other parameters are ignored."""
    texts: dict[str, str] = {}
    for field in ("script_id", "user_key", "job_id"):
        value = query.get(field)
        if value is None:
            raise InvalidField(missing_sentence(field))
        if not isinstance(value, str) or not 1 <= len(value) <= MAX_FIELD_LENGTH:
            raise InvalidField(field_sentence(field, value))
        texts[field] = value
    ids: dict[str, int] = {}
    for field in ("roblox_id", "place_id"):
        if field not in query:
            raise InvalidField(missing_sentence(field))
        value = decimal_id(query[field])
        if value is None:
            raise InvalidField(field_sentence(field, query[field]))
        ids[field] = value
    return Identity(**texts, **ids)


# ---------------------------------------------------------------- validation sentences

# What each field must be, in the contract's words (PROTOCOL.md section 1, "Validation"). A 422 (or a
# refused handshake's 400) names the field and says this, whatever the wrong value was; only the
# parenthesis after it says what was wrong with this value.
_SHORT_TEXT = f"must be a string of 1 to {MAX_FIELD_LENGTH} characters"
_POSITIVE_ID = "must be a positive decimal integer below 2^63"
EXPECTED = {
    "key": _SHORT_TEXT,
    "timeout": f"must be a JSON number of seconds, 0 < timeout <= {MAX_MESSAGE_TIMEOUT_S:g}",
    "session_ids": f"must be a list of 1 to {MAX_BULK_IDS} session id strings, without duplicates",
    "script_id": _SHORT_TEXT,
    "user_key": _SHORT_TEXT,
    "job_id": _SHORT_TEXT,
    "roblox_id": _POSITIVE_ID,
    "place_id": _POSITIVE_ID,
    "function": _SHORT_TEXT,
    "reason": "must be a string of 1 to 200 characters",
    "expires_in": "must be a whole number of seconds from 60 to 31536000",
    "limit": f"must be a decimal integer from 1 to {MAX_BULK_IDS}",
    "cursor": "must be a next_cursor this API returned",
}
_SHOWN_TEXT = 32


def shown(value: Any) -> str:
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


def field_sentence(field: str, value: Any) -> str:
    """The sentence for a field whose value was refused: ``field: what it must be (got …)``."""
    return f"{field}: {EXPECTED[field]} (got {shown(value)})"


def missing_sentence(field: str) -> str:
    return f"{field}: {EXPECTED[field]} (it is missing)"
