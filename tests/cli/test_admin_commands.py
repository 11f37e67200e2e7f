"""``session-relay admin ...`` against the local stack's DynamoDB (``--dynamodb-endpoint``)."""

import json
import secrets

import pytest
from session_relay.service.access import hash_api_key
from session_relay.store.auth import SCOPES
from session_relay_client import Forbidden, SessionNotFound, SessionRelay, Unauthorized
from session_relay_client import admin as admin_tasks
from session_relay_client.cli.admin import Scope

from session_relay_tools.simulate import Fleet


@pytest.fixture
def admin(cli, local_stack):
    """Runs ``session-relay --json admin ...`` on the local stack's tables; returns the parsed JSON."""

    def run(*args: str) -> dict:
        result = cli("--json", "admin", *args, "--dynamodb-endpoint", local_stack.dynamodb_endpoint)
        assert result.exit_code == 0, result.stderr
        return json.loads(result.stdout)

    return run


def test_a_second_owner_and_the_first_cannot_see_each_others_sessions(admin, cli, local_stack, connect):
    script = admin("scripts", "create", "second game")["script"]
    assert script["enabled"] is True
    issued = admin("keys", "create", "--script", script["script_id"], "--name", "second owner")
    second_key = issued["api_key"]
    assert issued["key"]["script_ids"] == [script["script_id"]]

    (first_client,) = connect(1)
    second_fleet = Fleet(local_stack.ws_url, script["script_id"])
    try:
        (second_client,) = second_fleet.connect(1)
        assert second_client.session_id
        mine, theirs = second_client.session_id, first_client.session_id
        with (
            SessionRelay(local_stack.rest_url, second_key) as second,
            SessionRelay(local_stack.rest_url, local_stack.api_key) as first,
        ):
            assert [s.id for s in second.iter_sessions()] == [mine]
            with pytest.raises(SessionNotFound):
                second.get_session(theirs)
            with pytest.raises(SessionNotFound):
                first.get_session(mine)
            with pytest.raises(SessionNotFound):
                first.message(mine, "echo")
            assert first.list_sessions(script_id=script["script_id"]).sessions == []
            answers = second.message_many([theirs, mine], "echo", "ok")
            assert [(a.processed, a.reason) for a in answers.responses] == [
                (False, "session not found"),
                (True, None),
            ]
            assert second.disconnect_many([theirs]).not_disconnected == [theirs]
            assert first.get_session(theirs).id == theirs  # untouched

        listed = cli("--json", "sessions", "list", SESSION_RELAY_API_KEY=second_key)
        assert [s["id"] for s in json.loads(listed.stdout)["sessions"]] == [mine]
    finally:
        second_fleet.stop()


def test_new_key_is_shown_once_and_stored_only_as_its_hash(admin, local_stack):
    issued = admin("keys", "create", "--script", local_stack.script_id)
    api_key, key_id = issued["api_key"], issued["key"]["key_id"]
    items = json.dumps(local_stack.dynamodb().scan(TableName=local_stack.table("AuthTable"))["Items"])
    assert api_key not in items
    assert hash_api_key(api_key) in items
    listed = admin("keys", "list")["keys"]
    assert key_id in [key["key_id"] for key in listed]
    assert api_key not in json.dumps(listed)
    with SessionRelay(local_stack.rest_url, api_key) as relay:
        assert relay.list_sessions(script_id=local_stack.script_id).sessions is not None


def test_revoked_key_is_refused(admin, local_stack):
    issued = admin("keys", "create", "--script", local_stack.script_id, "--name", "short-lived")
    assert admin("keys", "revoke", issued["key"]["key_id"]) == {
        "key_id": issued["key"]["key_id"],
        "revoked": True,
    }
    listed = {key["key_id"]: key for key in admin("keys", "list")["keys"]}
    assert listed[issued["key"]["key_id"]]["revoked"] is True
    with SessionRelay(local_stack.rest_url, issued["api_key"]) as relay, pytest.raises(Unauthorized):
        relay.list_sessions()


