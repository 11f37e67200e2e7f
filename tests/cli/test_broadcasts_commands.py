"""``session-relay broadcasts ...`` against the local stack (in-process, real HTTP)."""

import json


def test_send_follows_until_done_then_show_responses_and_list(cli, connect, place_id):
    ids = {client.session_id for client in connect(3)}

    sent = cli("--json", "broadcasts", "send", "--place-id", str(place_id), "--key", "echo", "--data", "[1]")
    assert sent.exit_code == 0, sent.stderr
    broadcast = json.loads(sent.stdout)
    assert broadcast["done"] is True
    assert broadcast["matched"] == 3
    assert broadcast["counts"]["processed"] == 3

    shown = cli("broadcasts", "show", broadcast["id"])
    assert shown.exit_code == 0
    assert "done" in shown.stdout
    answers = json.loads(cli("broadcasts", "responses", broadcast["id"], "--json").stdout)
    assert {entry["session_id"] for entry in answers} == ids
    assert all(entry["response"] == [1] for entry in answers)
    listed = json.loads(cli("broadcasts", "list", "--json").stdout)
    assert broadcast["id"] in [b["id"] for b in listed]


def test_send_no_wait_prints_the_id_and_cancel_and_a_disconnect(cli, connect, place_id):
    clients = connect(2)
    started = cli("broadcasts", "send", "--place-id", str(place_id), "--disconnect", "--no-wait", "--json")
    assert started.exit_code == 0, started.stderr
    broadcast_id = json.loads(started.stdout)["broadcast_id"]

    shown = json.loads(cli("broadcasts", "show", broadcast_id, "--wait", "20", "--json").stdout)
    assert shown["counts"]["disconnected"] == len(clients)
    cancelled = cli("broadcasts", "cancel", broadcast_id)
    assert cancelled.exit_code == 0
    assert broadcast_id in cancelled.stdout


def test_send_without_a_key_or_disconnect_is_refused(cli):
    refused = cli("broadcasts", "send")
    assert refused.exit_code != 0
    assert "--key" in refused.stderr
