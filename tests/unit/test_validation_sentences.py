"""Every 422 names the field and says what it must be, in the same words whatever the wrong value;
only the parenthesis says what was wrong with this one (PROTOCOL.md section 1, "Validation")."""

import pytest

MUST_BE = {
    "key": "key: must be a string of 1 to 128 characters",
    "timeout": "timeout: must be a JSON number of seconds, 0 < timeout <= 60",
    "session_ids": "session_ids: must be a list of 1 to 1000 session id strings, without duplicates",
    "limit": "limit: must be a decimal integer from 1 to 1000",
    "roblox_id": "roblox_id: must be a positive decimal integer below 2^63",
    "place_id": "place_id: must be a positive decimal integer below 2^63",
}
MANY_IDS = [f"id-{n}" for n in range(1001)]

SINGLE = "/sessions/some-session/message"  # the body is checked before the session is looked up
BODIES = [
    *[
        pytest.param(path, {**extra, **body}, field, wrong, id=f"{path}-{field}-{wrong}")
        for path, extra in ((SINGLE, {}), ("/sessions/message", {"session_ids": ["a"]}))
        for body, field, wrong in [
            ({}, "key", "it is missing"),
            ({"key": ""}, "key", 'got ""'),
            ({"key": "k" * 129}, "key", "got a string of 129 characters"),
            ({"key": 5}, "key", "got 5"),
            ({"key": None}, "key", "got null"),
            ({"key": ["k"]}, "key", "got a list of 1 item"),
            ({"key": "k", "timeout": "5"}, "timeout", 'got "5"'),
            ({"key": "k", "timeout": True}, "timeout", "got true"),
            ({"key": "k", "timeout": 0}, "timeout", "got 0"),
            ({"key": "k", "timeout": -1}, "timeout", "got -1"),
            ({"key": "k", "timeout": 60.5}, "timeout", "got 60.5"),
            ({"key": "k", "timeout": None}, "timeout", "got null"),
            ({"key": "k", "timeout": {"s": 5}}, "timeout", "got an object"),
        ]
    ],
    *[
        pytest.param(path, {**extra, **body}, "session_ids", wrong, id=f"{path}-session_ids-{wrong}")
        for path, extra in (("/sessions/message", {"key": "k"}), ("/sessions/disconnect", {}))
        for body, wrong in [
            ({}, "it is missing, and so is filter"),
            ({"session_ids": []}, "got an empty list"),
            ({"session_ids": MANY_IDS}, "got a list of 1001 items"),
            ({"session_ids": ["a", "b", "a"]}, '"a" appears more than once'),
            ({"session_ids": "a"}, 'got "a"'),
            ({"session_ids": [1, 2]}, "item 1: got 1"),
            ({"session_ids": ["a", None]}, "item 2: got null"),
            ({"session_ids": None}, "got null"),
        ]
    ],
]


@pytest.mark.parametrize(("path", "body", "field", "wrong"), BODIES)
def test_body_field_sentence_says_what_it_must_be_and_what_was_wrong(
    client, owner, failure, path, body, field, wrong
):
    error = failure(client.post(path, headers=owner.headers, json=body), 422)

    assert error == f"{MUST_BE[field]} ({wrong})"


@pytest.mark.parametrize(
    ("path", "body", "sentence"),
    [
        (
            SINGLE,
            {"key": "k", "extra": 1},
            "extra: is not a field of this request (it takes key, data, timeout, wait)",
        ),
        (
            SINGLE,
            {"key": "k", "session_ids": ["a"]},
            "session_ids: is not a field of this request (it takes key, data, timeout, wait)",
        ),
        (
            "/sessions/disconnect",
            {"session_ids": ["a"], "key": "k"},
            "key: is not a field of this request (it takes session_ids, filter, limit, cursor)",
        ),
    ],
)
def test_a_field_the_route_does_not_take_is_named_with_the_fields_it_takes(
    client, owner, failure, path, body, sentence
):
    assert failure(client.post(path, headers=owner.headers, json=body), 422) == sentence


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("limit", "0"),
        ("limit", "1001"),
        ("limit", "abc"),
        ("limit", "-1"),
        ("limit", "1.5"),
        ("limit", ""),
        ("roblox_id", "abc"),
        ("roblox_id", "0"),
        ("roblox_id", str(2**63)),
        ("place_id", "1e3"),
        ("place_id", "-5"),
    ],
)
def test_list_query_sentence_is_the_same_for_every_wrong_value(client, owner, failure, field, value):
    error = failure(client.get("/sessions", headers=owner.headers, params={field: value}), 422)

    assert error == f'{MUST_BE[field]} (got "{value}")'


def test_a_long_wrong_value_is_described_not_echoed(client, owner, failure):
    error = failure(client.get("/sessions", headers=owner.headers, params={"limit": "9" * 40}), 422)

    assert error == f"{MUST_BE['limit']} (got a string of 40 characters)"


@pytest.mark.parametrize("cursor", ["not-a-cursor", "MTIzI2FiYw"])
def test_a_cursor_the_api_did_not_return_is_named_like_other_fields(client, owner, failure, cursor):
    error = failure(client.get("/sessions", headers=owner.headers, params={"cursor": cursor}), 422)

    assert error == f'cursor: must be a next_cursor this API returned (got "{cursor}")'
