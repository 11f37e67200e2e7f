"""Fuzzing: the REST API against its own OpenAPI document (schemathesis), and the WebSocket frame
parser against arbitrary text (hypothesis)."""

import base64
import contextlib
import copy
import json
import re
import uuid
from typing import Any

import httpx
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import checks
from schemathesis.core.parameters import ParameterLocation
from session_relay import FRAME_LIMIT_BYTES
from session_relay.api import app
from session_relay.contract import Outcome, Session
from session_relay.errors import ReplyRejected
from session_relay.settings import max_wait_for
from session_relay.store import RecordedReply
from session_relay.websocket import events, frames
from session_relay.wire import dump_json, parse_json

from session_relay_tools.local.process import RunningStack
from session_relay_tools.template import load_template

# The document is the app's own; the first test proves it is exactly what the stack serves. (Loading
# it lazily from the running stack needs schemathesis.pytest.from_fixture, which pytest 9 breaks.)
# The one deployment-specific value, the maximum of ``wait``, is the stack's (from the template's
# integration timeout): this process has no deployment environment to read it from.
STACK_MAX_WAIT_S = max_wait_for(int(load_template()["Parameters"]["IntegrationTimeoutMs"]["Default"]))
DOCUMENT = copy.deepcopy(app.openapi())
for _operations in DOCUMENT["paths"].values():
    for _parameter in _operations.get("get", {}).get("parameters", []):
        if _parameter["name"] == "wait":
            _parameter["schema"]["maximum"] = STACK_MAX_WAIT_S
schema = schemathesis.openapi.from_dict(DOCUMENT)
VISIBLE_ASCII = re.compile(r"[!-~]{1,128}")


def test_the_fuzzed_document_is_the_one_the_stack_serves(local_stack: RunningStack):
    assert httpx.get(f"{local_stack.rest_url}/openapi.json").json() == DOCUMENT


@schema.parametrize()
@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_rest_api_matches_its_openapi_document(case, local_stack):
    excluded = []
    if case.operation.path == "/sessions":
        # A cursor is opaque: only one the API returned is valid (any other is a 422, as documented),
        # so it cannot be generated from the schema; test_security.py forges them instead. Unknown
        # query parameters are ignored by design (a listing is a read), not refused.
        if case.query:
            case.query.pop("cursor", None)
        excluded.append(checks.negative_data_rejection)
    elif case.query and "cursor" in case.query:
        # The other listings' cursors are opaque in the same way (broadcasts, their responses, bans,
        # webhook failures): the case is held to the document without its generated cursor.
        del case.query["cursor"]
    if case.operation.path == "/scripts/{script_id}/webhook" and case.method.upper() == "PUT":
        # A webhook URL's rules (https, a host name, no IP literal: PROTOCOL.md section 5) are not a
        # JSON schema: a schema-valid URL may rightly be a 422. The answer is still held to the document.
        excluded.append(checks.positive_data_acceptance)
    components = case.meta.components if case.meta else {}
    negative_headers = components.get(ParameterLocation.HEADER)
    if (
        negative_headers
        and negative_headers.mode.is_negative
        and "Idempotency-Key" not in (case.headers or {})
    ):
        # Made negative by leaving out or spoiling Authorization, which is sent right below: valid then.
        excluded.append(checks.negative_data_rejection)
    bulk = case.operation.path in ("/sessions/message", "/sessions/disconnect")
    if bulk and isinstance(case.body, dict) and "cursor" in case.body:
        del case.body["cursor"]
        # Opaque, as above: only a cursor the API returned is valid. Without it the case is another
        # case, valid or not: the answer is still held to the document, the 2xx/4xx judgement is not.
        excluded += [checks.negative_data_rejection, checks.positive_data_acceptance]
    if case.headers and VISIBLE_ASCII.fullmatch(str(case.headers.get("Idempotency-Key", ""))):
        # A key is the caller's promise that the body is the same: a generated key reused by a
        # later example with another body is rightly a 422, so every valid key is made unique.
        case.headers["Idempotency-Key"] = f"fuzz-{uuid.uuid4().hex}"
    case.call_and_validate(
        base_url=local_stack.rest_url,
        headers={"Authorization": f"Bearer {local_stack.api_key}"},
        excluded_checks=excluded,
    )


# ------------------------------------------------------------------------------------------------
# The WebSocket frame parser: any frame is handled or answered with exactly one error frame
# ------------------------------------------------------------------------------------------------

CONNECTION = "Fuzz3dC0nn3c="
PENDING_ID = "pending-message-id"


class RecordingGateway:
    """Stands in for the Management API: keeps every frame posted, as the client would read it."""

    def __init__(self) -> None:
        self.frames: list[dict[str, Any]] = []

    def post(self, connection_id: str, frame: dict[str, Any] | str, deadline_ms: int | None = None) -> bool:
        assert connection_id == CONNECTION
        text = frame if isinstance(frame, str) else dump_json(frame)
        assert len(text.encode()) <= FRAME_LIMIT_BYTES
        self.frames.append(json.loads(text))
        return True


