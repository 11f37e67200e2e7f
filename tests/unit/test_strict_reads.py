"""What a read refuses, in the contract's words: forged cursors (decoded strictly, so a real cursor
with stray characters, padding or a trailing newline is a 422, never a page), and the query of the
reads of messages answered later (an unknown parameter and a wrong ``wait`` named like every other
field, with what was wrong)."""

import base64

import pytest
from support.events import rest_event

FORGERIES = {
    "stray characters": lambda cursor: cursor[:8] + "!!" + cursor[8:],
    "padding": lambda cursor: cursor + "==",
    "one pad": lambda cursor: cursor + "=",
    "trailing newline": lambda cursor: _encoded(_decoded(cursor) + "\n"),
    "standard alphabet": lambda cursor: cursor[:-1] + "+",
}


def _decoded(cursor: str) -> str:
    return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()


def _encoded(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.fixture
def real_cursor(client, owner, connect) -> str:
    for _ in range(3):
        connect(owner.script_id)
    page = client.get("/sessions", headers=owner.headers, params={"limit": "1"}).json()
    assert page["next_cursor"]
    return page["next_cursor"]


@pytest.mark.parametrize("forge", FORGERIES.values(), ids=FORGERIES.keys())
def test_a_forged_cursor_is_422_on_the_listing(client, owner, failure, real_cursor, forge):
    forged = forge(real_cursor)
    assert forged != real_cursor

    error = failure(client.get("/sessions", headers=owner.headers, params={"cursor": forged}), 422)

    assert error.startswith("cursor: must be a next_cursor this API returned (got ")


@pytest.mark.parametrize("forge", FORGERIES.values(), ids=FORGERIES.keys())
def test_a_forged_cursor_is_422_on_a_bulk_call_and_nothing_is_sent(
    client, owner, connect, failure, real_cursor, forge
):
    listener = connect(owner.script_id)
    body = {"filter": {}, "cursor": forge(real_cursor), "key": "k", "wait": False}

    error = failure(client.post("/sessions/message", headers=owner.headers, json=body), 422)

    assert error.startswith("cursor: must be a next_cursor this API returned")
    assert listener.received == []


def test_the_real_cursor_still_pages(client, owner, real_cursor):
    answer = client.get("/sessions", headers=owner.headers, params={"cursor": real_cursor})

    assert answer.status_code == 200, answer.text
    assert len(answer.json()["sessions"]) == 2


@pytest.mark.parametrize("route", ["messages", "batches"])
def test_an_unknown_query_parameter_of_a_read_is_named_in_the_contracts_form(client, owner, failure, route):
    answer = client.get(f"/{route}/{'0' * 32}", headers=owner.headers, params={"foo": "1"})

    assert failure(answer, 422) == "foo: is not a query parameter of this route (it takes wait)"


@pytest.mark.parametrize(
    ("wait", "got"),
    [("abc", '"abc"'), ("-1", '"-1"'), ("61", '"61"'), ("nan", '"nan"')],
)
def test_a_wrong_wait_says_what_was_wrong(client, owner, failure, wait, got):
    answer = client.get(f"/messages/{'0' * 32}", headers=owner.headers, params={"wait": wait})

    assert failure(answer, 422) == f"wait: must be a number of seconds from 0 to 60 (got {got})"


def test_wait_given_twice_says_so(client, owner, failure):
    event = rest_event("GET", f"/batches/{'0' * 32}", headers=owner.headers, params={"wait": "1"})
    event["multiValueQueryStringParameters"] = {"wait": ["1", "2"]}

    answer = client.invoke(event)

    assert failure(answer, 422) == "wait: must be a number of seconds from 0 to 60 (got 2 values)"
