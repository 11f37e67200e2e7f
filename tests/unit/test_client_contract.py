"""The client package (clients/python) keeps its own copy of what it needs of the server's contract,
so it installs without the layer: the copy must agree with the layer."""

import pytest
import session_relay
from session_relay import contract
from session_relay.wire import parse_json as server_parse_json
from session_relay_client import MAX_BULK_IDS
from session_relay_client import contract as client_contract
from session_relay_client.admin import API_KEY_PREFIX, LOCAL_AUTH_TABLE, SCOPES, hash_api_key


def test_the_client_constants_are_the_servers():
    assert MAX_BULK_IDS == contract.MAX_BULK_IDS
    assert client_contract.MAX_MESSAGE_TIMEOUT_S == session_relay.MAX_MESSAGE_TIMEOUT_S
    assert client_contract.REASON_NOT_FOUND == contract.REASON_NOT_FOUND


def test_the_admin_layout_is_the_servers():
    from session_relay.service import access
    from session_relay.store.auth import SCOPES as SERVER_SCOPES

    from session_relay_tools.local.stack import TABLE_PREFIX

    assert SCOPES == SERVER_SCOPES
    assert API_KEY_PREFIX == access.API_KEY_PREFIX
    assert hash_api_key("sr_x") == access.hash_api_key("sr_x")
    assert LOCAL_AUTH_TABLE == TABLE_PREFIX + "AuthTable"


@pytest.mark.parametrize(
    "text",
    ['{"a": [1, 2.5, "x", null, true]}', "[]", '"\\u00e9"', "1e308", " 7 ", '{"a": "\\ud83d\\ude00"}'],
)
def test_parse_json_accepts_what_the_server_accepts(text):
    assert client_contract.parse_json(text) == server_parse_json(text)


def refusal(parse, text: str) -> str:
    try:
        parse(text)
    except ValueError as exc:
        return str(exc)
    raise AssertionError(f"{text[:20]!r} was accepted")


@pytest.mark.parametrize(
    "text", ["NaN", "[Infinity]", "-Infinity", "1e999", '"\\ud800"', "[" * 600 + "]" * 600, "{", ""]
)
def test_parse_json_refuses_what_the_server_refuses(text):
    assert refusal(client_contract.parse_json, text) == refusal(server_parse_json, text)
