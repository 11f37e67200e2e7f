"""``session-relay sessions ...`` against the local stack (in-process, real HTTP)."""

import json

from session_relay_client import SessionNotFound, SessionRelay


def test_list_json_is_one_document_filtered_and_paged(cli, connect, place_id):
    ids = {client.session_id for client in connect(3)}

    page = cli("--json", "sessions", "list", "--place-id", str(place_id), "--limit", "2")
    assert page.exit_code == 0, page.stderr
    document = json.loads(page.stdout)
    assert len(document["sessions"]) == 2
    assert document["next_cursor"]

    rest = cli("sessions", "list", "--place-id", str(place_id), "--cursor", document["next_cursor"], "--json")
    remaining = json.loads(rest.stdout)
    assert remaining["next_cursor"] is None
    assert {s["id"] for s in document["sessions"] + remaining["sessions"]} == ids

    everything = json.loads(
        cli("sessions", "list", "--place-id", str(place_id), "--limit", "1", "--all", "--json").stdout
    )
    assert {s["id"] for s in everything["sessions"]} == ids
    assert all(s["place_id"] == place_id for s in everything["sessions"])


def test_list_and_get_print_readable_tables(cli, connect, place_id):
    (client,) = connect(1)
    listing = cli("sessions", "list", "--place-id", str(place_id))
    assert listing.exit_code == 0
    assert client.session_id in listing.stdout
    assert "1 session" in listing.stdout

    shown = cli("sessions", "get", client.session_id)
    assert shown.exit_code == 0
    assert client.session_id in shown.stdout
    assert str(place_id) in shown.stdout
    document = json.loads(cli("--json", "sessions", "get", client.session_id).stdout)
    assert document["session"]["id"] == client.session_id
    assert document["session"]["user_key"] == client.identity["user_key"]


def test_message_ids_answers_in_order_with_parsed_data(cli, connect):
    first, second = (client.session_id for client in connect(2))
    result = cli(
        "sessions",
        "message",
        second,
        "unknown-id",
        first,
        "--key",
        "echo",
        "--data",
        '{"n": [1, 2]}',
        "--json",
    )
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert [entry["session_id"] for entry in document["responses"]] == [second, "unknown-id", first]
    assert document["responses"][0] == {"session_id": second, "processed": True, "response": {"n": [1, 2]}}
    assert document["responses"][1] == {
        "session_id": "unknown-id",
        "processed": False,
        "reason": "session not found",
    }
    assert document["summary"] == {"requested": 3, "processed": 2, "reasons": {"session not found": 1}}


def test_message_one_session_shows_the_reason(cli, connect):
    (client,) = connect(1)
    result = cli("sessions", "message", client.session_id, "--key", "error", "--data", '"kaput"')
    assert result.exit_code == 0
    assert "function errored, message: kaput" in result.stdout
    assert "processed 0 of 1" in result.stdout


def test_message_all_reaches_every_matching_session_with_a_summary(cli, connect, place_id):
    clients = connect(4)
    result = cli(
        "sessions", "message", "--all", "--place-id", str(place_id), "--key", "echo", "--data", "7", "--json"
    )
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert {entry["session_id"] for entry in document["responses"]} == {c.session_id for c in clients}
    assert all(entry["response"] == 7 for entry in document["responses"])
    assert document["summary"]["processed"] == 4

    readable = cli("sessions", "message", "--all", "--place-id", str(place_id), "--key", "missing")
    assert readable.exit_code == 0
    assert "processed 0 of 4" in readable.stdout
    assert "function doesnt exist: 4" in readable.stdout


def test_message_more_than_1000_ids_from_the_command_line(cli, connect):
    (client,) = connect(1)
    unknown = [f"cli-unknown-{index}" for index in range(1000)]
    result = cli("sessions", "message", *unknown, client.session_id, "--key", "echo", "--json")
    assert result.exit_code == 0, result.stderr
    responses = json.loads(result.stdout)["responses"]
    assert [entry["session_id"] for entry in responses] == [*unknown, client.session_id]
    assert responses[-1] == {"session_id": client.session_id, "processed": True, "response": []}


def test_disconnect_all_asks_first_and_respects_no(cli, connect, place_id, local_stack):
    connect(2)
    refused = cli("sessions", "disconnect", "--all", "--place-id", str(place_id), input="n\n")
    assert refused.exit_code == 1
    assert "nothing was disconnected" in refused.stderr
    assert (
        len(json.loads(cli("--json", "sessions", "list", "--place-id", str(place_id)).stdout)["sessions"])
        == 2
    )

    confirmed = cli("sessions", "disconnect", "--all", "--place-id", str(place_id), input="y\n")
    assert confirmed.exit_code == 0, confirmed.stderr
    assert "Disconnect 2 sessions?" in confirmed.stderr
    assert "disconnected 2 of 2" in confirmed.stdout
    with SessionRelay(local_stack.rest_url, local_stack.api_key) as relay:
        assert list(relay.iter_sessions(place_id=place_id)) == []