class MemoryStore:
    """The three store calls a frame can make, in memory: one session, one message waiting (it
    stands in for both repositories a frame reaches, ``sessions`` and ``messages``)."""

    def __init__(self) -> None:
        self.waiting = {PENDING_ID}
        self.replies: list[Outcome] = []
        self.sessions = self.messages = self

    def session_id_for_connection(self, connection_id: str) -> str | None:
        return "fuzzed-session" if connection_id == CONNECTION else None

    def touch(self, session_id: str) -> Session | None:
        return Session(
            id=session_id,
            user_key="u",
            script_id="s",
            roblox_id=1,
            place_id=2,
            job_id="j",
            created_at=1,
            last_seen_at=2,
        )

    def record_reply(self, connection_id: str, message_id: str, outcome: Outcome) -> RecordedReply:
        dump_json(outcome.as_contract()).encode()  # what the real store stores must be UTF-8 text
        if connection_id != CONNECTION or message_id not in self.waiting:
            raise ReplyRejected(message_id)
        self.waiting.discard(message_id)
        self.replies.append(outcome)
        return RecordedReply(session_id="fuzzed-session", seen_at=1, replied_at=2)


def handle(body: str, encoded: bool = False) -> tuple[dict[str, Any], RecordingGateway, MemoryStore]:
    event = events.WebSocketEvent.parse(
        {
            "requestContext": {
                "routeKey": "$default",
                "connectionId": CONNECTION,
                "domainName": "fuzz.execute-api.us-east-1.amazonaws.com",
                "stage": "prod",
            },
            "body": body,
            "isBase64Encoded": encoded,
        }
    )
    gateway, store = RecordingGateway(), MemoryStore()
    # A fresh frame rate each time: these frames test the handling, not the flood limit.
    answer = frames.FrameHandler(event, store, gateway, frames.Kept()).handle()  # type: ignore[arg-type]
    return answer, gateway, store


def understood(body: str) -> dict[str, Any] | None:
    """The frame as a JSON object with a known action, or None if it is not one."""
    try:
        document = parse_json(body)
    except ValueError:
        return None
    if isinstance(document, dict) and document.get("action") in ("hello", "ping", "reply"):
        return document
    return None


def check_one_answer(
    body: str, answer: dict[str, Any], gateway: RecordingGateway, store: MemoryStore
) -> None:
    assert answer["statusCode"] == 200
    assert len(gateway.frames) <= 1, gateway.frames
    document = understood(body)
    if document is None:  # not understood: exactly one error frame, and nothing recorded
        assert [frame["type"] for frame in gateway.frames] == ["error"]
        assert gateway.frames[0]["error"].strip()
        assert store.replies == []
        return
    kind = [frame["type"] for frame in gateway.frames]
    if document["action"] == "hello":
        assert kind == ["hello"]
    elif document["action"] == "ping":
        assert kind == ["pong"]
    elif store.replies:  # a reply that counted: silent if well formed, one error frame if not
        assert kind in ([], ["error"])
        assert document.get("id") == PENDING_ID
    else:
        assert kind == ["error"]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
frame_documents = st.fixed_dictionaries(
    {},
    optional={
        "action": st.sampled_from(["hello", "ping", "reply", "Reply", "$connect", "$default", ""])
        | json_values,
        "id": st.sampled_from([PENDING_ID, "unknown", "", "x" * 65]) | json_values,
        "processed": st.booleans() | json_values,
        "response": json_values,
        "reason": st.sampled_from(
            [
                "function doesnt exist",
                "invalid return data",
                "client never responded",
                "function errored, message: x",
            ]
        )
        | json_values,
    },
)


@given(body=st.text(max_size=300))
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_any_text_frame_is_handled_or_gets_one_error_frame(body):
    check_one_answer(body, *handle(body))


@given(document=frame_documents, garble=st.sampled_from(["", "truncate", "nan", "nest", "surrogate", "junk"]))
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_any_frame_shaped_document_is_handled_or_gets_one_error_frame(document, garble):
    body = json.dumps(document)
    if garble == "truncate":
        body = body[: len(body) // 2]
    elif garble == "nan":
        body = body.replace("}", ', "x": NaN}', 1)
    elif garble == "nest":
        body = body.replace("{", '{"deep": ' + "[" * 3000 + "]" * 3000 + ", ", 1)
    elif garble == "surrogate":
        body = body.replace("{", '{"s": "\\udfff", ', 1)
    elif garble == "junk":
        body += " junk"
    check_one_answer(body, *handle(body))


@given(data=st.binary(max_size=200))
@settings(max_examples=150, deadline=None)
def test_any_binary_frame_is_handled_or_gets_one_error_frame(data):
    answer, gateway, store = handle(base64.b64encode(data).decode(), encoded=True)
    try:
        text = data.decode()
    except UnicodeDecodeError:
        assert answer["statusCode"] == 200
        assert [frame["type"] for frame in gateway.frames] == ["error"]
        return
    check_one_answer(text, answer, gateway, store)


@given(value=json_values)
@settings(max_examples=300, deadline=None)
def test_parse_json_reads_back_what_dump_json_writes(value):
    assert parse_json(dump_json(value)) == value


@given(text=st.text(max_size=200) | st.binary(max_size=200))
@settings(max_examples=300, deadline=None)
def test_parse_json_only_ever_raises_value_error(text):
    with contextlib.suppress(ValueError):  # anything else (RecursionError, TypeError...) fails the test
        parse_json(text)
