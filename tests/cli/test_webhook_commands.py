"""``session-relay webhook ...`` against the local stack, and ``webhook listen`` as a real process that
checks each delivery's signature and prints its events."""

import json
import socket
import subprocess
import time

from support.environment import REPO_ROOT

SCRIPT_BIN = REPO_ROOT / ".venv" / "bin" / "session-relay"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_set_show_test_failures_replay_delete(cli, local_stack):
    script = local_stack.script_id
    created = cli(
        "--json", "webhook", "set", script, "--url", "http://127.0.0.1:9/", "--event", "session.connected"
    )
    assert created.exit_code == 0, created.stderr
    secret = json.loads(created.stdout)["webhook"]["secret"]
    assert secret.startswith("whsec_")

    shown = cli("webhook", "show", script)
    assert shown.exit_code == 0
    assert "http://127.0.0.1:9/" in shown.stdout
    assert secret not in shown.stdout

    tested = cli("--json", "webhook", "test", script)  # nothing listens on port 9
    assert tested.exit_code == 1
    assert json.loads(tested.stdout)["delivered"] is False

    assert json.loads(cli("--json", "webhook", "failures", script).stdout) == {
        "failures": [],
        "next_cursor": None,
    }
    assert json.loads(cli("--json", "webhook", "replay", script).stdout) == {"replayed": 0}
    rotated = json.loads(cli("--json", "webhook", "rotate", script).stdout)["webhook"]["secret"]
    assert rotated != secret
    assert cli("webhook", "delete", script).exit_code == 0
    gone = cli("webhook", "show", script)
    assert gone.exit_code == 1
    assert "webhook not found" in gone.stderr


def test_a_bad_url_is_the_apis_sentence(cli, local_stack):
    refused = cli("webhook", "set", local_stack.script_id, "--url", "https://10.0.0.1/")
    assert refused.exit_code == 1
    assert "url: must be an https URL with a host name" in refused.stderr


def test_listen_verifies_and_prints_each_event(cli, local_stack):
    port = free_port()
    created = json.loads(
        cli("--json", "webhook", "set", local_stack.script_id, "--url", f"http://127.0.0.1:{port}/").stdout
    )
    secret = created["webhook"]["secret"]
    listener = subprocess.Popen(
        [
            str(SCRIPT_BIN),
            "webhook",
            "listen",
            "--port",
            str(port),
            "--secret",
            secret,
            "--count",
            "1",
            "--json",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert "listening on" in listener.stderr.readline()
        tested = json.loads(cli("--json", "webhook", "test", local_stack.script_id).stdout)
        assert tested["delivered"] is True
        out, _ = listener.communicate(timeout=20)
        event = json.loads(out.splitlines()[0])
        assert event["type"] == "webhook.test"
        assert event["script_id"] == local_stack.script_id
    finally:
        if listener.poll() is None:
            listener.kill()
            listener.wait()
        cli("webhook", "delete", local_stack.script_id)


def test_listen_refuses_a_delivery_signed_with_another_secret(cli, local_stack):
    port = free_port()
    cli("webhook", "set", local_stack.script_id, "--url", f"http://127.0.0.1:{port}/")
    listener = subprocess.Popen(
        [
            str(SCRIPT_BIN),
            "webhook",
            "listen",
            "--port",
            str(port),
            "--secret",
            "whsec_wrong",
            "--count",
            "1",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert "listening on" in listener.stderr.readline()
        tested = json.loads(cli("--json", "webhook", "test", local_stack.script_id).stdout)
        assert tested["status"] == 401
        assert "refused a delivery: the signature does not match" in listener.stderr.readline()
        time.sleep(0.1)
        assert listener.poll() is None  # still waiting for a good one
    finally:
        listener.kill()
        listener.wait()
        cli("webhook", "delete", local_stack.script_id)