def test_disconnect_all_with_yes_needs_no_answer(cli, connect, place_id):
    clients = connect(3)
    result = cli("sessions", "disconnect", "--all", "--place-id", str(place_id), "--yes", "--json")
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert sorted(document["disconnected"]) == sorted(c.session_id for c in clients)
    assert document["not_disconnected"] == []


def test_disconnect_ids_reports_those_not_disconnected(cli, connect, local_stack):
    first, second = (client.session_id for client in connect(2))
    result = cli("sessions", "disconnect", first, "nobody")
    assert result.exit_code == 0, result.stderr
    assert "disconnected 1 of 2" in result.stdout
    assert "nobody" in result.stdout
    single = cli("--json", "sessions", "disconnect", second)
    assert json.loads(single.stdout) == {"disconnected": [second], "not_disconnected": []}
    with SessionRelay(local_stack.rest_url, local_stack.api_key) as relay:
        for sid in (first, second):
            try:
                relay.get_session(sid)
            except SessionNotFound:
                continue
            raise AssertionError(f"{sid} is still connected")


def test_api_errors_exit_1_with_the_sentence_on_stderr(cli):
    missing = cli("sessions", "get", "no-such-session")
    assert missing.exit_code == 1
    assert missing.stderr.strip() == "error: session not found"
    assert missing.stdout == ""

    as_json = cli("--json", "sessions", "get", "no-such-session")
    assert as_json.exit_code == 1
    assert json.loads(as_json.stdout) == {"error": "session not found", "status": 404}

    wrong_key = cli("sessions", "list", "--json", SESSION_RELAY_API_KEY="sr_wrong")
    assert wrong_key.exit_code == 1
    assert "invalid API key" in wrong_key.stderr

    no_key = cli("sessions", "list", SESSION_RELAY_API_KEY=None)
    assert no_key.exit_code == 1
    assert "no API key" in no_key.stderr

    bad_timeout = cli("sessions", "message", "x", "--key", "echo", "--timeout", "0")
    assert bad_timeout.exit_code == 1
    assert "timeout" in bad_timeout.stderr


def test_unreachable_url_exits_1_without_a_traceback(cli):
    result = cli("--url", "http://127.0.0.1:9", "sessions", "list")
    assert result.exit_code == 1
    assert "cannot connect to http://127.0.0.1:9" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def flat(text: str) -> str:
    """Text without the rich error panel's borders and line breaks."""
    return " ".join(text.replace("│", " ").split())


def test_usage_mistakes_exit_2(cli):
    bad_json = cli("sessions", "message", "x", "--key", "echo", "--data", "{oops")
    assert bad_json.exit_code == 2
    assert "not valid JSON" in flat(bad_json.stderr)
    assert "Traceback" not in bad_json.stderr
    both = cli("sessions", "message", "x", "--all", "--key", "echo")
    assert both.exit_code == 2
    assert "not both" in flat(both.stderr)
    neither = cli("sessions", "disconnect")
    assert neither.exit_code == 2
    filters_alone = cli("sessions", "disconnect", "x", "--place-id", "5")
    assert filters_alone.exit_code == 2
    assert "only apply with --all" in flat(filters_alone.stderr)


def test_message_no_wait_prints_the_id_and_result_reads_it(cli, connect, place_id):
    (client,) = connect(1)
    sent = cli(
        "sessions", "message", client.session_id, "--key", "echo", "--data", "3", "--no-wait", "--json"
    )
    assert sent.exit_code == 0, sent.stderr
    (message_id,) = json.loads(sent.stdout)["sent"]

    read = cli("sessions", "result", message_id, "--wait", "10", "--json")
    assert read.exit_code == 0, read.stderr
    assert json.loads(read.stdout) == {"done": True, "processed": True, "response": 3}

    batch = cli("sessions", "message", "--all", "--place-id", str(place_id), "--key", "echo", "--no-wait")
    assert batch.exit_code == 0, batch.stderr
    batch_id = batch.stdout.split("sent: ")[1].strip()
    shown = cli("sessions", "result", batch_id, "--wait", "10")
    assert client.session_id in shown.stdout
    assert "done" in shown.stdout
    assert cli("sessions", "result", "no-such-id").exit_code == 1


def test_message_with_an_idempotency_key_runs_once(cli, connect):
    (client,) = connect(1)
    for _ in range(2):
        result = cli(
            "sessions",
            "message",
            client.session_id,
            "--key",
            "echo",
            "--idempotency-key",
            "cli-once",
            "--json",
        )
        assert result.exit_code == 0, result.stderr
    assert [frame["type"] for frame in client.received].count("message") == 1
    reused = cli("sessions", "message", client.session_id, "--key", "other", "--idempotency-key", "cli-once")
    assert reused.exit_code == 1
    assert "Idempotency-Key" in reused.stderr
