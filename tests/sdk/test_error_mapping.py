"""How answers that are not the API's own success documents become typed exceptions (in-process)."""

import json

import httpx
import pytest
from session_relay_client import (
    Forbidden,
    GatewayTimeout,
    NotFound,
    RequestTimeout,
    ServerError,
    ServiceUnavailable,
    SessionNotFound,
    SessionRelay,
    TooManyRequests,
    UnexpectedResponse,
)


def client_answering(handler) -> SessionRelay:
    return SessionRelay("https://api.example.test/prod", "sr_key", transport=httpx.MockTransport(handler))


@pytest.mark.parametrize(
    ("status", "body", "kind", "error"),
    [
        (504, {"message": "Endpoint request timed out"}, GatewayTimeout, "Endpoint request timed out"),
        (429, {"message": "Too Many Requests"}, TooManyRequests, "Too Many Requests"),
        (503, {"success": False, "error": "the session store is unavailable"}, ServiceUnavailable, None),
        (502, "<html>bad gateway</html>", ServerError, "HTTP 502 Bad Gateway"),
        (404, {"success": False, "error": "no route GET /nope"}, NotFound, "no route GET /nope"),
        (
            403,
            {
                "success": False,
                "error": "this API key may not read sessions or the outcomes of messages "
                '(it needs the "read" scope; it has: message)',
            },
            Forbidden,
            None,
        ),
        (403, {"message": "Forbidden"}, Forbidden, "Forbidden"),  # API Gateway's own refusal
    ],
)
def test_failed_answers_raise_by_status_with_the_best_sentence(status, body, kind, error):
    content = json.dumps(body) if isinstance(body, dict) else body
    relay = client_answering(lambda request: httpx.Response(status, text=content))
    with relay, pytest.raises(kind) as raised:
        relay.get_session("abc")
    assert raised.value.status == status
    assert raised.value.error == (error or body["error"])
    assert not isinstance(raised.value, SessionNotFound)


def test_requests_use_the_stage_path_and_quote_session_ids():
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"success": True})

    with client_answering(handler) as relay:
        relay.disconnect("a/b c")
    assert seen[0].url.raw_path == b"/prod/sessions/a%2Fb%20c/disconnect"
    assert seen[0].headers["authorization"] == "Bearer sr_key"


def test_a_success_status_without_a_success_document_is_unexpected():
    relay = client_answering(lambda request: httpx.Response(200, text="ok"))
    with relay, pytest.raises(UnexpectedResponse):
        relay.health()


def test_an_http_timeout_is_a_request_timeout():
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    with client_answering(handler) as relay, pytest.raises(RequestTimeout) as raised:
        relay.list_sessions()
    assert raised.value.status is None


def test_a_failing_chunk_raises_the_first_failure_after_every_chunk_ran():
    answered: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        ids = json.loads(request.content)["session_ids"]
        answered.append(len(ids))
        if ids[0] == "id-1000":
            return httpx.Response(503, json={"success": False, "error": "store unavailable"})
        return httpx.Response(200, json={"success": True, "disconnected": []})

    with client_answering(handler) as relay, pytest.raises(ServiceUnavailable) as raised:
        relay.disconnect_many([f"id-{index}" for index in range(2500)])
    assert raised.value.error == "store unavailable"
    assert sorted(answered) == [500, 1000, 1000]
