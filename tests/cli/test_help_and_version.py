"""What a new user meets first: --version, help in plain words on every level, one spelling for
"every matching session", the message for filters without --all, and the local REST port."""

import json
import os
import re
from importlib.metadata import version

import typer
from typer.testing import CliRunner

from session_relay_tools.cli import app

# Typer's type names and usage markers, which say nothing to a user.
PLACEHOLDERS = re.compile(r"<bool>|<int>|<float>|<str>|<path>|list\[str\]|\{[A-Z_]+\}|x>=|<=x")


def command_paths(command=None, path=()) -> list[tuple[str, ...]]:
    """Every command and group of the CLI, as the words typed to reach it."""
    command = command or typer.main.get_command(app)
    paths = [path]
    for name, child in getattr(command, "commands", {}).items():
        paths.extend(command_paths(child, (*path, name)))
    return paths


def run(*args: str, **env: str):
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "200", **env}, catch_exceptions=False)


def test_every_help_is_in_plain_words():
    paths = command_paths()
    assert ("sessions", "message") in paths
    assert ("simulate",) in paths
    assert ("luau",) in paths
    for path in paths:
        shown = run(*path, "--help")
        assert shown.exit_code == 0, (path, shown.output)
        assert "Usage:" in shown.output
        assert not PLACEHOLDERS.findall(shown.output), (path, PLACEHOLDERS.findall(shown.output))


def usage(*path: str) -> str:
    return re.search(r"Usage: \S+ (.*?)\s*$", run(*path, "--help").output, re.MULTILINE).group(1)


def test_arguments_read_as_metavars():
    assert usage("sessions", "get") == "sessions get [OPTIONS] ID"
    assert usage("sessions", "message") == "sessions message [OPTIONS] [ID...]"
    assert usage("admin", "keys", "revoke") == "admin keys revoke [OPTIONS] KEY_ID"


def test_version_prints_the_installed_version():
    shown = run("--version")

    assert shown.exit_code == 0
    assert shown.output == f"session-relay {version('session-relay-client')}\n"


def test_simulate_is_one_command_with_the_programs_options():
    shown = run("simulate", "--help").output
    for option in ("--script-id", "--sessions", "--url", "--place-id", "--job-id", "--ping-interval"):
        assert option in shown


def test_all_is_the_one_spelling_for_every_match(cli, connect, place_id):
    ids = {client.session_id for client in connect(3)}

    for spelling in ("--all", "--all-pages"):  # the old name still works, hidden from --help
        listed = cli("--json", "sessions", "list", "--place-id", str(place_id), "--limit", "1", spelling)
        assert listed.exit_code == 0, listed.stderr
        assert {s["id"] for s in json.loads(listed.stdout)["sessions"]} == ids
    shown = run("sessions", "list", "--help").output
    assert "--all " in shown
    assert "--all-pages" not in shown


def test_filters_without_all_get_their_own_message(cli):
    for command in (["message", "-k", "echo"], ["disconnect"]):
        refused = cli("sessions", *command, "--place-id", "1")

        assert refused.exit_code == 2
        words = " ".join(refused.stderr.replace("│", " ").split())
        assert "the filters (--script-id, --place-id, ...) only apply with --all" in words
        assert "give at least one session id" not in words


def test_default_url_follows_the_local_rest_port(local_stack, connect, place_id):
    (client,) = connect(1)
    port = local_stack.rest_url.rsplit(":", 1)[1]
    env = {**os.environ, "SESSION_RELAY_REST_PORT": port, "SESSION_RELAY_API_KEY": local_stack.api_key}
    env.pop("SESSION_RELAY_URL", None)

    listed = CliRunner().invoke(app, ["--json", "sessions", "list", "--place-id", str(place_id)], env=env)

    assert listed.exit_code == 0, listed.output
    assert [s["id"] for s in json.loads(listed.stdout)["sessions"]] == [client.session_id]
    assert "$SESSION_RELAY_REST_PORT" in run("--help").output
