"""The four routes that ignore the query string (PROTOCOL.md section 1, "Errors"): ``GET /health``,
``GET /docs``, ``GET /openapi.json`` and ``GET /dashboard`` answer as without one (uptime monitors and
caches add parameters of their own); every other route still refuses a query parameter it does not take."""

import pytest

IGNORED = {"foo": "bar", "_": "1700000000000", "cache-buster": ""}


@pytest.mark.parametrize(
    ("path", "media_type"),
    [
        ("/health", "application/json"),
        ("/docs", "text/html"),
        ("/openapi.json", "application/json"),
        ("/dashboard", "text/html"),
    ],
)
def test_the_query_string_is_ignored(client, path, media_type):
    plain = client.get(path)
    queried = client.get(path, params=IGNORED)

    assert plain.status_code == 200, plain.text
    assert queried.status_code == 200, queried.text
    assert queried.headers["content-type"].startswith(media_type)
    assert queried.text == plain.text


def test_health_with_a_query_needs_no_key_and_answers_success(client):
    answer = client.get("/health", params={"foo": "bar"})
    assert answer.status_code == 200
    assert answer.json() == {"success": True}


def test_health_documents_no_422(client):
    operation = client.get("/openapi.json").json()["paths"]["/health"]["get"]
    assert "422" not in operation["responses"]
    assert "parameters" not in operation


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/sessions", None),
        ("GET", "/sessions/abc", None),
        ("POST", "/sessions/abc/message", {"key": "k"}),
        ("POST", "/sessions/disconnect", {"session_ids": ["a"]}),
    ],
)
def test_every_other_route_still_refuses_an_unknown_query_parameter(
    client, owner, failure, gateway, method, path, body
):
    answer = client.request(method, path, headers=owner.headers, params={"foo": "bar"}, json_body=body)
    assert failure(answer, 422).startswith("foo: is not a query parameter of this route")
