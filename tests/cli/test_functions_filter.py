"""``--function`` on ``sessions list`` and the filtered commands, against the local stack."""

import json

from session_relay_tools.simulate import identity_for


def at_place(fleet, place_id, index, **options):
    return fleet.connect(1, identity=identity_for(fleet.script_id, index, place_id=place_id), **options)[0]


def test_list_by_function_shows_only_the_sessions_that_declared_it(cli, fleet, place_id):
    demo = at_place(fleet, place_id, 0)
    custom = at_place(fleet, place_id, 1, functions={"teleport": lambda data: data})

    listed = cli("--json", "sessions", "list", "--place-id", str(place_id), "--function", "teleport")
    assert listed.exit_code == 0, listed.stderr
    document = json.loads(listed.stdout)
    assert [(s["id"], s["functions"]) for s in document["sessions"]] == [(custom.session_id, ["teleport"])]

    table = cli("sessions", "list", "--place-id", str(place_id))
    assert "functions" in table.stdout  # the column, once a session declared
    assert "echo, error, invalid, sleep" in table.stdout
    assert demo.session_id in table.stdout

    shown = cli("sessions", "get", custom.session_id)
    assert "teleport" in shown.stdout


def test_message_and_disconnect_all_by_function(cli, fleet, place_id):
    demo = at_place(fleet, place_id, 0)
    custom = at_place(fleet, place_id, 1, functions={"teleport": lambda data: ["at", data]})
    where = ("--all", "--place-id", str(place_id), "--function", "teleport")

    sent = cli("--json", "sessions", "message", *where, "--key", "teleport", "--data", "3", "--timeout", "10")
    assert sent.exit_code == 0, sent.stderr
    assert json.loads(sent.stdout)["responses"] == [
        {"session_id": custom.session_id, "processed": True, "response": ["at", 3]}
    ]

    gone = cli("--json", "sessions", "disconnect", *where, "--yes")
    assert gone.exit_code == 0, gone.stderr
    assert json.loads(gone.stdout)["disconnected"] == [custom.session_id]
    left = json.loads(cli("--json", "sessions", "list", "--place-id", str(place_id)).stdout)
    assert [s["id"] for s in left["sessions"]] == [demo.session_id]


def test_function_is_documented_on_every_command_that_filters(cli):
    for command in ("list", "message", "disconnect"):
        shown = cli("sessions", command, "--help", COLUMNS="200")
        assert "--function" in shown.stdout
        assert "declared a function of this name" in shown.stdout