def test_disabled_script_refuses_new_connections_until_enabled(admin, local_stack):
    script_id = "script_cli_" + secrets.token_hex(4)
    admin("scripts", "create", "toggled", "--id", script_id)
    assert admin("scripts", "disable", script_id) == {"script_id": script_id, "enabled": False}
    assert {s["script_id"]: s["enabled"] for s in admin("scripts", "list")["scripts"]}[script_id] is False
    fleet = Fleet(local_stack.ws_url, script_id)
    try:
        with pytest.raises(ConnectionError, match="403"):
            fleet.connect(1)
        admin("scripts", "enable", script_id)
        (accepted,) = fleet.connect(1)
        assert accepted.session_id
    finally:
        fleet.stop()


def test_admin_mistakes_exit_1_with_a_sentence(cli, local_stack):
    endpoint = ["--dynamodb-endpoint", local_stack.dynamodb_endpoint]
    cases = [
        (["admin", "keys", "create", "--script", "script_missing", *endpoint], "no script script_missing"),
        (["admin", "scripts", "disable", "script_missing", *endpoint], "no script script_missing"),
        (["admin", "keys", "revoke", "key_missing", *endpoint], "no API key key_missing"),
        (["admin", "scripts", "create", "dup", "--id", local_stack.script_id, *endpoint], "already exists"),
        (["admin", "scripts", "list"], "say where the auth table is"),
        (["admin", "scripts", "list", "--stack", "a", "--table", "b"], "not both"),
        (
            ["admin", "scripts", "list", "--table", "no-such-table", *endpoint],
            "there is no table no-such-table",
        ),
    ]
    for args, sentence in cases:
        result = cli(*args)
        assert result.exit_code == 1, args
        assert sentence in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr
    as_json = cli("--json", *cases[0][0])
    assert json.loads(as_json.stdout) == {"error": "no script script_missing", "status": None}


def test_keys_create_with_scopes_and_keys_list_shows_them(admin, cli, local_stack):
    endpoint = ["--dynamodb-endpoint", local_stack.dynamodb_endpoint]
    script = ["--script", local_stack.script_id]
    scoped = admin("keys", "create", *script, "--scope", "message", "--scope", "read")
    everything = admin("keys", "create", "--script", local_stack.script_id, "--name", "all of it")

    # Kept in the order read, message, disconnect, manage, whatever the order given.
    assert scoped["key"]["scopes"] == ["read", "message"]
    assert everything["key"]["scopes"] == ["read", "message", "disconnect", "manage"]
    listed = {key["key_id"]: key for key in admin("keys", "list")["keys"]}
    assert listed[scoped["key"]["key_id"]]["scopes"] == ["read", "message"]
    assert listed[everything["key"]["key_id"]]["scopes"] == ["read", "message", "disconnect", "manage"]
    table = cli("admin", "keys", "list", *endpoint, COLUMNS="300").stdout
    [row] = [line for line in table.splitlines() if scoped["key"]["key_id"] in line]
    assert "scopes" in next(line for line in table.splitlines() if "key id" in line)
    assert "read, message" in row
    shown = cli("admin", "keys", "create", "--script", local_stack.script_id, "--scope", "read", *endpoint)
    assert "(scopes: read)" in shown.stdout

    with SessionRelay(local_stack.rest_url, scoped["api_key"]) as relay:
        assert relay.key().scopes == ["read", "message"]
        with pytest.raises(Forbidden):
            relay.disconnect_many(["any-session"])


def test_an_unknown_scope_is_a_usage_mistake(cli, local_stack):
    endpoint = ["--dynamodb-endpoint", local_stack.dynamodb_endpoint]
    refused = cli("admin", "keys", "create", "--script", local_stack.script_id, "--scope", "write", *endpoint)

    assert refused.exit_code == 2
    words = " ".join(refused.stderr.replace("│", " ").split())
    assert "'write' is not one of 'read', 'message', 'disconnect', 'manage'" in words
    assert "--scope" in cli("admin", "keys", "create", "--help").stdout


def test_the_admin_tasks_refuse_an_empty_or_unknown_scope_list():
    assert admin_tasks.key_scopes(None) == ("read", "message", "disconnect", "manage")
    assert admin_tasks.key_scopes(["manage", "read", "read"]) == ("read", "manage")
    with pytest.raises(admin_tasks.AdminError, match="name at least one scope"):
        admin_tasks.key_scopes([])
    with pytest.raises(admin_tasks.AdminError, match="unknown scope 'write'"):
        admin_tasks.key_scopes(["write"])
    assert tuple(Scope) == SCOPES  # the CLI's choices are the store's scopes
