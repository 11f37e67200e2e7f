"""``session-relay bans add|list|lift`` against the local stack (in-process, real HTTP)."""

import json
import secrets

from session_relay_tools.simulate import identity_for


def test_add_list_and_lift_a_ban(cli, fleet, place_id):
    identity = {
        **identity_for(fleet.script_id, 0, place_id=place_id),
        "user_key": f"cli-{secrets.token_hex(6)}",
    }
    (client,) = fleet.connect(1, identity=identity)

    added = cli(
        "--json",
        "bans",
        "add",
        fleet.script_id,
        "--user-key",
        identity["user_key"],
        "--reason",
        "spam",
        "--expires-in",
        "600",
    )
    assert added.exit_code == 0, added.stderr
    document = json.loads(added.stdout)
    ban = document["ban"]
    assert document["disconnected"] == [client.session_id]
    assert (ban["script_id"], ban["user_key"], ban["reason"]) == (
        fleet.script_id,
        identity["user_key"],
        "spam",
    )
    assert ban["expires_at"] - ban["created_at"] == 600_000

    listed = json.loads(cli("bans", "list", "--script-id", fleet.script_id, "--all", "--json").stdout)
    assert ban["id"] in [entry["id"] for entry in listed["bans"]]
    assert listed["next_cursor"] is None
    table = cli("bans", "list", "--script-id", fleet.script_id)
    assert ban["id"] in table.stdout
    assert f"user key {identity['user_key']}" in table.stdout

    lifted = cli("bans", "lift", ban["id"])
    assert lifted.exit_code == 0, lifted.stderr
    assert f"lifted ban {ban['id']}" in lifted.stdout
    after = json.loads(cli("--json", "bans", "list", "--all").stdout)
    assert ban["id"] not in [entry["id"] for entry in after["bans"]]


def test_add_prints_what_it_did_for_people(cli, local_stack):
    roblox_id = str(1 + secrets.randbelow(2**40))
    added = cli("bans", "add", local_stack.script_id, "--roblox-id", roblox_id)
    assert added.exit_code == 0, added.stderr
    assert f"banned roblox id {roblox_id} from {local_stack.script_id} (until lifted)" in added.stdout
    assert "disconnected 0 live sessions" in added.stdout
    ban_id = added.stdout.split("ban id ")[1].split()[0]
    assert cli("bans", "lift", ban_id).exit_code == 0


def test_add_needs_exactly_one_of_user_key_and_roblox_id(cli, local_stack):
    for given in ((), ("--user-key", "u", "--roblox-id", "5")):
        refused = cli("bans", "add", local_stack.script_id, *given)
        assert refused.exit_code == 2
        assert "exactly one of --user-key and --roblox-id" in refused.stderr


def test_the_apis_refusals_are_the_error_sentence_and_status_1(cli, local_stack):
    unknown = cli("bans", "lift", "no-such-ban")
    assert unknown.exit_code == 1
    assert "error:" in unknown.stderr
    short = cli("--json", "bans", "add", local_stack.script_id, "--user-key", "u", "--expires-in", "5")
    assert short.exit_code == 1
    assert "expires_in" in json.loads(short.stdout)["error"]
    assert json.loads(short.stdout)["status"] == 422


def test_bans_help_is_listed_and_true(cli):
    root = cli("--help", COLUMNS="200")
    assert "bans" in root.stdout
    group = cli("bans", "--help", COLUMNS="200")
    for command in ("add", "list", "lift"):
        assert command in group.stdout
    add = cli("bans", "add", "--help", COLUMNS="200")
    assert "--user-key" in add.stdout
    assert "--roblox-id" in add.stdout
    assert "60..31536000" in add.stdout
